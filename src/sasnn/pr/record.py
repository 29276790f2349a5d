"""The JSON object of one inversion, as ``sasnn pr --json`` prints it and the web page shows it."""

from __future__ import annotations

from sasnn.io.curve import Curve
from sasnn.pr.inversion import PrResult

RG_MIN_PLAUSIBLE = 3.0  # Å: no particle seen by small-angle scattering is smaller
DMAX_MIN_PLAUSIBLE = 10.0  # Å: about the largest distance in a small molecule


def implausible(curve: Curve, result: PrResult) -> list[str]:
    """Warnings for sizes no particle has: most often q read in the wrong unit."""
    unit = curve.meta.get("q_unit", "1/A")
    how = {"header": "its header", "metadata": "its metadata", "format": "its format",
           "override": "--q-units", "inferred": "its numbers"}.get(curve.meta.get("q_unit_source"), "")
    other = "A" if unit == "1/nm" else "nm"
    check = (f"q was read as {unit}" + (f" from {how}" if how else "")
             + f"; if it is not, rerun with --q-units {other}")
    notes = []
    if result.rg < RG_MIN_PLAUSIBLE:
        notes.append(f"Rg = {result.rg:.2g} Å is physically implausible (< {RG_MIN_PLAUSIBLE:g} Å); {check}")
    if result.d_max < DMAX_MIN_PLAUSIBLE:
        notes.append(f"Dmax = {result.d_max:.2g} Å is physically implausible "
                     f"(< {DMAX_MIN_PLAUSIBLE:g} Å); {check}")
    return notes


def pr_record(curve: Curve, result: PrResult, plot: str | None = None) -> dict:
    """Rg, I(0), Dmax with errors, the Guinier fit, warnings and p(r) of ``curve``'s inversion."""
    g = result.guinier
    return {
        "file": curve.source,
        "entry": curve.entry,
        "q_units_read": curve.meta.get("q_unit"),
        "rg": result.rg, "rg_err": result.rg_err,
        "i0": result.i0, "i0_err": result.i0_err,
        "dmax": result.d_max, "dmax_err": result.d_max_err,
        "alpha": result.alpha, "chi2": result.chi2, "n_good": result.n_good,
        "background": result.background, "smeared": result.smeared,
        "q_min": float(result.q[0]), "q_max": float(result.q[-1]), "n_points": int(result.q.size),
        "guinier": None if g is None else {
            "rg": g.rg, "rg_err": g.rg_err, "i0": g.i0, "i0_err": g.i0_err,
            "q_min": g.q_min, "q_max": g.q_max, "n_points": g.n_points, "chi2": g.chi2,
        },
        "warnings": [*result.warnings, *implausible(curve, result)],
        "plot": plot,
        "r": result.r.tolist(), "p": result.p.tolist(), "p_sigma": result.p_sigma.tolist(),
    }


__all__ = ["DMAX_MIN_PLAUSIBLE", "RG_MIN_PLAUSIBLE", "implausible", "pr_record"]
