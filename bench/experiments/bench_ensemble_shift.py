"""Screening: which average of trained networks generalises best beyond its priors?

    python bench/experiments/bench_ensemble_shift.py --model G=src/sasnn/data/model \\
        --model H=src/sasnn/data/models/wide --model I=runs/i/model \\
        --shift wide=data/wtest --shift scaled=data/stest --narrow data/ntest \\
        --calibrate data/wcal --calibrate data/ncal --cache bench/runs/shift-cache

Each member's calibrated probabilities and feature distance on every set are computed
once (and cached in --cache), so every combination of members is scored without running
a network again. A combination is scored as ``sasnn ensemble --calibrate`` builds it: the
mean of the members' calibrated probabilities, one temperature fitted on the calibration
sets, and the unsure level set there (:func:`sasnn.learn.training.confidence_levels`); its
novelty test is the first member's. On the shift sets (wide, scaled): featured top-1 /
top-3 / top-5 (the featureless rule of :mod:`sasnn.learn.featureless`, as bench_generalisation.py)
and the top-3 of the predictions not flagged unsure, with the share unflagged (flags:
featureless, below the level, unlike the training data; a curve that cannot be prepared
is flagged), and the largest share any confidence level could leave unflagged at 95 %
top-3, that level set on the test curves themselves (what the ranking allows). On the
narrow set: top-1, top-3, structure factor and ECE, as ``sasnn
evaluate``. The numbers to quote come from bench_generalisation.py and ``sasnn evaluate``
on the built ensemble; this script only picks which one to build.
"""

from __future__ import annotations

import argparse
import itertools
from pathlib import Path

import numpy as np

from sasnn.identify.confirm import FIT_SHORTLIST
from sasnn.identify.loading import load_predictor
from sasnn.identify.predictor import has_feature
from sasnn.learn import evaluation
from sasnn.learn.training import calibrate_temperature, concatenate, confidence_levels, load_training_arrays
from sasnn.simulate.datasets import iter_shards


def curves_of(folder: Path, predictor):
    """Prepared inputs, labels and the featureless flag of every curve, as bench_generalisation
    reads them (a curve that cannot be prepared is a zero input, flagged)."""
    names = predictor.class_names
    x, truth, flat, broken = [], [], [], []
    for shard in iter_shards(folder):
        for i in range(len(shard)):
            curve = shard.curve(i)
            truth.append(names.index(curve.meta["model"]))
            try:
                x.append(predictor.prepare(curve))
                broken.append(False)
            except ValueError:
                x.append(np.zeros((len(predictor.channels), len(predictor.grid)), np.float32))
                broken.append(True)
            flat.append(not has_feature(curve))
    return np.stack(x), np.array(truth), np.array(flat), np.array(broken)


def member_outputs(predictor, x: np.ndarray) -> dict:
    p_ff, p_sf = predictor.probabilities(x)
    return {"p_ff": p_ff.astype(np.float32), "p_sf": p_sf.astype(np.float32),
            "distance": predictor.feature_distance(x)}


def cached(path: Path, make) -> dict:
    if path.is_file():
        with np.load(path) as f:
            return dict(f)
    out = make()
    path.parent.mkdir(parents=True, exist_ok=True)
    np.savez(path, **out)
    return out


def tempered(p: np.ndarray, t: float) -> np.ndarray:
    return evaluation.softmax(np.log(p + 1e-30), t)


def hits(p: np.ndarray, truth: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Top-1, top-3 and top-``FIT_SHORTLIST`` hits (the classifier's candidates ``--fit``
    fits, besides the reference models), and the top-3 confidence."""
    top = np.argsort(-p, axis=1)[:, :FIT_SHORTLIST]
    return (top[:, 0] == truth, (top[:, :3] == truth[:, None]).any(1), (top == truth[:, None]).any(1),
            np.take_along_axis(p, top[:, :3], 1).sum(1))


def best_coverage(hit3: np.ndarray, confidence: np.ndarray, usable: np.ndarray, target: float) -> float:
    """The largest share of curves a confidence level could leave unflagged with ``target``
    of them right (top-3), the level set on these very curves: what the ranking allows."""
    order = np.argsort(-np.where(usable, confidence, -np.inf), kind="stable")
    running = np.cumsum(hit3[order]) / np.arange(1, len(order) + 1)
    ok = np.flatnonzero(running >= target)
    return float((ok[-1] + 1) / len(order)) if ok.size else 0.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", action="append", required=True, help="NAME=FOLDER")
    parser.add_argument("--shift", action="append", required=True, help="NAME=DATASET")
    parser.add_argument("--narrow", type=Path, required=True)
    parser.add_argument("--calibrate", action="append", type=Path, required=True)
    parser.add_argument("--cache", type=Path, required=True)
    parser.add_argument("--max-members", type=int, default=3)
    args = parser.parse_args()
    models = dict(m.split("=", 1) for m in args.model)
    shifts = dict(s.split("=", 1) for s in args.shift)
    predictors = {name: load_predictor(folder) for name, folder in models.items()}
    first = next(iter(predictors.values()))

    def arrays(folder):
        return load_training_arrays(Path(folder), first.grid, class_names=first.class_names,
                                    structure_factors=first.structure_factors, channels=first.channels)

    sets = {}
    for name, folder in shifts.items():
        sets[name] = cached(args.cache / f"set-{name}.npz", lambda f=folder: dict(zip(
            ("x", "truth", "flat", "broken"), curves_of(Path(f), first), strict=True)))
    narrow = arrays(args.narrow)
    calibration = concatenate([arrays(f) for f in args.calibrate])
    sets["narrow"] = {"x": narrow.x, "truth": narrow.form_factor, "sf": narrow.structure_factor}
    sets["calibration"] = {"x": calibration.x, "truth": calibration.form_factor}
    out = {m: {s: cached(args.cache / f"{m}-{s}.npz", lambda p=p, d=d: member_outputs(p, d["x"]))
               for s, d in sets.items()} for m, p in predictors.items()}

    target = first.meta["train_config"]["unsure_top3"]
    columns = [f"{s} featured top-1 / top-3 / top-{FIT_SHORTLIST} | {s} unflagged top-3 at share "
               f"| {s} best level's share" for s in shifts]
    print("| members | T | level | " + " | ".join(columns) + " | narrow top-1 / top-3 / S(Q) / ECE |")
    print("|---|---|---|" + "---|---|---|" * len(shifts) + "---|")
    names = list(predictors)
    for k in range(1, min(args.max_members, len(names)) + 1):
        for combo in itertools.permutations(names, k) if k > 1 else ((n,) for n in names):
            if k > 1 and sorted(combo[1:]) != list(combo[1:]):
                continue  # the order of the members after the first (whose novelty test is used) is moot
            def mean(s, key="p_ff", combo=combo):
                return np.mean([out[m][s][key] for m in combo], axis=0)
            if k == 1:
                level = predictors[combo[0]].meta["unsure"].get("min_confidence", evaluation.MIN_CONFIDENCE)
                t = 1.0
            else:
                log_cal = np.log(mean("calibration") + 1e-30)
                t = calibrate_temperature(log_cal, calibration.form_factor)
                level = confidence_levels(log_cal, t, calibration, target)["min_confidence"]
            threshold = predictors[combo[0]].meta["unsure"]["feature_distance_threshold"]
            cells = []
            for s in shifts:
                d = sets[s]
                hit1, hit3, hit5, confidence = hits(tempered(mean(s), t), d["truth"])
                featured = ~d["flat"]
                unflagged = ~(d["flat"] | d["broken"] | (confidence < level)
                              | (out[combo[0]][s]["distance"] > threshold))
                usable = ~(d["flat"] | d["broken"])
                cells += [f"{100 * hit1[featured].mean():.1f} / {100 * hit3[featured].mean():.1f} / "
                          f"{100 * hit5[featured].mean():.1f}",
                          f"{100 * hit3[unflagged].mean():.1f} at {100 * unflagged.mean():.1f}",
                          f"{100 * best_coverage(hit3, confidence, usable, target):.1f}"]
            p = tempered(mean("narrow"), t)
            hit1, hit3, _, _ = hits(p, sets["narrow"]["truth"])
            t_sf = 1.0 if k == 1 else calibrate_temperature(np.log(mean("calibration", "p_sf") + 1e-30),
                                                            calibration.structure_factor)
            sf = np.argmax(tempered(mean("narrow", "p_sf"), t_sf), axis=1) == sets["narrow"]["sf"]
            ece = evaluation.expected_calibration_error(p, sets["narrow"]["truth"])
            cells.append(f"{100 * hit1.mean():.1f} / {100 * hit3.mean():.1f} / "
                         f"{100 * sf.mean():.1f} / {ece:.3f}")
            print(f"| {'+'.join(combo)} | {t:.2f} | {level:.2f} | " + " | ".join(cells) + " |", flush=True)


if __name__ == "__main__":
    main()
