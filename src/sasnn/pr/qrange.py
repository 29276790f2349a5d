"""Which q range p(r) is computed from: the Shannon limits, and where the low-q data start.

Dmax needs at least ``MIN_SHANNON_CHANNELS`` Shannon channels (q_max − q_min) Dmax / π,
and the data must start before the first Shannon point, q_min <= π / Dmax.

By default the data start where the automatic Guinier window starts
(:func:`sasnn.pr.guinier.guinier`).  That is not always late enough: the Guinier
test compares the first points with a straight line in q², which a few percent of
large aggregates can pass, while p(r) explains the same excess exactly, by a
faint tail that reaches far beyond the particle.  χ² does not notice (the tail
fits), Rg barely moves (the tail holds little mass), but Dmax follows the tail:
+36 to +68 % on 3 of 36 simulated lab-SAXS proteins with 2–8 % aggregates at q_min
(``bench/bench_pr.py``), and no Dmax at all on 2 more, because the evidence still
rises at π/q_min.  So the start is also tested on p(r) itself (:func:`auto_start`): the
first ``N_LEADING`` points are left out, p(r) is computed from the rest, and the
left-out points are compared with its prediction; while they lie off it
(|Σz|/√N > 2, z with the prediction's error included), or while the inversion
from the current start finds no Dmax, the start moves on by ``N_LEADING`` points,
as long as q_min Rg <= ``QRG_MAX_START`` (the Guinier region, where p(r)'s
prediction is a safe extrapolation) and q_min <= π/Dmax.  That last bound cannot
stop a Dmax that aggregates have stretched to π/q_min itself: then later starts
are tried until one resolves a Dmax below its own limit, and it is taken if the
points it leaves out lie off its p(r) (:func:`_past_the_top`; on one of 36
held-out simulated proteins, Dmax +83 % became −3 %).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from sasnn.pr.guinier import GuinierResult, check_curve
from sasnn.pr.physics import intensity_from_pr

MIN_SHANNON_CHANNELS = 3.0  # fewer, and p(r) holds no more than a Gaussian blob would
N_LEADING = 3  # low-q points tested, and left out, at a time
QRG_MAX_START = 1.0  # the start of the data may move up to q·Rg = 1
Z_LEADING = 2.0  # |Σz|/√N_LEADING beyond which the leading points are off p(r)
AT_TOP = 0.9  # a Dmax above this fraction of π/q_min is set by the start of the data


def at_top(result) -> bool:
    """Whether the Dmax of ``result`` lies at the top of what its q range resolves."""
    return result.d_max > AT_TOP * np.pi / result.q[0]


def select_q(q_min, q_max, arrays, found: GuinierResult | None):
    """Cut the cleaned arrays to [q_min, q_max]; q_min="auto" starts at the Guinier window."""
    q = arrays[0]
    if isinstance(q_min, str):
        if q_min != "auto":
            raise ValueError(f"q_min must be a number in Å⁻¹, None or 'auto', got {q_min!r}")
        q_min = found.q_min if found is not None else None
    keep = (q >= (q_min if q_min is not None else -np.inf)) & (
        q <= (q_max if q_max is not None else np.inf)
    )
    return check_curve(*[None if a is None else a[keep] for a in arrays])


def dmax_range(q: np.ndarray) -> tuple[float, float]:
    """Admissible Dmax (Å): ≥ MIN_SHANNON_CHANNELS channels, and q_min <= π/Dmax."""
    lo, hi = MIN_SHANNON_CHANNELS * np.pi / (q[-1] - q[0]), np.pi / q[0]
    if lo >= hi:
        raise ValueError(
            f"q range {q[0]:.4g}–{q[-1]:.4g} Å⁻¹ (q_max/q_min = {q[-1] / q[0]:.2f}) is too "
            f"narrow for any Dmax: p(r) needs (q_max − q_min)·Dmax/π >= "
            f"{MIN_SHANNON_CHANNELS:g} Shannon channels with Dmax <= π/q_min, i.e. "
            f"q_max/q_min >= {MIN_SHANNON_CHANNELS + 1:g}; measure a wider q range"
        )
    return lo, hi


class DmaxNotResolved(ValueError):
    """The evidence for Dmax still rises at π/q_min."""


def check_dmax_resolved(d_values: np.ndarray, log_ev: np.ndarray, q_min: float) -> None:
    """Refuse when the evidence still rises strongly (×10) over the last 10 % below π/q_min."""
    log_d = np.log(d_values)
    rise = log_ev[-1] - np.interp(log_d[-1] - np.log(1.1), log_d, log_ev)
    if rise > np.log(10.0):
        raise DmaxNotResolved(
            f"Dmax is not resolved: the evidence still rises at the largest Dmax these data "
            f"can resolve (π/q_min = {d_values[-1]:.4g} Å, q_min = {q_min:.4g} Å⁻¹); the "
            "particle is larger, or the low-q points hold aggregates: measure to lower q, "
            "raise q_min, or fix Dmax"
        )


def leading_z(result, q, intensity, sigma, dq) -> float:
    """|Σz|/√n of points (below the result's q range) against the p(r) of ``result``.

    The prediction's variance is that of a Guinier law with the result's I(0) and
    Rg errors, (I σ_I0/I0)² + (I 2q²Rg σ_Rg/3)², adequate for q Rg <= 1.
    """
    predicted = intensity_from_pr(q, result.r, result.p, dq) + result.background
    variance = sigma**2 + (predicted * result.i0_err / result.i0) ** 2 + (
        predicted * 2 * q**2 * result.rg * result.rg_err / 3
    ) ** 2
    return float(abs(((intensity - predicted) / np.sqrt(variance)).sum()) / np.sqrt(q.size))


def _past_the_top(arrays, start, last, current, attempt):
    """From a start whose Dmax sits at π/q_min: the first later start (up to ``last``) whose
    Dmax lies below its own limit, if the points it leaves out lie off its p(r).

    A Dmax at π/q_min is set by where the data start, not by the particle: aggregates that
    passed the Guinier test stretch p(r) as far as the q range lets them, and then the
    first Shannon point stops the step-by-step test below.  A particle that is truly that
    large keeps its Dmax at the limit from every later start, or its p(r) predicts the
    left-out points; either way the first start stays.
    """
    for nxt in range(start + N_LEADING, last + 1, N_LEADING):
        trial = attempt(nxt)
        if isinstance(trial, Exception) or at_top(trial):
            continue
        head = [None if a is None else a[start:nxt] for a in arrays]
        if leading_z(trial, *head) > Z_LEADING:
            return nxt, trial
        break
    return start, current


def auto_start(arrays, found: GuinierResult, invert: Callable):
    """Invert from the Guinier start, moving the start up while the leading points are off p(r).

    Parameters
    ----------
    arrays : tuple of ndarray
        Cleaned (q, I, σ, dq or None), already cut at q_max.
    found : GuinierResult
        The automatic Guinier fit (its q_min and Rg).
    invert : callable
        ``invert(q, I, σ, dq)`` → PrResult; raises ValueError when no p(r) is found.

    Returns
    -------
    result, n_left_out
        The accepted inversion and how many points below the Guinier start it left out.
    """
    q = arrays[0]
    first = int(np.searchsorted(q, found.q_min))
    last = int(np.searchsorted(q, QRG_MAX_START / found.rg, side="right"))  # start at most here

    def attempt(start):
        part = [None if a is None else a[start:] for a in arrays]
        try:
            return invert(*part)
        except ValueError as exc:
            return exc

    start, current = first, attempt(first)
    if isinstance(current, Exception) and not isinstance(current, DmaxNotResolved):
        raise current
    if not isinstance(current, Exception) and at_top(current):
        start, current = _past_the_top(arrays, start, last, current, attempt)
    while start + N_LEADING <= last:
        nxt = start + N_LEADING
        if not isinstance(current, Exception) and q[nxt] * current.d_max > np.pi:
            break  # the next start would be past the first Shannon point
        trial = attempt(nxt)
        if isinstance(trial, Exception):
            if not (isinstance(current, DmaxNotResolved) and isinstance(trial, DmaxNotResolved)):
                break
        elif not isinstance(current, Exception):
            head = [None if a is None else a[start:nxt] for a in arrays]
            if leading_z(trial, *head) <= Z_LEADING:
                break  # the leading points agree with the p(r) of the rest
        start, current = nxt, trial
    if isinstance(current, Exception):
        raise current
    return current, start - first
