"""Would averaging several trained models beat each of them, on simulated and on real data?

    python bench/experiments/bench_ensemble.py --model A=src/sasnn/data/model --model B=runs/shipped2 \\
        --model C=runs/sq --test data/test --test data/test3 [--top 3] [--top 10]

For each model alone and for every combination of two or more, the members' calibrated
probabilities are averaged (:class:`sasnn.identify.ensemble.EnsemblePredictor` without a temperature
of its own, which would not change the ranking). Prints, per test set, form-factor top-1 /
top-3 and structure-factor accuracy, and for the real dev set (bench_devset.py's samples,
entries of one file combined) the verdict per file (e = exact, f = family, m = miss, in
the file order of bench_devset.py) and the number of files with the expert's model or its
family in the top 3 (each ``--top``: 10 is the shortlist `sasnn predict --fit` fits).
"""

from __future__ import annotations

import argparse
import itertools
import sys
import warnings
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # bench/, for bench_devset
from bench_devset import SAMPLES, grade  # noqa: E402

from sasnn.identify.api import predict_groups
from sasnn.identify.ensemble import EnsemblePredictor
from sasnn.identify.loading import load_predictor
from sasnn.identify.predictor import Predictor
from sasnn.io.read import example_data_path, load_curves
from sasnn.learn.training import load_training_arrays


def simulated_scores(predictor: Predictor, test) -> tuple[float, float, float]:
    p_ff, p_sf = predictor.probabilities(test.x)
    ranked = np.argsort(-p_ff, axis=1)
    return (
        float((ranked[:, 0] == test.form_factor).mean()),
        float((ranked[:, :3] == test.form_factor[:, None]).any(axis=1).mean()),
        float((p_sf.argmax(axis=1) == test.structure_factor).mean()),
    )


def devset_verdicts(predictor: Predictor, files: list[list], top: int = 3) -> str:
    groups = predict_groups(predictor, files, top=top, joint=True)
    pairs = zip(SAMPLES, groups, strict=True)
    return "".join(grade(sample, p.candidates[:top])[0] for sample, (p, _) in pairs)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", action="append", required=True, help="NAME=RUN_DIR, two or more")
    parser.add_argument("--test", action="append", required=True, help="simulated test set folder(s)")
    parser.add_argument("--top", type=int, action="append",
                        help="dev-set verdicts within each of these top-k lists (default: 3)")
    args = parser.parse_args()
    tops = args.top or [3]

    predictors = {}
    for item in args.model:
        name, _, path = item.partition("=")
        predictors[name] = load_predictor(path)
    grid = next(iter(predictors.values())).grid
    # each input-channel set its own prepared copy (networks with and without log_sigma)
    tests = {channels: [load_training_arrays(t, grid, channels=channels) for t in args.test]
             for channels in {p.channels for p in predictors.values()}}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # repairs are reported by `sasnn predict`, not here
        files = [load_curves(example_data_path(s.file)) for s in SAMPLES]

    header = "| models | " + " | ".join(f"{t}: top-1 / top-3 / S(Q)" for t in args.test)
    header += "".join(f" | dev set per file, top {k} | dev set hits, top {k}" for k in tops)
    print(header + " |")
    print("|---|" + "---|" * len(args.test) + "---|---:|" * len(tops))
    names = list(predictors)
    for k in range(1, len(names) + 1):
        for combo in itertools.combinations(names, k):
            members = [predictors[n] for n in combo]
            if len({m.channels for m in members}) > 1:
                continue  # networks fed different inputs can't be averaged (sasnn.identify.ensemble.SHARED)
            predictor = members[0] if k == 1 else EnsemblePredictor.of(members)
            cells = [" / ".join(f"{100 * v:.1f} %" for v in simulated_scores(predictor, t))
                     for t in tests[predictor.channels]]
            row = f"| {'+'.join(combo)} | " + " | ".join(cells)
            for top in tops:
                verdicts = devset_verdicts(predictor, files, top)
                row += f" | {verdicts} | {sum(v != 'm' for v in verdicts)} of {len(SAMPLES)}"
            print(row + " |", flush=True)


if __name__ == "__main__":
    main()
