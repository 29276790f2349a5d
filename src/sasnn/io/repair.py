"""Repairs :mod:`sasnn.io.read` applies to a curve as read, on plain arrays.

:func:`repair_curve` drops unusable points, sorts q, fills in missing uncertainties and
merges duplicate q values. It never warns or raises: it lists what it changed in
``meta["repairs"]`` and :mod:`sasnn.io.read` turns that into warnings (or refuses the curve
when too few points are left).
"""

from __future__ import annotations

import dataclasses

import numpy as np

from sasnn.io.curve import Curve

SIGMA_FALLBACK_FRACTION = 0.01  # σ = 1 % of I when a curve is too short to estimate σ from
SIGMA_WINDOW = 11  # points per local fit when σ is estimated from the data's scatter
SIGMA_FLOOR = 0.001  # estimated σ is at least 0.1 % of I: no SAS point is more precise


def repair_curve(curve: Curve) -> Curve:
    """Make a curve usable: positive finite points, increasing distinct q, positive σ.

    In order:

    1. ignore a ``dq`` column that cannot be a resolution (median dQ/Q ≥ 1);
    2. drop points with non-finite or non-positive q or I (log I must exist);
    3. sort by q;
    4. estimate missing, non-finite or non-positive σ (:func:`fix_sigma`);
    5. merge points of equal q (:func:`merge_duplicates`).

    Parameters
    ----------
    curve : Curve
        q, dq, dq_slit in Å⁻¹ (any order), intensity and sigma in the same unit.

    Returns
    -------
    Curve
        The repaired curve (possibly with fewer than 10 points: the caller decides).
        ``meta["repairs"]`` lists each change as a phrase, ``meta["sigma_estimated"]``
        counts the points whose σ was estimated.
    """
    names = ("q", "intensity", "sigma", "dq", "dq_slit")
    cols = {name: getattr(curve, name) for name in names}
    repairs: list[str] = []
    n_file = len(curve.q)

    q, dq = cols["q"], cols["dq"]
    if dq is not None:
        ok = np.isfinite(dq) & np.isfinite(q) & (q > 0)
        ratio = np.median(dq[ok] / q[ok]) if ok.any() else np.inf
        if not ratio < 1.0:  # a 1-sigma resolution is a fraction of q; this column is not
            repairs.append(f"ignored the dQ column: median dQ/Q = {ratio:.3g} is not a resolution")
            cols["dq"] = None

    q, intensity = cols["q"], cols["intensity"]
    good = np.isfinite(q) & np.isfinite(intensity) & (q > 0) & (intensity > 0)
    if not good.all():
        repairs.append(f"dropped {np.sum(~good)} of {n_file} points with non-finite or "
                       "non-positive q or I")
        cols = {k: None if a is None else a[good] for k, a in cols.items()}

    if np.any(np.diff(cols["q"]) < 0):
        repairs.append("sorted points by q")
        order = np.argsort(cols["q"], kind="stable")
        cols = {k: None if a is None else a[order] for k, a in cols.items()}

    n = len(cols["q"])
    cols["sigma"], n_estimated = fix_sigma(cols["intensity"], cols["sigma"], cols["q"])
    if n_estimated == n:
        how = (f"as {SIGMA_FALLBACK_FRACTION:.0%} of I (too few points to do better)"
               if n < SIGMA_WINDOW else
               f"from the scatter of the data about a smooth curve (RMS residual of a "
               f"cubic in log I vs log q over each {SIGMA_WINDOW} neighbouring points, "
               f"at least {SIGMA_FLOOR:.1%} of I); chi2 values rest on this estimate")
        repairs.append(f"the file gives no uncertainties: estimated sigma for all {n} points {how}")
    elif n_estimated:
        repairs.append(f"estimated sigma for {n_estimated} of {n} points without a usable "
                       "uncertainty, from the median relative error of the other points")

    if np.any(np.diff(cols["q"]) == 0):
        cols = merge_duplicates(**cols)
        repairs.append(f"merged {n - len(cols['q'])} points with duplicate q "
                       "(inverse-variance weighted mean)")

    meta = {**curve.meta, "repairs": repairs, "sigma_estimated": n_estimated,
            "n_points_file": n_file}
    return dataclasses.replace(curve, **cols, meta=meta)


def fix_sigma(intensity: np.ndarray, sigma: np.ndarray | None,
              q: np.ndarray | None = None) -> tuple[np.ndarray, int]:
    """Replace missing, non-finite or non-positive σ by an estimate.

    * Some points have a usable σ: the others get the median relative error σ/I of
      those, times their own I.
    * No point has one (counts or arbitrary units without errors): σ is estimated
      from the scatter of the data themselves (:func:`local_scatter_sigma`).

    Estimated σ set weights; χ² from such a curve is only as good as the estimate
    (``meta["sigma_estimated"]`` says how many points have one).

    Parameters
    ----------
    intensity : ndarray, shape (n,)
        I(q), positive.
    sigma : ndarray, shape (n,) or None
        Uncertainty of I as read.
    q : ndarray, shape (n,), optional
        Scattering vector (any unit), increasing; without it the local fits use the point
        index as abscissa, which suits evenly spaced q (linear or logarithmic).

    Returns
    -------
    sigma : ndarray, shape (n,)
        All finite and positive, in the unit of I.
    n_estimated : int
        How many points got an estimated σ.
    """
    intensity = np.asarray(intensity, dtype=float)
    if sigma is None:
        return local_scatter_sigma(intensity, q), len(intensity)
    bad = ~(np.isfinite(sigma) & (sigma > 0))
    if not bad.any():
        return sigma, 0
    if not (~bad).any():
        return local_scatter_sigma(intensity, q), len(intensity)
    relative = np.median(sigma[~bad] / intensity[~bad])
    sigma = np.where(bad, relative * intensity, sigma)
    return sigma, int(bad.sum())


def local_scatter_sigma(intensity: np.ndarray, q: np.ndarray | None = None, *,
                        window: int = SIGMA_WINDOW, floor: float = SIGMA_FLOOR) -> np.ndarray:
    """σ of each point from how much the data scatter about a smooth curve near it.

    The method: around every point, the ``window`` nearest points (shifted inwards at
    the ends) are fitted with a cubic in log I against log q (a smooth curve in
    log–log, where small-angle curves are gentle). The RMS residual of that fit, with
    the 4 fitted parameters taken off the degrees of freedom, is the relative error
    σ/I (the σ of ln I) there. The value a point gets is the median of the estimates of
    the ``window`` windows around it (one window's estimate scatters by ≈ 27 %), at
    least ``floor``; σ = that relative error × I.

    Measured on simulated polydisperse spheres with known Gaussian noise (3 % of I, or
    counting-like noise from 0.7 % to 67 %; tests/test_units.py): the median of
    estimate/truth lies within 0.75–1.33 and ≥ 80 % of points are within a factor 2.
    A sharp feature (a deep form-factor minimum, a Bragg peak) that a cubic over
    ``window`` points cannot follow raises σ near it; the median over windows damps
    that, and the ``floor`` keeps noiseless curves from getting σ = 0.

    Parameters
    ----------
    intensity : ndarray, shape (n,)
        I(q), positive, in any unit (counts, cm⁻¹).
    q : ndarray, shape (n,), optional
        Scattering vector, positive and increasing; None uses the point index.
    window : int
        Points per local fit (odd; at least 5).
    floor : float
        Smallest relative error returned (0.001: 0.1 % of I).

    Returns
    -------
    ndarray, shape (n,)
        σ in the unit of I. Fewer than ``window`` points: σ = SIGMA_FALLBACK_FRACTION · I.
    """
    intensity = np.asarray(intensity, dtype=float)
    n = len(intensity)
    if n < max(window, 5):
        return SIGMA_FALLBACK_FRACTION * intensity
    x = np.log(np.asarray(q, dtype=float)) if q is not None else np.arange(n, dtype=float)
    y = np.log(intensity)
    starts = np.clip(np.arange(n) - window // 2, 0, n - window)
    idx = starts[:, None] + np.arange(window)  # (n, window): the points of each local fit
    t = x[idx] - x[idx].mean(axis=1, keepdims=True)
    span = np.ptp(t, axis=1, keepdims=True)
    t = t / np.where(span > 0, span, 1.0)
    design = np.stack([np.ones_like(t), t, t**2, t**3], axis=-1)  # (n, window, 4)
    normal = design.transpose(0, 2, 1) @ design + 1e-12 * np.eye(4)  # ridge: repeated q
    coef = np.linalg.solve(normal, design.transpose(0, 2, 1) @ y[idx][..., None])
    residual = y[idx] - (design @ coef)[..., 0]
    per_window = np.sqrt(np.sum(residual**2, axis=1) / (window - 4))
    relative = np.maximum(np.median(per_window[idx], axis=1), floor)
    return relative * intensity


def merge_duplicates(q, intensity, sigma, dq=None, dq_slit=None) -> dict:
    """Merge points of equal q (q sorted, σ > 0).

    I becomes the inverse-variance weighted mean Σ(I/σ²)/Σ(1/σ²), σ becomes
    (Σ 1/σ²)^-½, and dq, dq_slit their plain mean.

    Returns
    -------
    dict
        Arrays ``q``, ``intensity``, ``sigma``, ``dq``, ``dq_slit`` (None stays None), one
        entry per distinct q.
    """
    unique, counts = np.unique(q, return_counts=True)
    groups = np.repeat(np.arange(len(unique)), counts)  # q is sorted: groups are runs
    w = 1.0 / sigma**2
    wsum = np.bincount(groups, w)

    def mean(a):
        return None if a is None else np.bincount(groups, a) / counts

    return {
        "q": unique,
        "intensity": np.bincount(groups, w * intensity) / wsum,
        "sigma": 1.0 / np.sqrt(wsum),
        "dq": mean(dq),
        "dq_slit": mean(dq_slit),
    }
