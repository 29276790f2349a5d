"""Does "unsure" fire on models the network never saw, and rarely on those it knows?

    python bench/bench_unsure.py --train data/train --test data/test --out runs/unsure \\
        [--leave-out 4 --seed 0 | --classes a,b,c] [--epochs 40] [--time-budget-min 30] \\
        [--shipped runs/shipped] [--config configs/global_152k.toml]

1. Picks the left-out classes (``--leave-out`` at random from the catalogue with
   ``--seed``, or ``--classes``), and trains a CNN on every other class of the
   training set (resumable run folder OUT/run): the default CNNConfig, or the ``[cnn]``
   table and the ``[train]`` recipe of ``--config`` (a shipped network's run.toml),
   with this bench's seed, epochs, time budget and threads on top.
2. Runs the real prediction path (:meth:`sasnn.identify.predictor.Predictor.predict` on the
   test set's curves, as `sasnn predict` does on files) and reports the share of
   curves flagged unsure: on the left-out classes (should be high) and on the
   in-catalogue test curves (should be low), with the reasons that fired.
3. With ``--shipped``, the same in-catalogue rate for that model on the whole test set.

Writes OUT/results.json and prints a markdown table.
"""

from __future__ import annotations

import argparse
import json
from collections import Counter
from pathlib import Path

import numpy as np

from sasnn.identify.loading import load_predictor
from sasnn.identify.predictor import Predictor
from sasnn.learn.preprocessing import channels_for, default_grid
from sasnn.learn.training import fit, load_run_config, load_training_arrays
from sasnn.simulate.datasets import iter_shards, read_manifest

# the kinds of reason (substrings of Prediction.reason); "unlike the training data" is
# either of the last two, which are reported apart as well
REASONS = ("overlap", "lie outside", "low confidence", "unlike the training data", "energy score",
           "feature distance")


def flag_rates(predictor: Predictor, curves) -> dict:
    """Share of curves flagged unsure, and how often each kind of reason fired."""
    predictions = predictor.predict(curves, top_k=1)
    unsure = [p for p in predictions if p.unsure]
    reasons = Counter(kind for p in unsure for kind in REASONS if kind in (p.reason or ""))
    return {
        "n": len(predictions),
        "unsure_rate": len(unsure) / max(1, len(predictions)),
        "reason_rates": {k: reasons[k] / max(1, len(predictions)) for k in REASONS},
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--train", type=Path, required=True)
    parser.add_argument("--test", type=Path, required=True)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--leave-out", type=int, default=4)
    parser.add_argument("--seed", type=int, default=0, help="picks the left-out classes; seeds training")
    parser.add_argument("--classes", default="", help="comma-separated classes to leave out instead")
    parser.add_argument("--epochs", type=int, default=40, help="cosine schedule length (upper bound)")
    parser.add_argument("--time-budget-min", type=float, default=30.0)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--shipped", type=Path, help="also rate this finished run on the whole test set")
    parser.add_argument("--config", type=Path, help="run.toml whose [cnn] and [train] tables to train with")
    args = parser.parse_args()

    classes = read_manifest(args.train)["classes"]
    if args.classes:
        left_out = [c.strip() for c in args.classes.split(",") if c.strip()]
    else:
        rng = np.random.default_rng(args.seed)
        left_out = sorted(rng.choice(classes, size=args.leave_out, replace=False).tolist())
    print(f"left out: {', '.join(left_out)}", flush=True)

    config, cnn = load_run_config(args.config, seed=args.seed, epochs=args.epochs, patience=args.epochs,
                                  time_budget_s=60 * args.time_budget_min, num_threads=args.threads)
    arrays = load_training_arrays(args.train, default_grid(), with_sigma=config.noise_augment > 0,
                                  channels=channels_for(cnn.in_channels))
    arrays = arrays.without_classes(left_out)
    fit(arrays, cnn, config, args.out / "run")
    predictor = load_predictor(args.out / "run")

    curves = [shard.curve(i) for shard in iter_shards(args.test) for i in range(len(shard))]
    unseen = [c for c in curves if c.meta["model"] in left_out]
    known = [c for c in curves if c.meta["model"] not in left_out]
    results = {
        "left_out": left_out,
        "time_budget_min": args.time_budget_min,
        "epochs_trained": len(json.loads((args.out / "run" / "history.json").read_text())),
        "unseen": flag_rates(predictor, unseen),
        "in_catalogue": flag_rates(predictor, known),
        "per_left_out_class": {
            name: flag_rates(predictor, [c for c in unseen if c.meta["model"] == name])["unsure_rate"]
            for name in left_out
        },
    }
    if args.shipped:
        results["shipped_in_catalogue"] = flag_rates(load_predictor(args.shipped), curves)
    (args.out / "results.json").write_text(json.dumps(results, indent=1))

    rows = [("left-out classes (never trained on)", results["unseen"]),
            ("in-catalogue test curves", results["in_catalogue"])]
    if args.shipped:
        rows.append(("in-catalogue, shipped model (all classes)", results["shipped_in_catalogue"]))
    print("| curves | n | unsure | " + " | ".join(REASONS) + " |")
    print("|---|---:|---:|" + "---:|" * len(REASONS))
    for label, r in rows:
        shares = " | ".join(f"{100 * r['reason_rates'][k]:.1f} %" for k in REASONS)
        print(f"| {label} | {r['n']} | {100 * r['unsure_rate']:.1f} % | {shares} |")
    for name, rate in results["per_left_out_class"].items():
        print(f"- {name}: {100 * rate:.0f} % unsure")


if __name__ == "__main__":
    main()
