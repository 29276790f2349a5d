"""The BIFT posterior at one Dmax: decomposition, evidence, solution, grid-point statistics.

:mod:`sasnn.pr.inversion` writes out the problem and uses these pieces to scan the
(α, Dmax) grid.  Everything that depends on Dmax only is computed once in
:func:`decompose` (the transform matrix and one generalised eigendecomposition),
after which the evidence, the solution and its covariance at any α cost O(N) or
O(N²).  Units: q in Å⁻¹, r and Dmax in Å, I in cm⁻¹, p(r) in cm⁻¹ Å⁻¹.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.linalg

from sasnn.pr.physics import sinc_kernel


@dataclass(frozen=True)
class Decomposition:
    """What depends on Dmax only; the α axis then costs O(N)."""

    d_max: float
    kernel: np.ndarray  # (n_q, N): I = kernel @ p (+ b)
    vectors: np.ndarray  # (N, N): generalised eigenvectors, Vᵀ C V = 1
    eigenvalues: np.ndarray  # (N,)
    projection: np.ndarray  # (N,): y = Vᵀ Kᵀ W I, background projected out
    chi2_zero: float  # c₀ = IᵀWI, background projected out
    alpha_scale: float  # tr(B) / tr(C)
    background: bool

    def radii(self) -> np.ndarray:
        """r (Å) from 0 to Dmax inclusive, shape (N + 2,)."""
        n = self.eigenvalues.size
        return self.d_max * np.arange(n + 2) / (n + 1)

    def log_evidence(self, alpha: np.ndarray) -> np.ndarray:
        """log P(data | α, Dmax) up to a constant, for an array of dimensionless α."""
        a = np.multiply.outer(alpha, self.alpha_scale)[..., None]
        lam, y2 = self.eigenvalues, self.projection**2
        return -0.5 * (self.chi2_zero - (y2 / (lam + a)).sum(-1)) - 0.5 * np.log1p(lam / a).sum(-1)

    def solve(self, alpha: float) -> tuple[np.ndarray, np.ndarray]:
        """p (N,) at one α, and 1/(λ + α') (N,): cov(p) = V diag(1/(λ + α')) Vᵀ."""
        inv = 1.0 / (self.eigenvalues + alpha * self.alpha_scale)
        return self.vectors @ (inv * self.projection), inv

    def variance(self, inv: np.ndarray, grad: np.ndarray) -> float:
        """Posterior variance of the linear functional grad @ p."""
        return float(((grad @ self.vectors) ** 2 * inv).sum())

    def n_good(self, alpha: float) -> float:
        """Number of good parameters Σ λ/(λ + α')."""
        lam = self.eigenvalues
        return float((lam / (lam + alpha * self.alpha_scale)).sum())


def smoothness_matrix(n_r: int) -> np.ndarray:
    """C = LᵀL, (L p)_j = p_j − (p_{j−1} + p_{j+1})/2 for j = 0..N+1 (positive definite).

    p_0 = p_{N+1} = 0, and the mirror ghosts p_{−1} = p_1, p_{N+2} = p_N make rows 0 and
    N+1 equal to −p_1 and −p_N: p'(0) = p'(Dmax) = 0 as well.
    """
    rows = np.eye(n_r + 2, n_r, k=-1) - 0.5 * (np.eye(n_r + 2, n_r) + np.eye(n_r + 2, n_r, k=-2))
    rows[0, 0], rows[-1, -1] = -1.0, -1.0
    return rows.T @ rows


def decompose(q, dq, weights, intensity, d_max, n_r, background) -> Decomposition:
    """Transform matrix and generalised eigendecomposition for one Dmax.

    Parameters
    ----------
    q, dq : ndarray, shape (n,)
        q and its one-σ resolution (or None) in Å⁻¹.
    weights : ndarray, shape (n,)
        1/σ in cm.
    intensity : ndarray, shape (n,)
        I in cm⁻¹.
    d_max : float
        Dmax in Å; p(r) lives on ``n_r`` interior points of [0, Dmax].
    background : bool
        Whether a flat background (flat prior) is marginalised.
    """
    r = d_max * np.arange(1, n_r + 1) / (n_r + 1)
    kernel = 4.0 * np.pi * (r[1] - r[0]) * sinc_kernel(q, r, dq)  # trapezoid, zero ends
    kw, iw = kernel * weights[:, None], intensity * weights
    if background:  # flat prior on b: project out the weighted constant
        u = weights / np.linalg.norm(weights)
        kw, iw = kw - np.outer(u, u @ kw), iw - u * (u @ iw)
    bmat, cmat = kw.T @ kw, smoothness_matrix(n_r)
    lam, vec = scipy.linalg.eigh(bmat, cmat)
    return Decomposition(
        d_max=d_max,
        kernel=kernel,
        vectors=vec,
        eigenvalues=np.clip(lam, 0.0, None),
        projection=vec.T @ (kw.T @ iw),
        chi2_zero=float(iw @ iw),
        alpha_scale=float(np.trace(bmat) / np.trace(cmat)),
        background=background,
    )


def grid_point(dec: Decomposition, alpha: float, intensity, weights) -> dict | None:
    """One (Dmax, α) grid point: p, var(p), Rg, I0 (values, variances), fit; None if p ≤ 0."""
    p, inv = dec.solve(alpha)
    r = dec.radii()[1:-1]
    dr = r[1] - r[0]
    area, moment = p.sum() * dr, (r**2 * p).sum() * dr
    if area <= 0 or moment <= 0:
        return None
    rg = np.sqrt(moment / (2 * area))
    fit = dec.kernel @ p
    bg = float(weights**2 @ (intensity - fit) / (weights**2).sum()) if dec.background else 0.0
    return dict(
        p=p,
        p_var=(dec.vectors**2) @ inv,
        rg=rg,
        rg_var=dec.variance(inv, dr * (r**2 - 2 * rg**2) / (4 * rg * area)),  # ∂Rg/∂p_j
        i0=4 * np.pi * area,
        i0_var=dec.variance(inv, np.full_like(p, 4 * np.pi * dr)),
        fit=fit + bg,
        bg=bg,
    )


def weighted_median(values: np.ndarray, weights: np.ndarray) -> tuple[float, float]:
    """Weighted median and half the central 68 % interval of a discrete posterior."""
    order = np.argsort(values)
    cumulative = np.cumsum(weights[order]) - 0.5 * weights[order]
    lo, median, hi = np.interp([0.1587, 0.5, 0.8413], cumulative, values[order])
    return float(median), float((hi - lo) / 2)


BLOCK = 8  # points per block of the residual-correlation estimate (a few resolution widths)


def residual_correlation(decs, log_ev, alphas, intensity, weights) -> float:
    """How many times more the residuals' block means scatter than independent errors allow.

    The residuals z = (I − fit)/σ of the most probable grid point are cut into blocks
    of ``BLOCK`` neighbouring points; for independent errors the block means have
    variance var(z)/BLOCK, for errors correlated over τ points (rebinning, pixel
    splitting in the azimuthal integration) about τ var(z)/BLOCK.  Returns that ratio
    (the batch-means estimate of the integrated autocorrelation time; < 1 for a fit
    that absorbed part of the noise).
    """
    i, j = np.unravel_index(np.argmax(log_ev), log_ev.shape)
    dec = decs[i]
    fit = dec.kernel @ dec.solve(float(alphas[j]))[0]
    z = (intensity - fit) * weights
    if dec.background:
        z = z - weights * (weights @ z) / (weights @ weights)
    n = z.size // BLOCK
    if n < 8:
        return 1.0  # too few blocks to tell
    z = z[: n * BLOCK]
    return float(BLOCK * z.reshape(n, BLOCK).mean(axis=1).var() / z.var())
