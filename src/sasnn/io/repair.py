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

SIGMA_FALLBACK_FRACTION = 0.01  # σ = 1 % of I when a curve has no usable σ at all


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
    cols["sigma"], n_estimated = fix_sigma(cols["intensity"], cols["sigma"])
    if n_estimated:
        how = (f"as {SIGMA_FALLBACK_FRACTION:.0%} of I" if n_estimated == n
               else "from the median relative error of the other points")
        repairs.append(f"estimated sigma for {n_estimated} of {n} points without a usable "
                       f"uncertainty, {how}")

    if np.any(np.diff(cols["q"]) == 0):
        cols = merge_duplicates(**cols)
        repairs.append(f"merged {n - len(cols['q'])} points with duplicate q "
                       "(inverse-variance weighted mean)")

    meta = {**curve.meta, "repairs": repairs, "sigma_estimated": n_estimated,
            "n_points_file": n_file}
    return dataclasses.replace(curve, **cols, meta=meta)


def fix_sigma(intensity: np.ndarray, sigma: np.ndarray | None) -> tuple[np.ndarray, int]:
    """Replace missing, non-finite or non-positive σ by an estimate.

    Points with a bad σ get the median relative error σ/I of the points with a good one,
    times their own I. When no point has a usable σ, σ = SIGMA_FALLBACK_FRACTION · I:
    constant relative weights, as in a fit of log I. Estimated σ only set weights, so χ²
    from such a curve is not absolute (``meta["sigma_estimated"]`` says so).

    Parameters
    ----------
    intensity : ndarray, shape (n,)
        I(q), positive.
    sigma : ndarray, shape (n,) or None
        Uncertainty of I as read.

    Returns
    -------
    sigma : ndarray, shape (n,)
        All finite and positive.
    n_estimated : int
        How many points got an estimated σ.
    """
    if sigma is None:
        return SIGMA_FALLBACK_FRACTION * intensity, len(intensity)
    bad = ~(np.isfinite(sigma) & (sigma > 0))
    if not bad.any():
        return sigma, 0
    relative = np.median(sigma[~bad] / intensity[~bad]) if (~bad).any() else SIGMA_FALLBACK_FRACTION
    sigma = np.where(bad, relative * intensity, sigma)
    return sigma, int(bad.sum())


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
