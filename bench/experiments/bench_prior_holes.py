"""Diagnosis: which test curves lie outside the wide training priors, and how they are read.

    python bench/experiments/bench_prior_holes.py --model runs/k/model --data data/stest

A network trained on the wide priors (:mod:`sasnn.simulate.wide`) and the catalogue's has
seen every class over each varied parameter's wide and narrow ranges only. For each featured
curve of a test set (the featureless rule of :mod:`sasnn.learn.featureless`, as
bench_generalisation.py), this lists the varied parameters whose value lies outside both
(the class's wide prior and its narrow training range:
:func:`sasnn.simulate.wide.untrained_parameters`), and compares the network's top-3 on
curves inside the trained ranges with those outside one. Prints the totals and the classes
with the most curves outside, with the parameters that put them there. The wide ranges are
the current rule's (``sasnn.simulate.wide.WIDE_VERSION``): for a network trained only on an
older version's sets, run this at that version's commit.
"""

from __future__ import annotations

import argparse
from collections import Counter, defaultdict
from pathlib import Path

import numpy as np

from sasnn.identify.loading import load_predictor
from sasnn.identify.predictor import has_feature
from sasnn.simulate.datasets import iter_shards
from sasnn.simulate.wide import untrained_parameters


def outside(curve) -> list[str]:
    return untrained_parameters(curve.meta["model"], curve.meta["parameters"]["model"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", required=True, help="model folder, or 'wide'")
    parser.add_argument("--data", type=Path, required=True, help="simulated test set folder")
    parser.add_argument("--classes", type=int, default=15, help="classes to list (most curves outside first)")
    args = parser.parse_args()
    if args.classes < 1:
        parser.error(f"--classes must be at least 1, got {args.classes}")
    try:
        shards = list(iter_shards(args.data))
        predictor = load_predictor(args.model)
    except (ValueError, OSError) as error:  # one line, as the CLI gives
        parser.error(str(error))
    names = predictor.class_names
    curves = [shard.curve(i) for shard in shards for i in range(len(shard))]
    curves = [c for c in curves if c.meta["model"] in names and has_feature(c)]
    truth = np.array([names.index(c.meta["model"]) for c in curves])
    blank = np.zeros((len(predictor.channels), len(predictor.grid)), np.float32)
    x = []
    for c in curves:
        try:
            x.append(predictor.prepare(c))
        except ValueError:  # too few usable points: predict() flags these unsure
            x.append(blank)
    x = np.stack(x)
    p_ff, _ = predictor.probabilities(x)
    top3 = np.argsort(-p_ff, axis=1, kind="stable")[:, :3]
    hit = (top3 == truth[:, None]).any(axis=1)
    holes = [outside(c) for c in curves]
    out = np.array([bool(h) for h in holes])

    def pct(mask: np.ndarray) -> str:
        return f"{mask.sum()} curves, top-3 {100 * hit[mask].mean():.1f} %" if mask.any() else "0 curves"

    print(f"{args.data}: {len(curves)} featured curves; model {args.model}")
    print(f"  every parameter inside a trained range: {pct(~out)}")
    print(f"  one or more outside both:               {pct(out)}")
    by_class: dict[str, list[int]] = defaultdict(list)
    for i, c in enumerate(curves):
        by_class[c.meta["model"]].append(i)
    rows = sorted(by_class.items(), key=lambda kv: -out[kv[1]].sum())[: args.classes]
    print("\n| class | featured | outside the trained ranges | top-3 inside / outside "
          "| parameters outside (curves) |")
    print("|---|---|---|---|---|")
    for name, index in rows:
        index = np.array(index)
        o = out[index]
        params = Counter(p for i in index for p in holes[i])
        inside_hit = f"{100 * hit[index[~o]].mean():.0f}" if (~o).any() else "–"
        outside_hit = f"{100 * hit[index[o]].mean():.0f}" if o.any() else "–"
        listed = ", ".join(f"{p} ({n})" for p, n in params.most_common(3))
        print(f"| {name} | {len(index)} | {o.sum()} | {inside_hit} / {outside_hit} % | {listed} |")


if __name__ == "__main__":
    main()
