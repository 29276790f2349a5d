"""Screening: does averaging a network's answers over shifts in log q help beyond its priors?

    python bench/experiments/bench_shift_average.py --model runs/k/model --data data/stest \\
        --factors 0.8,0.894,1,1.118,1.25

A shift in log q is a change of size that keeps the class (every length scaled by
1/factor), so the class probabilities of the shifted curves may be averaged: test-time
augmentation along the one symmetry the task has. For each factor, the curve's q is
multiplied by it and prepared as the predictor prepares a file; the network's calibrated
probabilities are scored alone and averaged (arithmetic and geometric mean) on the
set's featured curves (the featureless rule of :mod:`sasnn.learn.featureless`, as
bench_generalisation.py). Top-1 / top-3 / top-5, no unsure flag: the calibration and
the unsure level of an average would have to be set again.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np

from sasnn.identify.loading import load_predictor
from sasnn.identify.predictor import has_feature
from sasnn.learn.preprocessing import prepare_curve
from sasnn.simulate.datasets import iter_shards


def score(p: np.ndarray, truth: np.ndarray) -> str:
    top = np.argsort(-p, axis=1)[:, :5]
    hits = [(top[:, :k] == truth[:, None]).any(1).mean() for k in (1, 3, 5)]
    return " / ".join(f"{100 * h:.1f}" for h in hits)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", required=True, help="model folder, or 'wide'")
    parser.add_argument("--data", type=Path, required=True, help="simulated test set folder")
    parser.add_argument("--factors", default="0.8,0.894,1,1.118,1.25", help="q factors, comma-separated")
    args = parser.parse_args()
    try:
        factors = [float(f) for f in args.factors.split(",")]
        if not all(f > 0 for f in factors):
            raise ValueError("every --factors value must be positive")
        predictor = load_predictor(args.model)
        curves = [c for shard in iter_shards(args.data) for c in map(shard.curve, range(len(shard)))
                  if has_feature(c)]
    except (ValueError, OSError) as error:  # one line, as the CLI gives
        parser.error(str(error))
    names = predictor.class_names
    truth = np.array([names.index(c.meta["model"]) for c in curves])
    blank = np.zeros((len(predictor.channels), len(predictor.grid)), np.float32)
    begin, probabilities = time.perf_counter(), {}
    for factor in factors:
        x = []
        for c in curves:
            try:
                x.append(prepare_curve(c.q * factor, c.intensity, c.sigma, predictor.grid,
                                       predictor.channels))
            except ValueError:  # a curve that cannot be prepared: scored as a miss
                x.append(blank)
        probabilities[factor] = predictor.probabilities(np.stack(x))[0]
    print(f"{len(curves)} featured curves of {args.data}, model {args.model}, "
          f"{len(factors)} factors in {time.perf_counter() - begin:.0f} s\n")
    print("| q factor | top-1 / top-3 / top-5 |\n|---|---|")
    for factor in factors:
        print(f"| {factor:g} | {score(probabilities[factor], truth)} |")
    stack = np.stack(list(probabilities.values()))
    print(f"| arithmetic mean | {score(stack.mean(0), truth)} |")
    print(f"| geometric mean | {score(np.exp(np.log(stack + 1e-12).mean(0)), truth)} |")


if __name__ == "__main__":
    main()
