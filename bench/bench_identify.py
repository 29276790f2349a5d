"""Identification benchmark: our CNN (a few sizes) against SASNets, kNN and (optionally)
gradient-boosted trees, trained on the same data with the same budget, scored on a
fresh test set (DESIGN.md §4, §9).

    python bench/bench_identify.py --train data/train --test data/test --out bench/runs/identify \\
        [--epochs 40] [--time-budget-min 0] [--sizes default,small] [--gbt] \\
        [--score-run "CNN (shipped)=runs/shipped"]

Prints a markdown table (top-1, top-3, macro-F1, structure-factor accuracy, ECE,
error relative to SASNets, training time, inference curves/s) and writes it with
all numbers to OUT/results.json and OUT/table.md. Every network is trained by the
same `sasnn.learn.training.fit` (same split, epochs or time budget, optimizer, crops);
each run folder under OUT resumes if the benchmark is interrupted.
"""

from __future__ import annotations

import argparse
import json
import time
from dataclasses import replace
from pathlib import Path

import numpy as np

from sasnn.identify.loading import load_predictor
from sasnn.learn import evaluation
from sasnn.learn.networks import CNNConfig, SASNetsConfig
from sasnn.learn.preprocessing import default_grid
from sasnn.learn.training import TrainConfig, fit, load_training_arrays

SIZES = {
    "small": CNNConfig(channels=(24, 32, 48, 64), hidden=192),
    "default": CNNConfig(),
    "medium": CNNConfig(channels=(32, 64, 96, 128), hidden=256),
}


def score(name, ff_true, ff_logits, sf_true, sf_logits, temperatures, train_s, rate) -> dict:
    row = evaluation.summary(ff_true, ff_logits, sf_true, sf_logits, temperatures=temperatures)
    return {"method": name, **row, "train_s": train_s, "inference_curves_per_s": rate}


def network(name, model_config, train_config, train, test, out: Path) -> dict:
    """Train (or resume) a network in OUT/<name> and score it."""
    run_dir = out / name.lower().replace(" ", "-")
    fit(train, model_config, train_config, run_dir)
    return score_run(name, run_dir, test)


def score_run(name, run_dir: Path, test) -> dict:
    """Score a finished run on the test set; training time from its history."""
    history = json.loads((run_dir / "history.json").read_text())
    train_s = sum(r["seconds"] for r in history)  # training epochs only (also right after a resume)
    predictor = load_predictor(run_dir)
    predictor.logits(test.x[:256])  # warm-up
    start = time.perf_counter()
    ff, sf = predictor.logits(test.x)
    rate = len(test) / (time.perf_counter() - start)
    t = predictor.meta["temperatures"]
    row = score(
        name,
        test.form_factor,
        ff,
        test.structure_factor,
        sf,
        (t["form_factor"], t["structure_factor"]),
        train_s,
        rate,
    )
    row["epochs"] = len(history)
    row["run"] = str(run_dir)
    return row


def features(x: np.ndarray, pool: int = 1) -> np.ndarray:
    """Flattened prepared inputs (both channels), optionally averaged over ``pool`` cells."""
    n, c, q = x.shape
    return x.reshape(n, c, q // pool, pool).mean(axis=3).reshape(n, -1)


def knn(train, test, max_test: int) -> dict:
    from sklearn.neighbors import KNeighborsClassifier

    test_index = np.random.default_rng(0).permutation(len(test))[:max_test]
    return _sklearn_pair(
        "kNN (k=10, distance-weighted)",
        lambda: KNeighborsClassifier(10, weights="distance", algorithm="brute", n_jobs=-1),
        train, np.arange(len(train)), test, test_index, pool=1,
    )


def gbt(train, test, max_train: int, max_test: int) -> dict:
    from sklearn.ensemble import HistGradientBoostingClassifier

    rng = np.random.default_rng(0)
    train_index = rng.permutation(len(train))[:max_train]
    test_index = rng.permutation(len(test))[:max_test]
    return _sklearn_pair(
        f"gradient-boosted trees ({len(train_index)} training curves, 4-cell means)",
        lambda: HistGradientBoostingClassifier(max_iter=200, early_stopping=True, random_state=0),
        train, train_index, test, test_index, pool=4,
    )


def _sklearn_pair(name, make, train, train_index, test, test_index, *, pool: int) -> dict:
    """Fit one sklearn classifier per head on the pooled inputs and score it."""
    x, xt = features(train.x[train_index], pool=pool), features(test.x[test_index], pool=pool)
    start = time.perf_counter()
    ff_model, sf_model = make(), make()
    ff_model.fit(x, train.form_factor[train_index])
    sf_model.fit(x, train.structure_factor[train_index])
    train_s = time.perf_counter() - start
    start = time.perf_counter()
    p_ff, p_sf = ff_model.predict_proba(xt), sf_model.predict_proba(xt)
    rate = len(xt) / (time.perf_counter() - start)
    return score(
        name,
        test.form_factor[test_index],
        _full(p_ff, ff_model, train.class_names),
        test.structure_factor[test_index],
        _full(p_sf, sf_model, train.structure_factors),
        (1.0, 1.0),
        train_s,
        rate,
    ) | {"n_test": len(xt)}


def _full(probabilities, model, names) -> np.ndarray:
    """sklearn's probabilities over the classes it saw → all classes (as logits: log p)."""
    full = np.full((len(probabilities), len(names)), 1e-12)
    full[:, model.classes_] = np.maximum(probabilities, 1e-12)
    return np.log(full)


def _duration(seconds: float) -> str:
    return f"{seconds / 60:.1f} min" if seconds >= 60 else f"{seconds:.1f} s"


def table(rows: list[dict]) -> str:
    reference = next((r for r in rows if r["method"] == "SASNets"), None)
    lines = [
        "| method | top-1 | top-3 | macro-F1 | S(Q) acc. | ECE | error / SASNets | train time "
        "| inference curves/s |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        ff = r["form_factor"]
        ratio = (1 - ff["top1"]) / (1 - reference["form_factor"]["top1"]) if reference else float("nan")
        lines.append(
            f"| {r['method']} | {100 * ff['top1']:.1f} % | {100 * ff['top3']:.1f} % | {ff['macro_f1']:.3f} "
            f"| {100 * r['structure_factor']['accuracy']:.1f} % | {r['ece']:.3f} | {ratio:.2f} "
            f"| {_duration(r['train_s'])} | {r['inference_curves_per_s']:,.0f} |"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--train", type=Path, required=True, help="training dataset folder")
    parser.add_argument("--test", type=Path, required=True, help="test dataset folder (another seed)")
    parser.add_argument("--out", type=Path, required=True, help="folder for the runs and results")
    parser.add_argument("--epochs", type=int, default=40)
    parser.add_argument("--time-budget-min", type=float, default=0.0, help="per network; 0: epochs only")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--patience", type=int, default=5, help="early-stopping patience, epochs")
    parser.add_argument("--sizes", default="default", help=f"CNN sizes, from {', '.join(SIZES)}")
    parser.add_argument("--no-sasnets", action="store_true")
    parser.add_argument(
        "--score-run", action="append", default=[], metavar="NAME=RUN_DIR",
        help="also score a finished run trained on the same data (e.g. the shipped model's), "
        "instead of training that network again",
    )
    parser.add_argument("--no-knn", action="store_true")
    parser.add_argument("--knn-max-test", type=int, default=20000)
    parser.add_argument("--gbt", action="store_true", help="also gradient-boosted trees (slow)")
    parser.add_argument("--gbt-max-train", type=int, default=20000)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()

    grid = default_grid()
    start = time.perf_counter()
    train = load_training_arrays(args.train, grid)
    prepare_rate = len(train) / (time.perf_counter() - start)
    test = load_training_arrays(
        args.test, grid, class_names=list(train.class_names), structure_factors=list(train.structure_factors)
    )
    print(
        f"{len(train)} training curves, {len(test)} test curves, {len(train.class_names)} classes; "
        f"read + prepared at {prepare_rate:,.0f} curves/s"
    )
    config = TrainConfig(
        epochs=args.epochs,
        seed=args.seed,
        patience=args.patience,
        time_budget_s=60 * args.time_budget_min,
        num_threads=args.threads,
    )
    args.out.mkdir(parents=True, exist_ok=True)
    rows = []
    for size in [s.strip() for s in args.sizes.split(",") if s.strip()]:
        if size not in SIZES:
            parser.error(f"unknown size {size!r}; valid: {', '.join(SIZES)}")
        rows.append(network(f"CNN {size}", SIZES[size], config, train, test, args.out))
        print(table(rows), flush=True)
    if not args.no_sasnets:
        rows.append(network("SASNets", SASNetsConfig(), replace(config), train, test, args.out))
    for item in args.score_run:
        name, _, run_dir = item.partition("=")
        if not run_dir:
            parser.error(f"--score-run takes NAME=RUN_DIR, got {item!r}")
        channels = load_predictor(run_dir).channels
        scored = test if channels == test.channels else load_training_arrays(  # a network reading σ
            args.test, grid, class_names=list(train.class_names),
            structure_factors=list(train.structure_factors), channels=channels)
        rows.insert(0, score_run(name, Path(run_dir), scored))
    if not args.no_knn:
        rows.append(knn(train, test, args.knn_max_test))
    if args.gbt:
        rows.append(gbt(train, test, args.gbt_max_train, args.knn_max_test))
    text = table(rows)
    print(text)
    (args.out / "table.md").write_text(text + "\n")
    (args.out / "results.json").write_text(
        json.dumps(
            {
                "rows": rows,
                "prepare_curves_per_s": prepare_rate,
                "args": {k: str(v) for k, v in vars(args).items()},
            },
            indent=1,
        )
    )


if __name__ == "__main__":
    main()
