"""p(r) side by side: sasnn's Bayesian IFT against freesas' BIFT, on the same inputs.

Run from the repository root (2-core CPU; about half a minute for the SANS cases,
two minutes for the 36 lab-SAXS proteins)::

    python bench/bench_pr.py [--seeds 5] [--proteins 12]

(it sets SAS_OPENCL=none and OPENBLAS_NUM_THREADS=1 for both programs).

Inputs: the synthetic sphere, cylinder and core-shell curves of
:mod:`sasnn.pr.cases` (sasmodels with pinhole resolution and counting noise;
``--seeds`` noise realisations each) and the dev-set files conalbumin.txt and
apoferritin.txt read by :func:`sasnn.io.read.load_curves`.  Both programs get the same
q, I, σ points: those sasnn fitted, i.e. from the start of its automatic Guinier
window on (q in Å⁻¹, so freesas' r is in Å); sasnn also gets dq, which freesas
cannot use.  freesas runs as its ``free_bift`` command does:
``auto_bift(npt=100, scan_size=27)`` then ``monte_carlo_sampling(100, 2.0, 100)``
for the averages and errors.  apoferritin is run twice: as is, and from
q = 0.0225 Å⁻¹, the lowest q_min at which the evidence for Dmax levels off
(below it aggregates dominate and sasnn refuses: "Dmax is not resolved").
Times are wall-clock per curve, each program run once per curve after one
warm-up call.  Truth for the synthetic cases is exact
geometry (Rg, Dmax); "shape" is the L1 distance between the area-normalised
p(r) and the true one.  Prints a markdown table.

The second table is the protein bench: ``--proteins`` globular proteins of each
shape of :mod:`sasnn.pr.labsaxs` (ellipsoids, triaxial and core-shell ellipsoids,
Rg 12–40 Å, lab-source q range 0.01–0.6 Å⁻¹ with the noise rising steeply above
0.3 Å⁻¹, neighbouring bins correlated by pixel splitting, 2–8 % aggregates at
q_min; proteins from seed s (``--protein-seeds``, default 0), noise of curve k from
seed 1000 + k + 100 s), scored against
the true Dmax and Rg: the share of curves within 10 % (Dmax) and 2 % (Rg), the
median and worst relative error (a refusal counts as a miss), each program on the
points from sasnn's automatic Guinier start on (sasnn may start later, see
:func:`sasnn.pr.qrange.auto_start`).  The third
table is :func:`sasnn.pr.labsaxs.lysozyme_like` (Dmax 40 Å) with noise shared by 5
neighbouring bins (:func:`sasnn.pr.labsaxs.measure_rebinned`, seeds 0 … n − 1).
"""

from __future__ import annotations

import argparse
import logging
import os
import time
import warnings

os.environ.setdefault("SAS_OPENCL", "none")
# Both programs solve small (~100 × 100) linear algebra problems, where OpenBLAS
# threads only add overhead (and on a shared 2-core machine, a lot of it).
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import numpy as np  # noqa: E402

from sasnn.pr import cases as pr_cases  # noqa: E402
from sasnn.pr import labsaxs  # noqa: E402
from sasnn.pr.inversion import guinier, invert_pr  # noqa: E402


def freesas_bift(q, intensity, sigma):
    """freesas BIFT as ``free_bift`` runs it: (Rg Å, I0, Dmax Å, seconds)."""
    from freesas.bift import auto_bift

    start = time.perf_counter()
    bift = auto_bift(np.column_stack([q, intensity, sigma]), npt=100, scan_size=27)
    stats = bift.monte_carlo_sampling(100, 2.0, 100)
    seconds = time.perf_counter() - start
    return stats.Rg_avg, stats.I0_avg, stats.Dmax_avg, seconds


def ours(q, intensity, sigma, dq, **options):
    start = time.perf_counter()
    result = invert_pr(q, intensity, sigma, dq=dq, **options)
    return result, time.perf_counter() - start


def inputs(n_seeds: int):
    """(label, case or None, q, I, σ, dq, options) for every benchmark curve."""
    for case in pr_cases.CASES:
        for seed in range(n_seeds):
            yield (case.name, case, *pr_cases.measure(case, np.random.default_rng(seed)), {})
    from sasnn.io.read import example_data_path, load_curves

    for name, options in (("conalbumin", {}), ("apoferritin", {}),
                          ("apoferritin", {"q_min": 0.0225})):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # the reader's "dropped N points" notes
            (curve,) = load_curves(example_data_path(f"{name}.txt"))
        keep = curve.q >= options.get("q_min", 0.0)  # freesas gets the same range
        label = name + (f" (q ≥ {options['q_min']} Å⁻¹)" if options else "")
        yield (label, None, curve.q[keep], curve.intensity[keep], curve.sigma[keep],
               curve.dq[keep], {"q_min": None} if options else {})


def sans_table(n_seeds: int) -> None:
    """The SANS validation cases and the real files: per-input means and worst errors."""
    rows: dict[str, list] = {}
    for label, case, q, intensity, sigma, dq, options in inputs(n_seeds):
        result, t_ours = ours(q, intensity, sigma, dq, **options)
        used = (q >= result.q[0]) & (q <= result.q[-1])  # the points sasnn fitted
        rg_f, i0_f, dmax_f, t_f = freesas_bift(q[used], intensity[used], sigma[used])
        _, _, rg_true, _ = case.truth() if case else (None, None, np.nan, None)
        rows.setdefault(label, []).append(dict(
            rg=result.rg, rg_err=result.rg_err, i0=result.i0, dmax=result.d_max,
            dmax_err=result.d_max_err, t=t_ours, rg_f=rg_f, i0_f=i0_f, dmax_f=dmax_f, t_f=t_f,
            rg_true=rg_true, dmax_true=case.d_max if case else np.nan,
            shape=case.shape_error(result.r, result.p) if case else np.nan,
        ))
    print("| input | n | Rg sasnn (Å) | Rg freesas (Å) | Rg sasnn vs freesas (worst) "
          "| Rg vs truth, worst: sasnn / freesas | Dmax sasnn (Å) | Dmax freesas (Å) "
          "| Dmax vs truth, worst: sasnn / freesas | I(0) sasnn / freesas (cm⁻¹) "
          "| p(r) L1 shape error | t sasnn (s) | t freesas (s) | time ratio |")
    print("|" + "---|" * 14)
    for label, runs in rows.items():
        m = {key: np.mean([run[key] for run in runs]) for key in runs[0]}

        def worst(key, ref, runs=runs):
            values = [100 * (run[key] / run[ref] - 1) for run in runs]
            return "—" if np.isnan(values).any() else f"{max(values, key=abs):+.1f} %"

        print(
            f"| {label} | {len(runs)} | {m['rg']:.2f} ± {m['rg_err']:.2f} | {m['rg_f']:.2f} "
            f"| {worst('rg', 'rg_f')} | {worst('rg', 'rg_true')} / {worst('rg_f', 'rg_true')} "
            f"| {m['dmax']:.1f} ± {m['dmax_err']:.1f} | {m['dmax_f']:.1f} "
            f"| {worst('dmax', 'dmax_true')} / {worst('dmax_f', 'dmax_true')} "
            f"| {m['i0']:.4g} / {m['i0_f']:.4g} | "
            + ("—" if np.isnan(m["shape"]) else f"{m['shape']:.3f}")
            + f" | {m['t']:.2f} | {m['t_f']:.2f} | {m['t'] / m['t_f']:.2f} |"
        )
    everything = [r for runs in rows.values() for r in runs]
    t_ours, t_f = np.mean([r["t"] for r in everything]), np.mean([r["t_f"] for r in everything])
    ratio = np.median([r["t"] / r["t_f"] for r in everything])
    print(f"\nAll {len(everything)} curves: mean {t_ours:.2f} s per curve (sasnn) vs {t_f:.2f} s "
          f"(freesas BIFT + MC); median per-curve time ratio sasnn/freesas {ratio:.2f}.")




def both(q, intensity, sigma, dq):
    """(sasnn Rg, Dmax, seconds), (freesas Rg, Dmax, seconds); NaN where a program refused.

    freesas gets the points from the start of sasnn's automatic Guinier window on.
    """
    try:
        start = guinier(q, intensity, sigma).q_min
    except ValueError:
        start = 0.0
    try:
        result, t_ours = ours(q, intensity, sigma, dq)
        mine = (result.rg, result.d_max, t_ours)
    except ValueError:
        mine = (np.nan, np.nan, np.nan)
    used = q >= start
    try:
        rg_f, _, dmax_f, t_f = freesas_bift(q[used], intensity[used], sigma[used])
        theirs = (rg_f, dmax_f, t_f)
    except Exception:  # noqa: BLE001 — freesas raises its own types, and numpy ones
        theirs = (np.nan, np.nan, np.nan)
    return mine, theirs


def protein_table(n_per_shape: int, seed: int = 0) -> None:
    """Simulated lab-SAXS proteins: share within 10 % (Dmax) / 2 % (Rg), median and worst."""
    rows: dict[str, list] = {}
    for k, protein in enumerate(labsaxs.proteins(n_per_shape, seed=seed)):
        data = labsaxs.measure(protein, np.random.default_rng(1000 + k + 100 * seed))
        (rg, dmax, t_ours), (rg_f, dmax_f, t_f) = both(*data)
        shape = protein.label.rsplit(" ", 1)[0]
        rows.setdefault(shape, []).append(dict(
            dmax=dmax / protein.d_max - 1, dmax_f=dmax_f / protein.d_max - 1,
            rg=rg / protein.rg - 1, rg_f=rg_f / protein.rg - 1, t=t_ours, t_f=t_f))
    rows["all"] = [run for runs in list(rows.values()) for run in runs]
    print(f"\nProtein seed {seed}:\n")
    print("| proteins | n | Dmax within 10 %: sasnn / freesas | median abs. Dmax error "
          "| worst Dmax error | Rg within 2 %: sasnn / freesas | median abs. Rg error "
          "| refused: sasnn / freesas | t per curve (s): sasnn / freesas |")
    print("|" + "---|" * 9)
    for label, runs in rows.items():
        def col(key, runs=runs):  # a refusal counts as an infinite error
            return np.nan_to_num([run[key] for run in runs], nan=np.inf)

        def within(key, tol):
            return f"{np.mean(np.abs(col(key)) <= tol):.0%}"

        def worst(key):
            finite = col(key)[np.isfinite(col(key))]
            return f"{100 * max(finite, key=abs):+.0f} %" if finite.size else "—"

        def median(key, digits):
            return f"{100 * np.median(np.abs(col(key))):.{digits}f}"

        print(
            f"| {label} | {len(runs)} | {within('dmax', 0.10)} / {within('dmax_f', 0.10)} "
            f"| {median('dmax', 1)} / {median('dmax_f', 1)} % "
            f"| {worst('dmax')} / {worst('dmax_f')} "
            f"| {within('rg', 0.02)} / {within('rg_f', 0.02)} "
            f"| {median('rg', 2)} / {median('rg_f', 2)} % "
            f"| {np.sum(np.isinf(col('dmax')))} / {np.sum(np.isinf(col('dmax_f')))} "
            f"| {np.nanmean([r['t'] for r in runs]):.2f} / {np.nanmean([r['t_f'] for r in runs]):.2f} |"
        )


def rebinned_table(n_seeds: int) -> None:
    """The lysozyme-like ellipsoid with noise shared by 5 neighbouring bins, n_seeds draws."""
    protein = labsaxs.lysozyme_like()
    errors = []
    for seed in range(n_seeds):
        data = labsaxs.measure_rebinned(protein, np.random.default_rng(seed))
        (_, dmax, _), (_, dmax_f, _) = both(*data)
        errors.append((dmax / protein.d_max - 1, dmax_f / protein.d_max - 1))
    errors = np.nan_to_num(errors, nan=np.inf)
    print(f"\n| rebinned noise ({protein.label}, Dmax {protein.d_max:g} Å) | n "
          "| Dmax within 10 %: sasnn / freesas | median Dmax error | worst Dmax error |")
    print("|" + "---|" * 5)
    within = [f"{np.mean(np.abs(e) <= 0.1):.0%}" for e in errors.T]
    median = [f"{100 * np.median(e):+.1f}" for e in errors.T]
    worst = [f"{100 * max(e, key=abs):+.0f}" for e in errors.T]
    print(f"| 5 bins share their noise | {n_seeds} | {' / '.join(within)} "
          f"| {' / '.join(median)} % | {' / '.join(worst)} % |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seeds", type=int, default=5,
                        help="noise realisations per SANS case (0: only the real files)")
    parser.add_argument("--proteins", type=int, default=12,
                        help="simulated lab-SAXS proteins per shape (0: none)")
    parser.add_argument("--protein-seeds", type=int, nargs="+", default=[0],
                        help="seeds of the protein draws (noise of curve k: 1000 + k + 100 seed); "
                        "seed 0 is the set the method was developed on, others are held out")
    parser.add_argument("--rebinned", type=int, default=12,
                        help="seeds of the ellipsoid with noise shared by 5 bins (0: none)")
    args = parser.parse_args()
    logging.disable(logging.ERROR)  # freesas logs every Guinier attempt

    first = next(inputs(1))
    ours(*first[2:6]), freesas_bift(*first[2:5])  # warm-up: imports, caches
    sans_table(args.seeds)
    for seed in args.protein_seeds if args.proteins else ():
        protein_table(args.proteins, seed)
    if args.rebinned:
        rebinned_table(args.rebinned)


if __name__ == "__main__":
    main()
