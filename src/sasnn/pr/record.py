"""The JSON object of one inversion, as ``sasnn pr --json`` prints it and the web page shows it."""

from __future__ import annotations

from sasnn.io.curve import Curve
from sasnn.pr.inversion import PrResult


def pr_record(curve: Curve, result: PrResult, plot: str | None = None) -> dict:
    """Rg, I(0), Dmax with errors, the Guinier fit, warnings and p(r) of ``curve``'s inversion."""
    g = result.guinier
    return {
        "file": curve.source,
        "entry": curve.entry,
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
        "warnings": list(result.warnings),
        "plot": plot,
        "r": result.r.tolist(), "p": result.p.tolist(), "p_sigma": result.p_sigma.tolist(),
    }


__all__ = ["pr_record"]
