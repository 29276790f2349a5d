"""How far apart are a model's accuracies on its own training curves and on validation?

    python bench/experiments/bench_train_gap.py --model RUN_DIR --data DATASET [--data DATASET2] [--n 30000]

A large gap (the network knows its training curves better than new ones) says more
curves would help; a small one says the limit is the model or the data themselves.
Scores a seeded sample of the run's training split and its whole validation split,
split exactly as training split them, without crops or dropout.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from sasnn.identify.loading import load_predictor
from sasnn.learn import evaluation
from sasnn.learn.training import load_datasets, split


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, required=True, help="run folder (its model/ is scored)")
    parser.add_argument("--data", type=Path, action="append", required=True, help="the run's --data folders")
    parser.add_argument("--n", type=int, default=30_000, help="training curves to score")
    args = parser.parse_args()

    predictor = load_predictor(args.model)
    config = predictor.meta["train_config"]
    data = load_datasets(args.data, predictor.grid, channels=predictor.channels)
    if list(data.class_names) != predictor.class_names:
        raise SystemExit(f"{args.model} was not trained on these folders (other class order)")
    train, val = split(data, config["val_fraction"], config["seed"])
    sample = np.sort(np.random.default_rng(0).choice(len(train), min(args.n, len(train)), replace=False))
    print("| split | curves | top-1 | top-3 |\n|---|---:|---:|---:|")
    for name, part in (("training (sample)", train.subset(sample)), ("validation", val)):
        logits, _ = predictor.logits(part.x)
        top1, top3 = (evaluation.top_k_accuracy(part.form_factor, logits, k) for k in (1, 3))
        print(f"| {name} | {len(part):,} | {100 * top1:.1f} % | {100 * top3:.1f} % |")


if __name__ == "__main__":
    main()
