"""Would a learnt correctness score rank a network's errors better than its top-3 probability?

    python bench/experiments/bench_unsure_score.py --cache runs/shift-cache --member H \\
        --model src/sasnn/data/models/wide --calibrate data/wcal --calibrate data/ncal \\
        --shift wide --shift scaled

Reads the cached probabilities and feature distances of bench_ensemble_shift.py (run it
first with the same --cache). On the calibration curves it fits two classifiers (sklearn's
logistic regression and gradient boosting) that predict "the truth is in the top 3" from
the top-3 sum, the top-1 probability, the margin between the first two, the entropy and
the feature distance. Then, on each shift set, it compares the largest share of usable
curves a threshold could leave unflagged at 95 % top-3 (set on the test curves, the best
any threshold could do) when ranking by the top-3 sum and by each learnt score.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
from bench_ensemble_shift import best_coverage  # this folder: the script runs from it
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.linear_model import LogisticRegression

from sasnn.identify.loading import load_predictor
from sasnn.learn.training import load_training_arrays

TARGET = 0.95


def signals(out: dict) -> np.ndarray:
    p = out["p_ff"].astype(np.float64)
    ranked = -np.sort(-p, axis=1)
    entropy = -(p * np.log(p + 1e-12)).sum(axis=1)
    return np.column_stack([ranked[:, :3].sum(1), ranked[:, 0], ranked[:, 0] - ranked[:, 1], entropy,
                            out["distance"]])


def top3_hit(out: dict, truth: np.ndarray) -> np.ndarray:
    return (np.argsort(-out["p_ff"], axis=1)[:, :3] == truth[:, None]).any(axis=1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cache", type=Path, required=True)
    parser.add_argument("--member", required=True, help="the NAME given to bench_ensemble_shift.py")
    parser.add_argument("--model", required=True, help="that member's model folder (for its labels)")
    parser.add_argument("--calibrate", action="append", type=Path, required=True)
    parser.add_argument("--shift", action="append", required=True)
    args = parser.parse_args()
    predictor = load_predictor(args.model)
    truth = np.concatenate([load_training_arrays(d, predictor.grid, class_names=predictor.class_names,
                                                 structure_factors=predictor.structure_factors,
                                                 channels=predictor.channels).form_factor
                            for d in args.calibrate])
    with np.load(args.cache / f"{args.member}-calibration.npz") as f:
        calibration = dict(f)
    x, y = signals(calibration), top3_hit(calibration, truth)
    scorers = {"logistic regression": LogisticRegression(max_iter=2000),
               "gradient boosting": HistGradientBoostingClassifier(max_depth=3, random_state=0)}
    for scorer in scorers.values():
        scorer.fit(x, y)
    print(f"| set | top-3 sum | {' | '.join(scorers)} |\n|---|---:|" + "---:|" * len(scorers))
    for name in args.shift:
        with np.load(args.cache / f"set-{name}.npz") as f:
            data = dict(f)
        with np.load(args.cache / f"{args.member}-{name}.npz") as f:
            out = dict(f)
        hit, usable, features = top3_hit(out, data["truth"]), ~(data["flat"] | data["broken"]), signals(out)
        shares = [best_coverage(hit, features[:, 0], usable, TARGET)]
        shares += [best_coverage(hit, s.predict_proba(features)[:, 1], usable, TARGET)
                   for s in scorers.values()]
        print(f"| {name} | " + " | ".join(f"{100 * s:.1f} %" for s in shares) + " |")


if __name__ == "__main__":
    main()
