"""What does ``sasnn predict --fit`` add on curves drawn beyond the training priors?

    python bench/bench_fit_shift.py --data data/stest --model wide --curves 60 --seed 0 \\
        [--fit-time 5] [--workers 2] [--json OUT.json]
    python bench/bench_fit_shift.py --summarize OUT.json      # the tables again, no fitting

Picks a seeded sample of the set's featured curves (the featureless rule of
:mod:`sasnn.learn.featureless`, as bench_generalisation.py) and runs on each what
``sasnn predict --fit`` runs on a file (:func:`sasnn.identify.api.predict_groups` with
the reference models, then :func:`sasnn.identify.confirm.confirm`): the classifier's
top 5 (``FIT_SHORTLIST``) and the reference models are fitted, and the best 3 by BIC are kept
(:func:`sasnn.identify.confirm.parsimonious_order`). Reports, on the same curves, the
true form factor's place in the classifier's top 1 / 3 / 5 and in the fitted top 1 / 3,
and how often the re-ranked answer is flagged unsure.

``--fit-time`` caps each candidate's fit (seconds, the product's optional safety net;
off by default as in the product), so a long run can be bounded. Writes every curve's
ranks to ``--json``.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np

from sasnn.fit.start import WIDE_SHARE
from sasnn.identify.api import predict_groups
from sasnn.identify.confirm import FIT_SHORTLIST, confirm
from sasnn.identify.loading import load_predictor
from sasnn.identify.predictor import has_feature
from sasnn.simulate.datasets import iter_shards
from sasnn.simulate.kernels import compile_kernels

SHOWN = 3


def rank_of(truth: str, models: list[str]) -> int | None:
    """1-based place of the first candidate with the true form factor, None if absent."""
    return next((i + 1 for i, m in enumerate(models) if m == truth), None)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, help="simulated test set folder (needed unless --summarize)")
    parser.add_argument("--model", default=None, help="model folder or 'wide' (default: shipped)")
    parser.add_argument("--curves", type=int, default=60, help="featured curves to fit")
    parser.add_argument("--seed", type=int, default=0, help="picks the sample and seeds the fits")
    parser.add_argument("--fit-time", type=float, default=None, help="seconds per candidate (cap)")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--wide-share", type=float, default=WIDE_SHARE,
                        help=f"share of each fit's draws from the wide priors (default {WIDE_SHARE})")
    parser.add_argument("--json", type=Path, default=None)
    parser.add_argument("--summarize", type=Path, default=None, help="print an earlier --json's tables")
    args = parser.parse_args()
    if not 0.0 <= args.wide_share <= 1.0:
        parser.error(f"--wide-share must lie in [0, 1], got {args.wide_share:g}")
    if args.summarize:
        earlier = json.loads(args.summarize.read_text())
        report(earlier["curves"], earlier["args"]["data"], earlier["args"]["model"])
        return
    if args.data is None:
        parser.error("--data is required (or --summarize an earlier run)")

    predictor = load_predictor(args.model)
    curves = [shard.curve(i) for shard in iter_shards(args.data) for i in range(len(shard))]
    featured = [c for c in curves if has_feature(c)]
    rng = np.random.default_rng(args.seed)
    sample = [featured[i] for i in np.sort(rng.choice(len(featured), args.curves, replace=False))]
    jobs = predict_groups(predictor, [[c] for c in sample], top=FIT_SHORTLIST, references=True)
    compile_kernels(sorted({(c.model, c.structure_factor) for p, _ in jobs for c in p.candidates}, key=str))
    rows, begin = [], time.perf_counter()
    for n, (prediction, group) in enumerate(jobs, 1):
        truth = group[0].meta["model"]
        ranked = [c.model for c in prediction.candidates[:FIT_SHORTLIST]]  # the classifier's own order
        fitted = confirm(prediction, group, seed=args.seed, time_limit=args.fit_time, keep=SHOWN,
                         wide_share=args.wide_share,
                         workers=args.workers)
        rows.append({"source": group[0].source, "truth": truth, "classifier_rank": rank_of(truth, ranked),
                     "fitted_rank": rank_of(truth, [c.model for c in fitted.candidates]),
                     "fitted": [c.model for c in fitted.candidates], "unsure": fitted.unsure,
                     "seconds": sum(f.seconds for f in fitted.fits)})
        print(f"{n}/{len(jobs)} {truth}: classifier {rows[-1]['classifier_rank']}, fitted "
              f"{rows[-1]['fitted_rank']} ({time.perf_counter() - begin:.0f} s)", flush=True)

    report(rows, args.data, args.model)
    print(f"{time.perf_counter() - begin:.0f} s of fits on {args.workers} workers")
    if args.json:
        args.json.write_text(json.dumps({"args": {k: str(v) for k, v in vars(args).items()},
                                         "curves": rows}, indent=1) + "\n")


def report(rows: list[dict], data, model) -> None:
    def share(key: str, k: int, among=rows) -> str:
        return f"{100 * np.mean([r[key] is not None and r[key] <= k for r in among]):.1f} %"

    def in_top3(r: dict, key: str) -> bool:
        return r[key] is not None and r[key] <= SHOWN

    print(f"\n{len(rows)} featured curves of {data}, model {model or 'shipped'}\n"
          f"| ranking | top-1 | top-3 | top-{FIT_SHORTLIST} |\n|---|---:|---:|---:|\n"
          f"| classifier | {share('classifier_rank', 1)} | {share('classifier_rank', 3)} "
          f"| {share('classifier_rank', FIT_SHORTLIST)} |\n"
          f"| after --fit | {share('fitted_rank', 1)} | {share('fitted_rank', 3)} | – |")
    sure = [r for r in rows if not r["unsure"]]
    print(f"after --fit, flagged unsure: {len(rows) - len(sure)} of {len(rows)}; top-3 among the rest: "
          f"{share('fitted_rank', 3, sure) if sure else '–'}")
    gained = [r["truth"] for r in rows if in_top3(r, "fitted_rank") and not in_top3(r, "classifier_rank")]
    lost = [r["truth"] for r in rows if in_top3(r, "classifier_rank") and not in_top3(r, "fitted_rank")]
    print(f"the fits bring the truth into the top 3 for {len(gained)} curves ({', '.join(gained)}) and "
          f"drop it for {len(lost)} ({', '.join(lost)})")


if __name__ == "__main__":
    import os

    os.environ.setdefault("SAS_OPENCL", "none")
    main()
