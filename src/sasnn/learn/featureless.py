"""Does a curve show a feature in its window, or is it a power law plus background there?

A curve that is one straight line in log-log (plus a flat background) carries no size,
no shape and no spacing in its window: it has a right answer, but it is a generic model
(:data:`GENERIC_MODELS`) or "unsure: the window shows no size", not the class it was
simulated from. The wide generalisation bench (bench/bench_generalisation.py) scores such
curves apart from the others.

**The rule.** Fit I(q) ≈ A (q/q_ref)^-n + B (A > 0, B >= 0, -2 <= n <= 8, q_ref the
geometric mean of the window), smeared by the curve's own pinhole resolution dQ where it
has one (smearing bends a steep power law upward wherever dQ/Q is large, which is the
instrument, not the sample), by weighted least squares with the curve's own σ, over
(ln A, n, ln B), from a few starts. The curve is **featureless in its window** when
fewer than :data:`MIN_DEVIANT` (5) points deviate from the best fit by more than
:data:`DEVIATION` (3) σ. With Gaussian noise a featureless curve of 300 points has about
one such point (0.27 % each); a Guinier knee, a form-factor minimum or a Bragg peak
that stands out of the noise puts many in a row. A curve with fewer than
:data:`MIN_POINTS` usable points is featureless: there is nothing to see.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

MIN_DEVIANT = 5  # points beyond DEVIATION σ that make a feature
DEVIATION = 3.0  # σ
MIN_POINTS = 8  # fewer usable points: featureless
EXPONENT_BOUNDS = (-2.0, 8.0)
#: Classes that make no claim of size or shape in a power-law window: the right answer
#: for a featureless curve (with "unsure").
GENERIC_MODELS = ("power_law", "porod", "two_power_law", "guinier_porod", "unified_power_Rg",
                  "correlation_length")


@dataclass(frozen=True)
class FeatureTest:
    """The power-law-plus-background test of one curve."""

    featureless: bool
    n_deviant: int  # points more than DEVIATION σ from the best fit
    n_points: int  # usable points (finite, σ > 0)
    chi2_red: float  # χ² / (n - 3) of the best fit
    exponent: float  # n of the best fit
    background: float  # B of the best fit, in the curve's intensity unit


def _residuals(theta: np.ndarray, x_calc: np.ndarray, smear, intensity: np.ndarray,
               sigma: np.ndarray) -> np.ndarray:
    ln_a, n, ln_b = theta
    return (smear(np.exp(ln_a - n * x_calc)) + np.exp(ln_b) - intensity) / sigma


def _smearing(q: np.ndarray, dq: np.ndarray | None):
    """(q_calc, smear): where to evaluate the power law and how to smear it onto q."""
    if dq is None or not np.all(np.isfinite(dq)) or not np.any(dq > 0):
        return q, lambda values: values
    from sasmodels.resolution import Pinhole1D

    resolution = Pinhole1D(q, np.maximum(dq, 0.0))
    if not np.all(resolution.q_calc > 0):
        return q, lambda values: values
    return resolution.q_calc, resolution.apply


def feature_test(q: np.ndarray, intensity: np.ndarray, sigma: np.ndarray,
                 dq: np.ndarray | None = None) -> FeatureTest:
    """Apply the rule to one curve.

    Parameters
    ----------
    q : ndarray, shape (n,)
        Å⁻¹ (any positive unit: the rule is scale-free).
    intensity, sigma : ndarray, shape (n,)
        I(q) and its 1-σ uncertainty, same unit (cm⁻¹ or arbitrary); points with a
        non-finite value or σ <= 0 are left out.
    dq : ndarray, shape (n,), optional
        Pinhole resolution (Gaussian σ, Å⁻¹) the power law is smeared with; None: none.
    """
    from scipy.optimize import least_squares

    q, intensity, sigma = (np.asarray(a, dtype=float) for a in (q, intensity, sigma))
    if dq is not None and np.shape(dq) != q.shape:  # a curve without per-point resolution
        dq = None
    ok = np.isfinite(q) & np.isfinite(intensity) & np.isfinite(sigma) & (sigma > 0) & (q > 0)
    q, intensity, sigma = q[ok], intensity[ok], sigma[ok]
    dq = None if dq is None else np.asarray(dq, dtype=float)[ok]
    n_points = len(q)
    if n_points < MIN_POINTS or not np.any(intensity > 0):
        return FeatureTest(True, 0, n_points, float("nan"), float("nan"), float("nan"))
    log_ref = np.mean(np.log(q))
    x = np.log(q) - log_ref  # ln(q / q_ref)
    q_calc, smear = _smearing(q, dq)
    x_calc = np.log(q_calc) - log_ref
    top, bottom = float(intensity.max()), float(intensity[intensity > 0].min())
    b_bounds = (np.log(bottom * 1e-6), np.log(top))  # from negligible to the whole curve
    lower = [-np.inf, EXPONENT_BOUNDS[0], b_bounds[0]]
    upper = [np.inf, EXPONENT_BOUNDS[1], b_bounds[1]]
    best = None
    for start in _starts(x, intensity, b_bounds):
        try:
            fit = least_squares(_residuals, start, args=(x_calc, smear, intensity, sigma),
                                bounds=(lower, upper), method="trf", x_scale="jac", max_nfev=400)
        except ValueError:  # a start outside the bounds after clipping rounding
            continue
        if best is None or fit.cost < best.cost:
            best = fit
    r = best.fun
    deviant = int(np.sum(np.abs(r) > DEVIATION))
    chi2 = float(np.sum(r**2) / max(n_points - 3, 1))
    return FeatureTest(deviant < MIN_DEVIANT, deviant, n_points, chi2, float(best.x[1]),
                       float(np.exp(best.x[2])))


def _starts(x: np.ndarray, intensity: np.ndarray, b_bounds: tuple[float, float]) -> list[np.ndarray]:
    """Starting points: the log-log line through the first half of the positive points,
    with a background at the curve's tail level and with almost none; and a flat curve."""
    positive = intensity > 0
    xp, lp = x[positive], np.log(intensity[positive])
    half = max(len(xp) // 2, 2)
    slope, intercept = np.polyfit(xp[:half], lp[:half], 1) if len(xp) >= 2 else (0.0, lp[0])
    n0 = float(np.clip(-slope, EXPONENT_BOUNDS[0] + 0.01, EXPONENT_BOUNDS[1] - 0.01))
    tail = float(np.median(intensity[-max(len(intensity) // 10, 1):]))
    clip = lambda v: float(np.clip(v, b_bounds[0] + 1e-9, b_bounds[1] - 1e-9))  # noqa: E731
    starts = [np.array([intercept, n0, clip(np.log(max(tail, 1e-300)))]),
              np.array([intercept, n0, clip(b_bounds[0] + 1.0)]),
              np.array([float(np.log(max(np.median(intensity), 1e-300))), 0.0, clip(b_bounds[0] + 1.0)])]
    return starts


def featureless_reason(test: FeatureTest) -> str:
    """The "unsure" reason for a curve :func:`feature_test` finds featureless."""
    if not np.isfinite(test.exponent):
        return (f"the window shows no size: {test.n_points} usable points are too few to see a "
                "feature; a generic model (power_law, porod, ...) is all the data support")
    return (f"the window shows no size: a power law (q^{-test.exponent:.2f}) plus a flat background "
            f"fits all but {test.n_deviant} of {test.n_points} points within {DEVIATION:g}σ, so the "
            "data support a generic model (power_law, porod, ...), not a particle shape; "
            "a size needs data where the curve bends (lower q for large particles)")


__all__ = ["DEVIATION", "GENERIC_MODELS", "MIN_DEVIANT", "FeatureTest", "featureless_reason",
           "feature_test"]
