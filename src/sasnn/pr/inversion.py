"""p(r) by Bayesian indirect Fourier transform (BIFT), with Guinier reported alongside.

The problem solved
------------------
p(r) is sampled at N interior points r_j = j Dmax / (N + 1), j = 1..N, with
p(0) = p(Dmax) = 0 (Glatter 1977; Moore 1980 uses a sine basis with the same end
conditions).  The trapezoid rule turns I(q) = 4π ∫ p(r) sin(qr)/(qr) dr into
I = K p + b, with b an optional flat background.  When the resolution dq is known,
each row of K is averaged over q' ~ N(q, dq²) in closed form
(:func:`sasnn.pr.physics.sinc_kernel`), so the model is compared with the *smeared*
data.  For given (α, Dmax) the estimate minimises

    χ²(p, b) + α' ‖L p‖²,    χ² = Σ_i [(I_i − (K p)_i − b) / σ_i]²,

where (L p)_j = p_j − (p_{j−1} + p_{j+1}) / 2 is Hansen's (2000) smoothness
operator, here summed over j = 0..N+1 with mirror ghosts p_{−1} = p_1 and
p_{N+2} = p_N: p(r) ∝ r² at small r and ∝ (Dmax − r)² near Dmax for any particle
with a smooth outer surface, so p'(0) = p'(Dmax) = 0 as well as p = 0.  Without
these two rows the prior lets p(r) end in a kink at Dmax, and the evidence
prefers a Dmax 2–4 % short of the truth even for noise-free curves.
α' = α tr(KᵀWK) / tr(LᵀL), W = diag(σ⁻²), so that the α we report is
dimensionless.  b has a flat prior and is eliminated exactly by projecting the
weighted data and K orthogonally to the constant.

Choosing α and Dmax, and the errors
-----------------------------------
With a Gaussian likelihood and this Gaussian prior the posterior of p is Gaussian
and the evidence is analytic (MacKay 1992; Hansen 2000; Vestergaard & Hansen 2006):

    log P(data | α, Dmax) = −½ [χ²(p̂) + α' ‖L p̂‖²] − ½ log det(B + α'C) + ½ log det(α'C),

with B = KᵀWK, C = LᵀL.  One generalised eigendecomposition B v = λ C v per Dmax
makes the α axis O(N): log P = −½ (c₀ − Σ_k y_k²/(λ_k + α')) − ½ Σ_k log(1 + λ_k/α'),
y = Vᵀ KᵀW I, c₀ = IᵀWI.  We evaluate it on a grid of α (log-spaced) × Dmax: a
coarse log scan over every Dmax the q range admits, then a fine (1 %) grid where
the evidence is within a factor 10⁴ of its maximum.  Priors are flat in log α
and log Dmax.  As in BIFT, the reported p(r), Rg and I(0) are evidence-weighted
posterior means over that grid, and their variances add the posterior variance
at each grid point (covariance (B + α'C)⁻¹, propagated linearly to Rg and I(0))
to the spread between grid points, so the uncertainty of α and Dmax is in the
error bars.  Dmax is the posterior median with half the central 68 % interval as
its error: its posterior rises steeply below the true Dmax and decays slowly
above it, where the data cannot exclude a tail of near-zero p(r), so the median
is less biased than the mean or the maximum.  No positivity is imposed: a
negative p(r) shows up instead of being hidden.

Why BIFT rather than GCV or the L-curve: one criterion chooses both α and Dmax,
it has a probabilistic meaning, and therefore the uncertainty of the choice
propagates into the errors; GCV and the L-curve give neither, and GNOM's
perceptual criteria (Svergun 1992) are heuristic.

The q range
-----------
p(r) needs at least ``MIN_SHANNON_CHANNELS`` Shannon channels (q_max − q_min)
Dmax / π, and the data must start before the first Shannon point,
q_min <= π / Dmax; a q range that admits no Dmax is refused.  By default
(``q_min="auto"``) the data start where the automatic Guinier window starts
(:func:`sasnn.pr.guinier.guinier`), and later while the first points lie off the
p(r) computed from the rest (:func:`sasnn.pr.qrange.auto_start`): leading points
above the particle's curve (aggregates, a beamstop shadow) would otherwise be
explained by a long tail of p(r); starting the IFT later is what GNOM and RAW
users are advised to do by hand.  At high q nothing is cut: points where the
signal has faded into the noise carry little weight, and a residual flat
background is fitted.

Why Dmax overshot on lab SAXS curves, and what changed
------------------------------------------------------
On a lab-source curve of a small protein (noise dominating above 0.3 Å⁻¹) Dmax
came out +45 % where GNOM and freesas' BIFT agreed with the protein, with Rg
right.  High-q noise is not the cause by itself: with independent errors the
evidence over Dmax is right however noisy the high-q points are (they carry
little weight).  Two things a lab curve adds are.

1. *Aggregates that the Guinier test lets through.*  A few percent of large
   aggregates add a smooth excess in the first points that a straight line in q²
   hardly notices, but that p(r) fits exactly by a faint tail far beyond the
   particle.  The fit stays good (χ² ≈ 1), Rg hardly moves (the tail holds little
   mass), and the evidence rises with Dmax along that tail: +36, +45 and +68 % on
   three of the 36 simulated lab-SAXS proteins of ``bench/bench_pr.py``, and "Dmax
   is not resolved" on two more.  Fixed by testing the start of the data on p(r)
   itself (:mod:`sasnn.pr.qrange`).
2. *Errors correlated between neighbouring bins* (rebinning, smoothing, pixel
   splitting in the azimuthal integration), while the file gives each bin's own σ.
   The evidence assumes independent errors, so it counts every bin as new
   information, and a longer Dmax, whose extra Shannon channels fit the correlated
   wiggles, wins its Occam factor back: with noise shared by 5 neighbouring bins,
   Dmax of a 40 Å ellipsoid came out +109 % on one of 12 seeds and +10 % in the
   median.  Fixed by weighting: a first pass estimates from the residuals, by block
   means (:func:`sasnn.pr.bift.residual_correlation`), how many bins make one
   independent point (τ), and the evidence and the error bars then use σ √τ
   (τ <= 1, independent errors, changes nothing).

What remains is the opposite bias of every evidence-based Dmax: for anisotropic
particles p(r) ends like (Dmax − r)³ (only the tips of the long axis, in a narrow
cone of directions, reach it), and the last 10 % of it holds too little mass to
pay for the Shannon channel a longer Dmax opens, so Dmax comes out 5–15 % short
for axial ratios near 2: also at 0.01 % noise (−4 to −6 %), and freesas alike.

References
----------
Glatter, O. (1977). J. Appl. Cryst. 10, 415–421.
Moore, P. B. (1980). J. Appl. Cryst. 13, 168–175.
MacKay, D. J. C. (1992). Neural Comput. 4, 415–447.
Svergun, D. I. (1992). J. Appl. Cryst. 25, 495–503 (GNOM).
Hansen, S. (2000). J. Appl. Cryst. 33, 1415–1421 (BIFT).
Vestergaard, B. & Hansen, S. (2006). J. Appl. Cryst. 39, 797–804.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np
import scipy.stats

from sasnn.pr.bift import BLOCK, decompose, grid_point, residual_correlation, weighted_median
from sasnn.pr.guinier import GuinierResult, check_curve, guinier
from sasnn.pr.qrange import (
    MIN_SHANNON_CHANNELS,
    auto_start,
    check_dmax_resolved,
    dmax_range,
    select_q,
)

__all__ = ["GuinierResult", "PrResult", "guinier", "invert_pr"]

ALPHA_GRID = np.logspace(-4.0, 6.0, 51)  # dimensionless α, 0.2-decade steps
N_DMAX_COARSE = 28  # log grid over the whole admissible Dmax range
FINE_STEP = 0.01  # relative Dmax step of the fine grid
WEIGHT_CUTOFF = 1e-4  # grid points with less evidence relative to the best are left out
TAU_NOTE = 1.5  # residual correlation (variance ratio of block means) worth a warning


@dataclass(frozen=True)
class PrResult:
    """Result of :func:`invert_pr`: posterior means and one-σ errors.

    Attributes
    ----------
    r : ndarray, shape (m,)
        Distances in Å from 0 to the largest Dmax in the posterior.
    p, p_sigma : ndarray, shape (m,)
        p(r) and its error in (unit of I) Å⁻¹, e.g. cm⁻¹ Å⁻¹.
    rg, rg_err : float
        Radius of gyration from p(r), Rg² = ∫ r² p dr / (2 ∫ p dr), in Å.
    i0, i0_err : float
        Forward intensity 4π ∫ p dr in the unit of I (cm⁻¹).
    d_max, d_max_err : float
        Maximum dimension in Å: posterior median and half its central 68 % interval.
    alpha : float
        Most probable dimensionless regularisation weight.
    chi2 : float
        Reduced χ² of the mean fit, χ² / (n − N_good − 1 if background).
    n_good : float
        Parameters the data determine at the most probable point, Σ λ/(λ + α').
    log_evidence : float
        Log-evidence at the most probable point (up to a data-dependent constant).
    q, intensity, sigma, fit : ndarray, shape (n,)
        The fitted data (q in Å⁻¹, I and σ in cm⁻¹) and the back-calculated I(q),
        smeared when dq was given, background included.
    background : float
        Fitted flat background in the unit of I (0 when not fitted).
    smeared : bool
        Whether the resolution dq entered the transform.
    guinier : GuinierResult or None
        The automatic Guinier fit of the whole curve (None where none was found).
    warnings : tuple of str
        Conditions a user should know about (points left out, Dmax at a limit, bad χ²).
    """

    r: np.ndarray
    p: np.ndarray
    p_sigma: np.ndarray
    rg: float
    rg_err: float
    i0: float
    i0_err: float
    d_max: float
    d_max_err: float
    alpha: float
    chi2: float
    n_good: float
    log_evidence: float
    q: np.ndarray
    intensity: np.ndarray
    sigma: np.ndarray
    fit: np.ndarray
    background: float
    smeared: bool
    guinier: GuinierResult | None
    warnings: tuple[str, ...] = ()


def invert_pr(
    q: np.ndarray,
    intensity: np.ndarray,
    sigma: np.ndarray,
    *,
    dq: np.ndarray | None = None,
    d_max: float | None = None,
    alpha: float | None = None,
    q_min: float | str | None = "auto",
    q_max: float | None = None,
    n_r: int = 60,
    background: bool = True,
) -> PrResult:
    """Pair-distance distribution p(r) by Bayesian indirect Fourier transform.

    Parameters
    ----------
    q : array_like, shape (n,)
        Scattering vector in Å⁻¹.
    intensity : array_like, shape (n,)
        I(q) in cm⁻¹ (any unit works; p(r) and I(0) take it).  Negative values
        (noise after background subtraction) are kept.
    sigma : array_like, shape (n,)
        One-σ errors of ``intensity``; required.
    dq : array_like, shape (n,), optional
        Gaussian pinhole resolution (one σ) in Å⁻¹, folded into the transform.
    d_max : float, optional
        Fix Dmax (Å) instead of choosing it by evidence.
    alpha : float, optional
        Fix the dimensionless regularisation weight instead of choosing it.
    q_min : float, "auto" or None
        Lowest q used (Å⁻¹): "auto" starts at the automatic Guinier window, or
        later while the first points lie off the p(r) of the rest
        (:func:`sasnn.pr.qrange.auto_start`); None uses all points.
    q_max : float, optional
        Highest q used (Å⁻¹).
    n_r : int
        Number of free p(r) points between r = 0 and Dmax.
    background : bool
        Fit a flat background with p(r) (an incoherent residual is common in SANS;
        it is separable from p(r) because p(0) = 0).

    Returns
    -------
    PrResult

    Raises
    ------
    ValueError
        Missing errors, too few usable points, no signal, a q range that admits no
        Dmax, a Dmax with too few Shannon channels, or a p(r) with no positive area.

    Notes
    -----
    About 0.1–0.3 s per inversion of a few hundred points on one core; with
    q_min="auto" a curve takes two inversions or more (one per start tested).  The matrices
    are small (N × N, N = ``n_r``): for batches, run with ``OPENBLAS_NUM_THREADS=1``
    (threads only add overhead here) and parallelise over curves instead.
    """
    arrays = check_curve(q, intensity, sigma, dq)
    try:
        found = guinier(*arrays[:3])
    except ValueError:
        found = None
    if n_r < 10:
        raise ValueError(f"n_r must be >= 10 p(r) points, got {n_r}")
    if alpha is not None and not (np.isfinite(alpha) and alpha > 0):
        raise ValueError(f"alpha must be a positive number, got {alpha}")
    if d_max is not None and not np.isfinite(d_max):
        raise ValueError(f"Dmax must be a finite number of Å, got {d_max}")
    options = dict(d_max=d_max, alpha=alpha, n_r=n_r, background=background, found=found)
    if not (isinstance(q_min, str) and q_min == "auto" and found is not None):
        return _invert(*select_q(q_min, q_max, arrays, found), **options)
    # from the Guinier start on, moved up while the leading points lie off p(r)
    full = select_q(None, q_max, arrays, found)
    result, moved = auto_start(full, found, lambda *data: _invert(*data, **options))
    skipped = int(np.sum(full[0] < result.q[0]))
    if not skipped:
        return result
    note = (
        f"the first {skipped} points (q < {result.q[0]:.4g} Å⁻¹) lie off the Guinier line"
        + (f" or, {moved} of them, off the p(r) of the rest" if moved else "")
        + " (aggregates or beamstop?) and were left out; q_min=None (sasnn pr --q-min all) "
        "keeps them"
    )
    return dataclasses.replace(result, warnings=(note, *result.warnings))


def _invert(q, intensity, sigma, dq, *, d_max, alpha, n_r, background, found) -> PrResult:
    """BIFT on the points given (already cut to the q range)."""
    lo, hi = dmax_range(q)
    if d_max is not None and not d_max >= lo:
        raise ValueError(
            f"Dmax = {d_max} Å gives fewer than {MIN_SHANNON_CHANNELS:g} Shannon channels "
            f"over q = {q[0]:.4g}–{q[-1]:.4g} Å⁻¹; need Dmax >= {lo:.4g} Å"
        )
    alphas = ALPHA_GRID if alpha is None else np.array([float(alpha)])
    weights, notes = 1.0 / sigma, []

    def scan(d_values):
        decs = [decompose(q, dq, weights, intensity, d, n_r, background) for d in d_values]
        return decs, np.array([dec.log_evidence(alphas) for dec in decs])

    # first pass with the errors as given; its residuals say whether neighbours are correlated
    first = np.array([float(d_max)]) if d_max is not None else np.geomspace(lo, hi, N_DMAX_COARSE)
    decs, log_ev = scan(first)
    if d_max is None:
        check_dmax_resolved(first, log_ev.max(axis=1), q[0])
    tau = residual_correlation(decs, log_ev, alphas, intensity, weights)
    if tau > 1.0:  # fewer independent points than bins: widen σ so the evidence counts them
        weights = weights / np.sqrt(tau)
        decs, log_ev = scan(first)
    if tau > TAU_NOTE:
        notes.append(
            f"neighbouring residuals are correlated (blocks of {BLOCK} points scatter "
            f"{np.sqrt(tau):.2g}× more than independent errors would: rebinning or pixel "
            "splitting?); the errors were widened by that factor for the choice of Dmax and α "
            "and for the error bars"
        )
    if d_max is None:  # the coarse scan of the admissible range, then a fine grid where it matters
        best = log_ev.max(axis=1)
        near = np.nonzero(best > best.max() + np.log(WEIGHT_CUTOFF))[0]
        a, b = first[max(near[0] - 1, 0)], first[min(near[-1] + 1, first.size - 1)]
        n_fine = int(np.clip(np.ceil(np.log(b / a) / np.log1p(FINE_STEP)), 11, 61))
        decs, log_ev = scan(np.geomspace(a, b, n_fine))
        notes += _edge_notes(decs, log_ev, lo, hi)
    return _summarise((q, intensity, sigma, dq), decs, log_ev, alphas, found, notes)


def _edge_notes(decs, log_ev, lo, hi) -> list[str]:
    d_best = decs[int(np.argmax(log_ev.max(axis=1)))].d_max
    step = (hi / lo) ** (1.0 / (N_DMAX_COARSE - 1))
    if d_best * step > hi:
        return [
            f"Dmax ≈ {d_best:.4g} Å is at the top of the range the data resolve (π/q_min = "
            f"{hi:.4g} Å): the particle may be larger, or the low-q data hold aggregates"
        ]
    if d_best < lo * step:
        return [
            f"Dmax ≈ {d_best:.4g} Å is at the bottom of the admissible range ({lo:.4g} Å): "
            "measure to higher q"
        ]
    return []


def _summarise(data, decs, log_ev, alphas, found, notes) -> PrResult:
    """Evidence-weighted posterior means and variances over the (Dmax, α) grid."""
    q, intensity, sigma, dq = data
    weights = 1.0 / sigma
    i_best, j_best = np.unravel_index(np.argmax(log_ev), log_ev.shape)
    members, w = [], []
    for i, j in np.argwhere(log_ev > log_ev.max() + np.log(WEIGHT_CUTOFF)):
        member = grid_point(decs[i], float(alphas[j]), intensity, weights)
        if member is not None:
            member["d_max"], member["radii"] = decs[i].d_max, decs[i].radii()
            members.append(member)
            w.append(np.exp(log_ev[i, j] - log_ev.max()))
    if not members:
        raise ValueError(
            "every probable p(r) has a non-positive integral or second moment: the data "
            "do not look like scattering from particles (check background and q units)"
        )
    w = np.array(w) / np.sum(w)
    n = decs[0].eigenvalues.size
    r = max(m["d_max"] for m in members) * np.arange(n + 2) / (n + 1)

    def column(key):  # one value per grid point; p(r) values go onto r, zero beyond Dmax
        if key in ("p", "p_var"):
            return np.array([np.interp(r, m["radii"], np.concatenate([[0.0], m[key], [0.0]]),
                                       right=0.0) for m in members])
        return np.array([m[key] for m in members])

    def mean_sd(key, var_key=None):  # posterior mean and sd of a mixture of Gaussians
        values = column(key)
        mean = np.tensordot(w, values, 1)
        spread = (values - mean) ** 2 + (column(var_key) if var_key else 0.0)
        return mean, np.sqrt(np.tensordot(w, spread, 1))

    fit, _ = mean_sd("fit")
    n_good = decs[i_best].n_good(float(alphas[j_best]))
    dof = max(q.size - n_good - float(decs[0].background), 1.0)
    chi2 = float((((intensity - fit) * weights) ** 2).sum())
    if chi2 / dof > 2 and scipy.stats.chi2.sf(chi2, dof) < 1e-3:
        notes.append(
            f"reduced χ² = {chi2 / dof:.3g}: the errors are underestimated or the data hold "
            "more than particle scattering (aggregates, a structure factor)"
        )
    (p, p_sigma), (rg, rg_err) = mean_sd("p", "p_var"), mean_sd("rg", "rg_var")
    i0, i0_err = mean_sd("i0", "i0_var")
    if not i0 > 3 * i0_err:
        raise ValueError(
            f"p(r) is not significantly different from zero (I(0) = {i0:.3g} ± {i0_err:.2g}): "
            "the data hold no particle scattering above a flat background"
        )
    d_max, d_max_err = weighted_median(column("d_max"), w)
    return PrResult(
        r=r, p=p, p_sigma=p_sigma,
        rg=float(rg), rg_err=float(rg_err), i0=float(i0), i0_err=float(i0_err),
        d_max=float(d_max), d_max_err=float(d_max_err), alpha=float(alphas[j_best]),
        chi2=chi2 / dof, n_good=n_good, log_evidence=float(log_ev[i_best, j_best]),
        q=q, intensity=intensity, sigma=sigma, fit=fit,
        background=float(mean_sd("bg")[0]), smeared=dq is not None,
        guinier=found, warnings=tuple(notes),
    )
