"""With ``--fit``, does "no candidate fits" catch the models the network never saw?

    python bench/experiments/bench_unsure_fit.py --data data/test --model runs/unsure/run \\
        --classes a,b,c,d [--n 60] [--top 10] [--time-limit 10] [--workers 2] [--seed 0] \\
        [--json OUT.json]
    python bench/experiments/bench_unsure_fit.py --summarize OUT.json [--same-as OTHER.json]   # no fitting

``bench_unsure.py`` measures the classifier's own "unsure" on a model trained without
some classes. A classifier can only say that a curve looks unlike its training data;
a curve it has never seen but that looks like a catalogue model gets a confident
wrong answer. ``sasnn predict --fit`` has one more test: it fits the shortlist, and
if even the best fit leaves residuals far above the noise, no catalogue candidate
describes the curve (:data:`sasnn.identify.confirm.POOR_FIT_CHI2`).

This bench runs that path, :func:`sasnn.identify.confirm.confirm` on the classifier's top
``--top`` pairs as `sasnn predict --fit` does, on a seeded sample of ``--n`` curves of
the left-out classes and ``--n`` in-catalogue curves of the same test set. It records
the classifier's flag and the BIC winner's χ²_red, and prints, for a range of χ²_red
limits, the share of each sample flagged unsure: the classifier's flag, or the best
fit above the limit, or no fit at all.

The in-catalogue rate is the false-alarm side: the right model is in the shortlist
for most of those curves, so a best χ²_red above the limit there means the fitter
missed it. It also prints how often the fits' BIC winner is the true pair, next to
the classifier's top 1, on the in-catalogue sample.

The same ``--seed`` picks the same curves: a smaller ``--n`` fits the first of them,
and ``--summarize EARLIER.json --same-as LATER.json`` prints the earlier run's tables
for the curves both fitted (a fitter change, measured on the same curves).

``--time-limit`` is per candidate, 10 s by default (``sasnn predict --fit``: 60 s) to
keep 2 × 60 curves × 10 candidates within an hour on two cores.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import time
import warnings
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np

from sasnn.identify.confirm import confirm
from sasnn.identify.loading import load_predictor
from sasnn.identify.predictor import Predictor
from sasnn.simulate.datasets import iter_shards
from sasnn.simulate.kernels import compile_kernels

LIMITS = (1.5, 2.0, 3.0, 5.0, 10.0, 30.0)  # χ²_red limits above which the best fit is called poor


def pick(predictor: Predictor, data: Path, classes: frozenset[str], n: int, top: int,
         seed: int) -> list[dict]:
    """``n`` seeded curves of ``classes`` and ``n`` of the others, with their predictions."""
    rows = []
    for shard in iter_shards(data):
        rows += [{"path": str(data / "shards" / f"{shard.class_name}-{shard.index:04d}.npz"), "i": i,
                  "left_out": shard.class_name in classes} for i in range(len(shard))]
    rng = np.random.default_rng(seed)
    chosen = []
    for left_out in (True, False):
        ids = [k for k, r in enumerate(rows) if r["left_out"] == left_out]
        chosen += [rows[k] for k in rng.permutation(ids)[:n]]
    from sasnn.simulate.shards import load_shard

    curves = [load_shard(Path(r["path"])).curve(r["i"]) for r in chosen]
    for row, curve, prediction in zip(chosen, curves, predictor.predict(curves, top_k=top), strict=True):
        row |= {"true": [curve.meta["model"], curve.meta["structure_factor"]],
                "setup": curve.meta["setup"], "n_points": len(curve.q),
                "candidates": [[c.model, c.structure_factor, c.probability] for c in prediction.candidates],
                "classifier_unsure": prediction.unsure, "classifier_reason": prediction.reason}
    return chosen


def fit_one(job: dict) -> dict:
    """The ``--fit`` path on one curve: its shortlist fitted and re-ranked by BIC."""
    from sasnn.identify.predictor import Candidate, Prediction
    from sasnn.simulate.shards import load_shard

    curve = load_shard(Path(job["path"])).curve(job["i"])
    prediction = Prediction(job["path"], str(job["i"]),
                            tuple(Candidate(m, s, p) for m, s, p in job["candidates"]),
                            job["classifier_unsure"], job["classifier_reason"])
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        confirmed = confirm(prediction, curve, seed=job["seed"], time_limit=job["time_limit"])
    fits = [{"name": f.name, "pair": [f.model, f.structure_factor],
             "chi2_red": f.chi2_red if math.isfinite(f.bic) else None,
             "bic": f.bic if math.isfinite(f.bic) else None, "seconds": f.seconds}
            for f in confirmed.fits]
    out = {k: job[k] for k in ("path", "i", "left_out", "true", "setup", "n_points",
                               "classifier_unsure", "classifier_reason")}
    return out | {"named": job["candidates"][0][:2], "fits": fits,
                  "true_in_shortlist": any(c[:2] == job["true"] for c in job["candidates"]),
                  "seconds": sum(f["seconds"] for f in fits)}


def best_chi2(r: dict) -> float:
    """The BIC winner's χ²_red (what ``confirm`` tests); inf when every fit failed."""
    best = r["fits"][0] if r["fits"] else None
    return math.inf if best is None or best["chi2_red"] is None else best["chi2_red"]


def misranked(known: list[dict]) -> str:
    """Why the fits' BIC winner is not the true form factor, counted over curves."""
    why = {"the true pair was not fitted": 0, "its fit is > 10 BIC behind with χ²ᵣ ≥ 3 (a failed fit)": 0,
           "a look-alike wins by ΔBIC ≤ 10": 0, "its fit is > 10 BIC behind with χ²ᵣ < 3": 0}
    for r in known:
        if r["fits"] and r["fits"][0]["pair"][0] == r["true"][0]:
            continue
        own = [f for f in r["fits"] if f["pair"][0] == r["true"][0] and f["bic"] is not None]
        if not own:
            why["the true pair was not fitted"] += 1
            continue
        own_best = min(own, key=lambda f: f["bic"])
        if own_best["bic"] - r["fits"][0]["bic"] <= 10:
            why["a look-alike wins by ΔBIC ≤ 10"] += 1
        elif own_best["chi2_red"] >= 3:
            why["its fit is > 10 BIC behind with χ²ᵣ ≥ 3 (a failed fit)"] += 1
        else:
            why["its fit is > 10 BIC behind with χ²ᵣ < 3"] += 1
    return "; ".join(f"{reason}: {n}" for reason, n in why.items())


def report(results: list[dict]) -> dict:
    """Print the tables; return the rates."""
    groups = [("left-out classes (never trained on)", [r for r in results if r["left_out"]]),
              ("in-catalogue test curves", [r for r in results if not r["left_out"]])]
    print("| curves | n | classifier unsure | " + " | ".join(f"or best χ²ᵣ > {t:g}" for t in LIMITS)
          + " |\n|---|---:|---:|" + "---:|" * len(LIMITS))
    summary = {}
    for name, part in groups:
        if not part:
            continue
        chi2 = np.array([best_chi2(r) for r in part])
        flag = np.array([r["classifier_unsure"] for r in part])
        rates = {f"{t:g}": float(np.mean(flag | (chi2 > t))) for t in LIMITS}
        fit_only = {f"{t:g}": float(np.mean(chi2 > t)) for t in LIMITS}
        summary[name] = {"n": len(part), "classifier": float(flag.mean()), "with_fit": rates,
                         "fit_only": fit_only}
        print(f"| {name} | {len(part)} | {100 * flag.mean():.1f} % | "
              + " | ".join(f"{100 * v:.1f} %" for v in rates.values()) + " |")
    print("\n| best fit alone, χ²ᵣ above | " + " | ".join(f"{t:g}" for t in LIMITS)
          + " |\n|---|" + "---:|" * len(LIMITS))
    for name in summary:
        print(f"| {name} | " + " | ".join(f"{100 * v:.1f} %" for v in summary[name]["fit_only"].values())
              + " |")
    known = groups[1][1]
    if known:
        named = np.mean([r["named"][0] == r["true"][0] for r in known])
        winner = np.mean([bool(r["fits"]) and r["fits"][0]["pair"][0] == r["true"][0] for r in known])
        top3 = np.mean([any(f["pair"][0] == r["true"][0] for f in r["fits"][:3]) for r in known])
        listed = np.mean([r["true_in_shortlist"] for r in known])
        summary["in_catalogue_form_factor"] = {
            "classifier_top1": float(named), "fit_winner": float(winner), "fit_top3": float(top3),
            "true_pair_in_shortlist": float(listed)}
        print(f"\nin-catalogue form factor: classifier top 1 {100 * named:.1f} %, BIC winner of the fits "
              f"{100 * winner:.1f} %, in the fits' top 3 {100 * top3:.1f} % (true pair in the fitted "
              f"shortlist: {100 * listed:.1f} %)")
        print("why the BIC winner is another form factor: " + misranked(known))
    print("\n| in-catalogue curve whose best fit has χ²ᵣ > 1.5 | set-up | BIC winner: χ²ᵣ "
          "| the true pair's own fit: χ²ᵣ, seconds |\n|---|---|---|---|")
    for r in sorted((r for r in known if best_chi2(r) > 1.5), key=lambda r: r["true"][0]):
        own = next((f for f in r["fits"] if f["pair"] == r["true"]), None)
        own_text = ("not in the shortlist" if own is None else "failed" if own["chi2_red"] is None
                    else f"{own['chi2_red']:.3g}, {own['seconds']:.1f} s")
        winner = r["fits"][0] if r["fits"] else None
        print(f"| {'@'.join(filter(None, r['true']))} | {r['setup']} | "
              + ("–" if winner is None else f"{winner['name']}: {best_chi2(r):.3g}") + f" | {own_text} |")
    print("\n| in-catalogue curves by set-up | n | best χ²ᵣ > 3 |\n|---|---:|---:|")
    for setup in sorted({r["setup"] for r in known}):
        part = [best_chi2(r) for r in known if r["setup"] == setup]
        print(f"| {setup} | {len(part)} | {100 * np.mean(np.array(part) > 3):.1f} % |")
    return summary


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, help="simulated test set folder (needed unless --summarize)")
    parser.add_argument("--model", default=None, help="run folder of the leave-out model")
    parser.add_argument("--classes", default="", help="comma-separated classes the model never saw")
    parser.add_argument("--n", type=int, default=60, help="curves per sample (left-out, in-catalogue)")
    parser.add_argument("--top", type=int, default=10, help="classifier candidates fitted per curve")
    parser.add_argument("--time-limit", type=float, default=10.0, help="seconds per candidate fit")
    parser.add_argument("--workers", type=int, default=2, help="curves fitted at once")
    parser.add_argument("--seed", type=int, default=0, help="picks the samples and seeds the fits")
    parser.add_argument("--json", type=Path, default=None, help="write every fitted curve here")
    parser.add_argument("--summarize", type=Path, default=None, help="an earlier run's --json")
    parser.add_argument("--same-as", type=Path, default=None,
                        help="with --summarize: only the curves that this other run's --json fitted")
    args = parser.parse_args()
    if args.summarize:
        curves = json.loads(args.summarize.read_text())["curves"]
        if args.same_as:
            keep = {(r["path"], r["i"]) for r in json.loads(args.same_as.read_text())["curves"]}
            curves = [r for r in curves if (r["path"], r["i"]) in keep]
        report(curves)
        return
    classes = frozenset(filter(None, args.classes.split(",")))
    if args.data is None or args.model is None or not classes:
        parser.error("--data, --model and --classes are required (or --summarize an earlier run)")
    if args.n < 1 or args.top < 1 or args.workers < 1:
        parser.error("--n, --top and --workers must be positive")

    predictor = load_predictor(args.model)
    unknown = classes - {s.class_name for s in iter_shards(args.data)}
    if unknown:
        parser.error(f"not classes of {args.data}: {', '.join(sorted(unknown))}")
    seen = classes & set(predictor.class_names)
    if seen:
        parser.error(f"{args.model} was trained on {', '.join(sorted(seen))}: "
                     "--classes names the classes it never saw")
    rows = pick(predictor, args.data, classes, args.n, args.top, args.seed)
    jobs = [r | {"seed": args.seed, "time_limit": args.time_limit} for r in rows]
    # every kernel compiled here once: concurrent first compiles in workers race
    compile_kernels(sorted({(m, s) for j in jobs for m, s, _ in j["candidates"]}, key=str))
    begin = time.perf_counter()
    results = []
    with ProcessPoolExecutor(args.workers) as pool:
        for result in pool.map(fit_one, jobs, chunksize=1):
            results.append(result)
            if len(results) % 10 == 0:
                print(f"{len(results)} of {len(jobs)} curves fitted, {time.perf_counter() - begin:.0f} s",
                      flush=True)
    seconds = time.perf_counter() - begin
    summary = report(results) | {"fit_seconds": seconds, "workers": args.workers, "top": args.top,
                                 "time_limit": args.time_limit, "seed": args.seed, "model": str(args.model)}
    print(f"fitted {len(results)} curves × {args.top} candidates in {seconds:.0f} s "
          f"on {args.workers} workers")
    if args.json:
        args.json.write_text(json.dumps({"summary": summary, "curves": results}, indent=1) + "\n")


if __name__ == "__main__":
    os.environ.setdefault("SAS_OPENCL", "none")
    main()
