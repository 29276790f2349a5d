"""Guinier radius of gyration, with its q range chosen automatically.

I(q) ≈ I(0) exp(−q² Rg² / 3) for q Rg ≲ 1.3 (Guinier 1939; the 1.3 limit for
globular particles as in Putnam et al. 2007).  A weighted straight-line fit of
ln I against q² gives Rg and I(0).  The window is chosen self-consistently: for
each start point, the end point is the last q with q Rg <= ``qrg_max`` for the
Rg of the current window, iterated until the window is stable; a window that
runs into the end of the data is refused (a nearly flat tail, e.g. a background,
is not a Guinier region).  Starts with
q_min Rg > 0.65 are not considered (the extrapolation to q = 0 would be too long).
The earliest start wins whose window passes two tests: the straight line fits
(χ² p-value >= 0.01), and its first ``N_LEADING`` points lie on the line fitted
to the rest of the window (|Σz|/√3 < 2).  The second test is what detects a
low-q upturn from aggregates or a beamstop shadow, whose points have large
errors and so barely move χ².  When no start passes, the lowest reduced χ² wins.

References
----------
Guinier, A. (1939). Ann. Phys. 12, 161–237.
Putnam, C. D., Hammel, M., Hura, G. L. & Tainer, J. A. (2007). Q. Rev. Biophys. 40, 191–285.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.stats

MIN_POINTS = 10  # usable points below which neither Guinier nor p(r) is attempted
MIN_GUINIER_POINTS = 5
QRG_MIN_START = 0.65  # windows must start at q·Rg below this
N_LEADING = 3  # first window points that must lie on the line fitted to the rest


@dataclass(frozen=True)
class GuinierResult:
    """Result of :func:`guinier`.

    Attributes
    ----------
    rg, rg_err : float
        Radius of gyration and its one-σ error in Å (scaled by √χ²_red when > 1).
    i0, i0_err : float
        Forward intensity and its error in the unit of I (cm⁻¹).
    q_min, q_max : float
        The fitted q window in Å⁻¹.
    n_points : int
        Points in the window.
    chi2 : float
        Reduced χ² of the straight-line fit.
    """

    rg: float
    rg_err: float
    i0: float
    i0_err: float
    q_min: float
    q_max: float
    n_points: int
    chi2: float


def check_curve(q, intensity, sigma, dq=None):
    """Validate and clean arrays for Guinier and p(r) analysis.

    Non-finite values, q <= 0 and sigma <= 0 are dropped (a point without a
    positive error carries no weight); negative intensities are kept, since after
    background subtraction they are honest noise.  Points are sorted by q.

    Parameters
    ----------
    q, intensity, sigma : array_like, shape (n,)
        q in Å⁻¹, I and its one-σ error in cm⁻¹.
    dq : array_like, shape (n,), optional
        Resolution (one σ) in Å⁻¹.

    Returns
    -------
    q, intensity, sigma, dq : ndarray, shape (m,)
        The usable points; ``dq`` stays None when not given.

    Raises
    ------
    ValueError
        Missing sigma, mismatched shapes, fewer than ``MIN_POINTS`` usable points,
        or fewer than ``MIN_POINTS`` points with I > 2σ (no measurable signal).
    """
    if sigma is None:
        raise ValueError(
            "intensity errors (sigma) are required for Guinier and p(r) analysis; "
            "the file has none"
        )
    arrays = [np.asarray(a, float) for a in (q, intensity, sigma)]
    if dq is not None:
        arrays.append(np.asarray(dq, float))
    shapes = {a.shape for a in arrays}
    if len(shapes) != 1 or arrays[0].ndim != 1:
        raise ValueError(f"q, intensity, sigma (and dq) must be 1-D of one length, got {shapes}")
    ok = np.all([np.isfinite(a) for a in arrays], axis=0) & (arrays[0] > 0) & (arrays[2] > 0)
    if dq is not None:
        ok &= arrays[3] >= 0
    order = np.argsort(arrays[0][ok], kind="stable")
    arrays = [a[ok][order] for a in arrays]
    n = arrays[0].size
    if n < MIN_POINTS:
        raise ValueError(
            f"only {n} usable points (finite, q > 0, sigma > 0); need at least {MIN_POINTS}"
        )
    n_signal = int(np.sum(arrays[1] > 2 * arrays[2]))
    if n_signal < MIN_POINTS:
        what = "all intensities are <= 0" if np.all(arrays[1] <= 0) else (
            f"only {n_signal} points have I > 2σ"
        )
        raise ValueError(
            f"{what}: no measurable scattering signal (need at least {MIN_POINTS} points "
            "with I > 2σ); check the file and its background subtraction"
        )
    if dq is None:
        arrays.append(None)
    return tuple(arrays)


def _fit_window(q2, log_i, w):
    """Weighted line ln I = a + b q²: (a, b, covariance (2, 2), χ²)."""
    design = np.column_stack([np.ones_like(q2), q2]) * w[:, None]
    coef, *_ = np.linalg.lstsq(design, log_i * w, rcond=None)
    cov = np.linalg.inv(design.T @ design)
    chi2 = float(((design @ coef - log_i * w) ** 2).sum())
    return coef, cov, chi2


def _self_consistent(q, log_i, w, start, qrg_max):
    """Grow/shrink the window from ``start`` until q_max Rg <= qrg_max is stable."""
    end = start + MIN_GUINIER_POINTS
    for _ in range(50):
        coef, cov, chi2 = _fit_window(q[start:end] ** 2, log_i[start:end], w[start:end])
        if coef[1] >= 0:
            return None
        rg = np.sqrt(-3 * coef[1])
        new_end = int(np.searchsorted(q, qrg_max / rg, side="right"))
        if new_end - start < MIN_GUINIER_POINTS or new_end == q.size:
            return None  # too short, or the data end before q Rg reaches qrg_max
        if new_end == end:
            return coef, cov, chi2, end
        end = new_end
    return None


def _leading_z(q, log_i, w, start, end) -> float:
    """Summed z of the first N_LEADING window points, predicted from the rest of the window."""
    head, tail = slice(start, start + N_LEADING), slice(start + N_LEADING, end)
    coef, cov, _ = _fit_window(q[tail] ** 2, log_i[tail], w[tail])
    design = np.column_stack([np.ones(N_LEADING), q[head] ** 2])
    variance = 1.0 / w[head] ** 2 + np.einsum("ij,jk,ik->i", design, cov, design)
    return float(((log_i[head] - design @ coef) / np.sqrt(variance)).sum() / np.sqrt(N_LEADING))


def guinier(q, intensity, sigma, *, qrg_max: float = 1.3) -> GuinierResult:
    """Guinier fit ln I = ln I(0) − q² Rg²/3 with an automatic q window.

    Parameters
    ----------
    q : array_like, shape (n,)
        Scattering vector in Å⁻¹.
    intensity, sigma : array_like, shape (n,)
        I(q) and its one-σ errors in cm⁻¹.
    qrg_max : float
        Upper limit of q Rg in the window (1.3 for globular particles).

    Returns
    -------
    GuinierResult

    Raises
    ------
    ValueError
        Bad input (see :func:`check_curve`) or no acceptable window.
    """
    q, intensity, sigma, _ = check_curve(q, intensity, sigma)
    positive = intensity > 0
    q, intensity, sigma = q[positive], intensity[positive], sigma[positive]
    log_i, w = np.log(intensity), intensity / sigma  # σ(ln I) = σ/I
    accepted = fallback = None
    for start in range(q.size // 2):
        found = _self_consistent(q, log_i, w, start, qrg_max)
        if found is None:
            continue
        coef, cov, chi2, end = found
        if q[start] * np.sqrt(-3 * coef[1]) > QRG_MIN_START:
            continue
        dof = end - start - 2
        candidate = (start, end, coef, cov, chi2 / dof)
        leading_ok = end - start < N_LEADING + 3 or abs(_leading_z(q, log_i, w, start, end)) < 2
        if leading_ok and scipy.stats.chi2.sf(chi2, dof) >= 0.01:
            accepted = candidate
            break
        if fallback is None or candidate[4] < fallback[4]:
            fallback = candidate
    candidate = accepted or fallback
    if candidate is None:
        raise ValueError(
            f"no Guinier region: no window of >= {MIN_GUINIER_POINTS} points with ln I "
            f"decreasing linearly in q² up to q·Rg = {qrg_max:g} and starting below "
            f"q·Rg = {QRG_MIN_START:g} (data start at q = {q[0]:.4g} Å⁻¹)"
        )
    start, end, coef, cov, chi2_red = candidate
    scale = np.sqrt(max(1.0, chi2_red))
    rg, i0 = np.sqrt(-3 * coef[1]), np.exp(coef[0])
    return GuinierResult(
        rg=float(rg),
        rg_err=float(1.5 * np.sqrt(cov[1, 1]) / rg * scale),
        i0=float(i0),
        i0_err=float(i0 * np.sqrt(cov[0, 0]) * scale),
        q_min=float(q[start]),
        q_max=float(q[end - 1]),
        n_points=end - start,
        chi2=float(chi2_red),
    )
