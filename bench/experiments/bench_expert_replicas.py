"""Can the network read the expert's own fit, re-noised on the real file's q points?

    python bench/experiments/bench_expert_replicas.py [--model NAME=RUN_DIR ...] [--replicas 20] \\
        [--fit-time 60] [--seed 0] [--out results.json]

A dev-set miss has two possible causes: the network never learnt that kind of curve
in that q window (a gap in the training distribution), or the real curve differs
from any simulation (a realism gap: background, resolution, artefacts). This bench
tells them apart. For each dev-set file (bench_devset.py's samples, each pinhole
entry on its own), it

1. fits the expert's model (bench_devset's ``expert_pair``) to the file, as
   ``sasnn predict --fit`` would;
2. makes ``--replicas`` copies of that fitted, resolution-smeared curve with fresh
   Gaussian noise of the file's own σ, on the file's own q and dq;
3. predicts each copy with every ``--model`` and grades the top 3 as bench_devset does.

If the network misses the real file but reads its replicas, the real data differ
from our simulations; if it misses the replicas too, the expert's model in that
window is not in what it learnt (or is indistinguishable there from what it says).
Slit-smeared (USANS) entries are skipped: the network was trained on pinhole data.
"""

from __future__ import annotations

import argparse
import json
import sys
import warnings
from dataclasses import replace
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # bench/, for bench_devset
from bench_devset import SAMPLES, grade  # noqa: E402

from sasnn.fit.candidates import fit_candidates
from sasnn.identify.loading import load_predictor
from sasnn.identify.predictor import Predictor, is_slit_smeared
from sasnn.io.read import example_data_path, load_curves


def replicas(curve, fitted: np.ndarray, n: int, rng: np.random.Generator) -> list:
    """``n`` copies of ``fitted`` on the curve's q, dq and σ, each with fresh N(0, σ) noise;
    points that the noise pushes to I <= 0 are dropped, as the file reader would."""
    out = []
    for _ in range(n):
        intensity = fitted + rng.normal(size=fitted.size) * curve.sigma
        keep = intensity > 0
        out.append(replace(
            curve, q=curve.q[keep], intensity=intensity[keep], sigma=curve.sigma[keep],
            dq=None if curve.dq is None else curve.dq[keep],
            dq_slit=None if curve.dq_slit is None else curve.dq_slit[keep],
            source=f"{curve.source} (replica)",
        ))
    return out


def shares(predictor: Predictor, sample, curves: list) -> dict:
    """How often the top 3 holds the expert's exact model, or its family, over ``curves``."""
    verdicts = [grade(sample, p.candidates[:3]) for p in predictor.predict(curves, top_k=3)]
    return {"exact": verdicts.count("exact") / len(verdicts),
            "family_or_exact": (len(verdicts) - verdicts.count("miss")) / len(verdicts)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", action="append", default=[],
                        help="NAME=RUN_DIR, repeatable (default: the shipped model)")
    parser.add_argument("--replicas", type=int, default=20)
    parser.add_argument("--fit-time", type=float, default=60.0)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()

    specs = [m.split("=", 1) for m in args.model] or [["shipped", None]]
    predictors = {name: load_predictor(path) for name, path in specs}
    rng = np.random.default_rng(args.seed)
    header = "| file [entry] | expert's fit: χ²ᵣ | " + " | ".join(
        f"{name}: real file · replicas in top 3 (exact)" for name in predictors) + " |"
    rows, records = [], []
    for sample in SAMPLES:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # repairs are reported by `sasnn predict`, not here
            curves = load_curves(example_data_path(sample.file))
        for curve in curves:
            if is_slit_smeared(curve) or curve.sigma is None:
                continue
            (fit,) = fit_candidates(curve, [sample.expert_pair], seed=args.seed, time_limit=args.fit_time)
            if not np.isfinite(fit.chi2_red):
                rows.append(f"| {sample.file} [{curve.entry}] | fit failed | " + " | " * len(predictors))
                continue
            copies = replicas(curve, fit.intensity, args.replicas, rng)
            record = {"file": sample.file, "entry": curve.entry, "expert_fit": fit.to_dict(), "models": {}}
            cells = []
            for name, predictor in predictors.items():
                (real,) = predictor.predict([curve], top_k=3)
                share = shares(predictor, sample, copies)
                record["models"][name] = {"real": grade(sample, real.candidates[:3]), **share}
                cells.append(f"{record['models'][name]['real']} · {100 * share['family_or_exact']:.0f} % "
                             f"({100 * share['exact']:.0f} %)")
            label = f"{sample.file}" + (f" [{curve.entry}]" if len(curves) > 1 else "")
            rows.append(f"| {label} | {fit.name}: {fit.chi2_red:.3g} | " + " | ".join(cells) + " |")
            records.append(record)
            print(rows[-1], flush=True)
    print("\n" + header + "\n|" + "---|" * (header.count("|") - 1) + "\n" + "\n".join(rows))
    if args.out:
        args.out.write_text(json.dumps(records, indent=1))


if __name__ == "__main__":
    main()
