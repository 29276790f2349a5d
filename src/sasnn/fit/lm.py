"""Levenberg-Marquardt runs of one candidate problem, bounded by steps, not by time.

A fit's numbers must be the same on any machine under any load, so an LM run stops
only on its own tolerance (:data:`LM_FTOL`, :data:`LM_XTOL`) or after a given number
of steps; the wall-clock :class:`Clock` is an optional safety net that is off unless a
caller sets a limit. LM is bumps' ``lm`` (MPFit with bounds), driven directly so that a
run can go on from where it stopped (:func:`go_on`) and the standard errors, a
Jacobian's worth of model evaluations, are computed once for the kept run
(:func:`with_errors`) rather than for every start.
"""

from __future__ import annotations

import dataclasses
import math
import time
import warnings
from dataclasses import dataclass

import numpy as np

from sasnn.fit.problem import CandidateProblem, identifiable

__all__ = ["LM_FTOL", "LM_XTOL", "Clock", "LMRun", "go_on", "lm_steps", "run_lm", "with_errors"]

# LM has converged when one step lowers χ² by less than this fraction (predicted and
# actual: 0.002 at χ² = 70; bumps' default 1e-10 crawls on for tens of steps that move
# χ² by < 0.01 in all) or moves no parameter by more than LM_XTOL of its value. On AOT's
# core contrast 3e-5 gave every candidate's BIC within 0.7 of 1e-10's, 1e-4 one 2.2 worse.
LM_FTOL = 3e-5
LM_XTOL = 1e-7


@dataclass(frozen=True)
class Clock:
    """The optional wall-clock safety net; ``deadline`` is ``inf`` without one, so that
    nothing the fit does then depends on time."""

    begin: float
    limit: float | None

    @property
    def deadline(self) -> float:
        return math.inf if self.limit is None else self.begin + self.limit

    def expired(self) -> bool:
        return self.limit is not None and time.perf_counter() > self.deadline


@dataclass(frozen=True)
class LMRun:
    """One LM run: where it ended and how."""

    chi2: float
    problem: CandidateProblem
    bumps: object  # the bumps FitProblem, left at the end point
    names: tuple[str, ...]  # the fitted parameters, in the problem's order
    x: np.ndarray  # their values in bumps' order, ``bumps.labels()``
    steps: int
    converged: bool  # stopped on its own tolerance, not on its step limit

    @property
    def values(self) -> dict[str, float]:
        """{name: value} in the problem's order."""
        found = dict(zip(self.bumps.labels(), map(float, self.x), strict=True))
        return {n: found[n] for n in self.names}


def run_lm(problem: CandidateProblem, steps: int, clock: Clock) -> LMRun:
    """At most ``steps`` LM steps on the identifiable parameters, from the start."""
    from bumps.fitproblem import FitProblem

    names = tuple(identifiable(problem))
    return lm_steps(problem, FitProblem(problem.bumps_models(names)), names, steps, clock)


def go_on(run: LMRun, steps: int, clock: Clock) -> LMRun:
    """``run`` continued for at most ``steps`` more LM steps from where it stopped."""
    more = lm_steps(run.problem, run.bumps, run.names, steps, clock)
    if more.chi2 <= run.chi2:
        return dataclasses.replace(more, steps=run.steps + more.steps)
    run.bumps.setp(run.x)
    return run


class _StepCounter:
    """A bumps monitor that counts LM iterations (bumps calls it once per iteration)."""

    def __init__(self) -> None:
        self.calls = 0

    def config_history(self, history) -> None:
        pass

    def __call__(self, history) -> None:
        self.calls += 1


def lm_steps(problem: CandidateProblem, bumps_problem, names: tuple[str, ...], steps: int,
             clock: Clock) -> LMRun:
    """At most ``steps`` LM steps of ``bumps_problem`` (``problem``'s parameters
    ``names``) from its current point, which it is left at."""
    from bumps.fitters import FitDriver, MPFit

    hours = 0.0 if clock.limit is None else max(clock.deadline - time.perf_counter(), 1.0) / 3600
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        counter = _StepCounter()
        driver = FitDriver(fitclass=MPFit, problem=bumps_problem, monitors=[counter], time=hours,
                           steps=steps + 1, ftol=LM_FTOL, xtol=LM_XTOL)  # MPFit: steps - 1
        driver.clip()
        x, _ = driver.fit()
        x = bumps_problem.getp() if x is None else np.asarray(x, float)
        bumps_problem.setp(x)
        chi2 = 2.0 * bumps_problem.nllf()
    done = counter.calls  # one call per LM step (and none after the last)
    return LMRun(chi2, problem, bumps_problem, names, x.copy(), done,
                done < steps and not clock.expired())


def with_errors(run: LMRun) -> dict[str, tuple[float, float]]:
    """{name: (value, 1-σ)} at the end of ``run``: bumps' standard errors from the
    Jacobian there, computed once for the kept fit rather than for every start."""
    from bumps import lsqerror

    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        errors = lsqerror.stderr(run.bumps.cov(run.x))
        run.bumps.setp(run.x)
    found = {n: (float(v), float(e)) for n, v, e in zip(run.bumps.labels(), run.x, errors, strict=True)}
    return {n: found[n] for n in run.names}
