"""Per-class kernel cost and invalid-curve rate of the catalogue at its priors.

Run:  SAS_OPENCL=none python bench/experiments/catalog_cost.py [--q-points 300] [--q-max 0.5] [--sf]

For each class, draws parameter sets with ``sample_parameters`` (seed 0), evaluates
``model_intensity`` on a log grid of q (Perfect1D, default 0.001-0.5 Å⁻¹, 300 points)
and reports the median and mean time per curve and the share of invalid curves: any
non-finite value or any I < 0 ("bad"), and separately any exact zero ("zero":
underflow far from a peak or a Guinier knee, harmless once a background is added).
Tabulated classes (``ModelClass.tabulate``) pay a one-off table build per process
and shape, reported separately ("build s", estimated from the first 3 shapes) and
then cost microseconds per curve. Pinhole smearing evaluates on ``q_calc``, typically
1.3-1.5x the q points, which scales the direct (not the tabulated) costs.
"""

from __future__ import annotations

import argparse
import math
import time

import numpy as np
from sasmodels.resolution import Perfect1D

from sasnn.simulate import kernels as simulate
from sasnn.simulate.catalog import CATALOG, STRUCTURE_FACTORS
from sasnn.simulate.sampling import sample_parameters
from sasnn.simulate.validate import validate_catalog


def n_shapes(name: str) -> int:
    tab = CATALOG[name].tabulate
    return math.prod(p.steps for k, p in CATALOG[name].priors.items() if k != tab.length)


def measure(name, sf, q, seconds, max_draws, rng):
    res = Perfect1D(q)
    tabulated = sf is None and CATALOG[name].tabulate is not None
    times, builds, bad, zero, n = [], [], 0, 0, 0
    start = time.perf_counter()
    while n < max_draws and (n < 5 or time.perf_counter() - start < seconds):
        params = sample_parameters(CATALOG[name], rng, structure_factor=sf)
        tables = len(simulate._TABLES)
        t = time.perf_counter()
        intensity = simulate.model_intensity(name, sf, params, res)
        dt = time.perf_counter() - t
        if tabulated and len(simulate._TABLES) > tables:
            builds.append(dt)
            if len(builds) >= 3:  # enough to estimate the build; hits are measured below
                break
        else:
            times.append(dt)
        n += 1
        if not np.all(np.isfinite(intensity)) or np.any(intensity < 0):
            bad += 1
        elif np.any(intensity == 0):
            zero += 1
    if tabulated:  # per-curve cost once the shape's table exists
        for _ in range(20):
            t = time.perf_counter()
            simulate.model_intensity(name, sf, params, res)
            times.append(time.perf_counter() - t)
    build = float(np.mean(builds)) * n_shapes(name) if builds else 0.0
    times = times or [float("nan")]
    return (1e3 * float(np.median(times)), 1e3 * float(np.mean(times)), n, bad / n, zero / n,
            build)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--q-points", type=int, default=300)
    parser.add_argument("--q-min", type=float, default=1e-3)
    parser.add_argument("--q-max", type=float, default=0.5)
    parser.add_argument("--seconds", type=float, default=1.0)
    parser.add_argument("--max-draws", type=int, default=200)
    parser.add_argument("--classes", default="")
    parser.add_argument("--sf", action="store_true", help="also every P@S pair")
    args = parser.parse_args()
    validate_catalog()
    q = np.geomspace(args.q_min, args.q_max, args.q_points)
    names = args.classes.split(",") if args.classes else list(CATALOG)
    pairs = [(n, None) for n in names]
    if args.sf:
        pairs += [(n, s) for n in names if CATALOG[n].structure_factor for s in STRUCTURE_FACTORS]
    simulate.compile_kernels(pairs)
    rows = []
    for name, sf in pairs:
        rng = np.random.default_rng(0)
        rows.append((simulate.model_name(name, sf),
                     *measure(name, sf, q, args.seconds, args.max_draws, rng)))
    rows.sort(key=lambda r: -(r[2] if np.isfinite(r[2]) else 0))
    print(f"{'class':48s} {'median ms':>9s} {'mean ms':>8s} {'n':>4s} {'bad':>6s} {'zero':>6s}"
          f" {'build s':>8s}")
    for r in rows:
        print(f"{r[0]:48s} {r[1]:9.2f} {r[2]:8.2f} {r[3]:4d} {r[4]:6.1%} {r[5]:6.1%} {r[6]:8.1f}")
    single = [r for r in rows if "@" not in r[0]]
    per_curve = sum(r[2] for r in single)
    build = sum(r[6] for r in single)
    minutes = (per_curve * 2000 / 2 / 1e3 + build) / 60
    print(f"{len(single)} classes: sum of mean ms/curve {per_curve:.0f} ms, table builds "
          f"{build:.0f} s per process -> 2000 curves/class on 2 cores ≈ {minutes:.1f} min "
          f"(kernel only, {args.q_points} q in {args.q_min}-{args.q_max} 1/Å)")


if __name__ == "__main__":
    main()
