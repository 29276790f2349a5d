"""A P85-like temperature x concentration series whose true phases are known: how many
points does `sasnn series` put in the right phase?

    python bench/bench_series.py --out runs/series_p85 [--seed 0] \\
        [--png docs/phase_map_p85_simulated.png]

1. Builds the series from the catalogue (seeded): Pluronic P85 in D2O at temperatures
   T and concentrations c (wt %), with a critical micelle temperature falling with c,
   CMT(c) = 34 - 0.5 c °C (Mortensen & Pedersen 1993 put P85's CMT at 20-30 °C over 5-30 %):
   * T < CMT: unimers, Gaussian coils (mono_gauss_coil, Rg ≈ 22 Å);
   * T >= CMT: micelles with a hard-sphere S(Q), core radius and volume fraction growing
     with T and c (φ = 0.012 c (1 + (T - CMT)/60), at most 0.42). The catalogue's
     polymer_micelle takes no S(Q) (sasmodels gives it no effective radius), so the micelle
     is a core_shell_sphere: a PPO core of 42-52 Å and a hydrated PEO corona of ~30 Å;
   * c >= 30 % and T >= CMT + 12 °C: micelles packed on a bcc lattice (bcc_paracrystal).
   Each point's parameters are the catalogue prior draw (out of 500) nearest to its
   targets, so every curve lies inside what the classifier was trained on; the curves
   are measured on one instrument set-up (one series, one beamtime) with the catalogue's
   noise model and written as 4-column ASCII, with OUT/series.csv mapping them to (T, c).
2. Runs the series as `sasnn series --table OUT/series.csv` does
   (:func:`sasnn.identify.series.run_series`, shipped model) and scores each point's phase
   against the truth: exact (family + structure factor, or "ordered"), and by regime
   (chains / particles / ordered: the structure factor of dilute micelles is barely
   visible, so "spheres" without S(Q) is the right regime but not the right phase).

Writes OUT/results.json, OUT/phase_map.png (or --png) and prints a markdown table.
"""

from __future__ import annotations

import argparse
import json
import math
from collections import Counter
from pathlib import Path

import numpy as np

from sasnn.identify.series import ORDERED, phase_of, run_series
from sasnn.io.curve import Curve
from sasnn.io.read import write_curve
from sasnn.plots.phase_map import plot_phase_map
from sasnn.simulate import instrument
from sasnn.simulate.catalog import CATALOG
from sasnn.simulate.kernels import model_intensity
from sasnn.simulate.sampling import sample_parameters

TEMPERATURES = (10, 20, 30, 40, 50, 60)  # °C
CONCENTRATIONS = (5, 10, 15, 20, 25, 30, 35, 40)  # wt %
N_DRAWS = 500  # prior draws per point; the one nearest the targets is kept


def cmt(c: float) -> float:
    """Critical micelle temperature (°C) at concentration c (wt %)."""
    return 34.0 - 0.5 * c


def truth(t: float, c: float) -> tuple[str, str | None, dict[str, float]]:
    """(model, structure factor, parameter targets) of the P85-like sample at (T, c)."""
    above = t - cmt(c)
    if above < 0:
        return "mono_gauss_coil", None, {"rg": 22.0}
    if c >= 30 and above >= 12:
        dnn = 170.0 - 1.5 * (c - 30)  # Å: denser packing at higher c
        return "bcc_paracrystal", None, {"dnn": dnn, "radius": 0.38 * dnn, "d_factor": 0.1}
    phi = min(0.42, 0.012 * c * (1 + above / 60))
    return "core_shell_sphere", "hardsphere", {"radius": 42.0 + 0.25 * above, "thickness": 30.0,
                                                "volfraction": phi}


def regime(phase: str) -> str:
    if phase == ORDERED:
        return ORDERED
    return "chains" if phase.startswith("polymer chains") else "particles"


def nearest_draw(model: str, sf: str | None, targets: dict, rng: np.random.Generator) -> dict:
    """The prior draw (of N_DRAWS) closest to ``targets`` in log space."""
    best, best_d = None, math.inf
    for _ in range(N_DRAWS):
        params = sample_parameters(CATALOG[model], rng, structure_factor=sf)
        d = sum(math.log(params[k] / v) ** 2 for k, v in targets.items())
        if d < best_d:
            best, best_d = params, d
    return best


def build_series(folder: Path, seed: int) -> tuple[list[Path], list[dict], list[str], str]:
    """Write the curves and series.csv into ``folder``; return (files, conditions, true phases,
    the instrument set-up)."""
    folder.mkdir(parents=True, exist_ok=True)
    inst = instrument.InstrumentConfig()
    g = instrument.draw_setup(inst, np.random.default_rng([seed, 0]))  # one set-up for the series
    resolution = instrument.resolution_for(g.setup, g.variant, inst.grid_seed)
    files, conditions, phases, rows = [], [], [], ["file,temperature (°C),concentration (wt %)"]
    for i, (t, c) in enumerate((t, c) for c in CONCENTRATIONS for t in TEMPERATURES):
        rng = np.random.default_rng([seed, 1, i])
        model, sf, targets = truth(t, c)
        params = nearest_draw(model, sf, targets, rng)
        clean = model_intensity(model, sf, params, resolution)
        measured = None
        while measured is None:  # a curve too faint for this background: draw the next
            measured = instrument.measure(clean, g, inst, rng)
        name = f"p85_T{t}_c{c}.txt"
        curve = Curve(g.q, measured.intensity, measured.sigma, g.dq, source=name)
        write_curve(folder / name, curve, overwrite=True)
        files.append(folder / name)
        conditions.append({"temperature (°C)": t, "concentration (wt %)": c})
        phases.append(phase_of(model, sf))
        rows.append(f"{name},{t},{c}")
    (folder / "series.csv").write_text("\n".join(rows) + "\n")
    return files, conditions, phases, f"{g.setup} (q {g.q[0]:.3g}-{g.q[-1]:.3g} Å⁻¹)"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--png", type=Path, default=None)
    parser.add_argument("--model", default=None, help="model folder (default: the shipped model)")
    args = parser.parse_args()

    files, conditions, true_phases, setup = build_series(args.out / "curves", args.seed)
    series = run_series(files, {k: [c[k] for c in conditions] for k in conditions[0]},
                        model=args.model)
    png = args.png or args.out / "phase_map.png"
    plot_phase_map(series, png, truth=true_phases,
                   title="P85-like series simulated from the catalogue (shipped model)")
    got = [p.phase for p in series.points]
    exact = sum(g == t for g, t in zip(got, true_phases, strict=True))
    by_regime = sum(regime(g) == regime(t) for g, t in zip(got, true_phases, strict=True))
    per_truth = {}
    for t in sorted(set(true_phases)):
        idx = [i for i, x in enumerate(true_phases) if x == t]
        per_truth[t] = {"n": len(idx), "right": sum(got[i] == t for i in idx),
                        "right_regime": sum(regime(got[i]) == regime(t) for i in idx),
                        "answers": dict(Counter(got[i] for i in idx).most_common()),
                        "unsure": sum(series.points[i].unsure for i in idx)}
    results = {"seed": args.seed, "setup": setup, "n": len(got), "right_phase": exact,
               "right_regime": by_regime,
               "per_true_phase": per_truth, "png": str(png),
               "points": [dict(p.to_dict(), true_phase=t) for p, t in zip(series.points, true_phases,
                                                                         strict=True)]}
    (args.out / "results.json").write_text(json.dumps(results, indent=1))
    print(f"seed {args.seed}, set-up {setup}: {exact} of {len(got)} points in the right phase, "
          f"{by_regime} in the right regime")
    print("| true phase | points | right phase | right regime | unsure | answers |")
    print("|---|---|---|---|---|---|")
    for t, r in per_truth.items():
        answers = ", ".join(f"{k} {v}" for k, v in r["answers"].items())
        print(f"| {t} | {r['n']} | {r['right']} | {r['right_regime']} | {r['unsure']} | {answers} |")
    print(f"| all | {len(got)} | {exact} | {by_regime} | {sum(p.unsure for p in series.points)} | |")


if __name__ == "__main__":
    main()
