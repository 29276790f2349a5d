"""Confirm candidate (form factor, structure factor) pairs by fitting them to a curve.

For each candidate the fit

1. starts from the prior draws whose simulated curves lie nearest to the data on
   its own q points and resolution (:mod:`sasnn.fit.start`);
2. holds fixed the parameters the data cannot determine at that start: those whose
   effect on the residuals is nil or a linear combination of the effects of
   parameters before them (contrast × scale, a common shift of every SLD, a length
   far outside the q window). Without this the normal matrix is singular, the
   optimiser wanders along the valley and the uncertainties are meaningless;
3. fits ``scale``, ``background`` (≥ 0) and the remaining parameters by
   Levenberg-Marquardt (bumps' ``lm``, i.e. MPFit with bounds; :mod:`sasnn.fit.lm`) on
   the data's own resolution (pinhole dQ, or slit length for USANS): every one of the
   best few starts for :data:`PROBE_STEPS` steps, then the :data:`FINALISTS` of lowest
   BIC on to :data:`MAX_STEPS` or until LM converges, and keeps the lowest BIC;
4. for classes with counts (shells, pearls, layers), which LM cannot move, tries the
   counts next to the fitted one at the fitted lengths and refits from any that is
   better already (:func:`_recount`).

**Work, not time.** Each fit is bounded by work (draws, starts, LM steps; the message
states the budget and the model evaluations used), never by the clock, so that the same
curve, pair, seed and options give bit-identical numbers on any machine, under any
load, in any process. ``time_limit`` is an optional safety net, off by default; a fit
it stops says so (``stopped_by_time``) and its rank is provisional.

Uncertainties are bumps' standard errors from the Jacobian at the optimum, not
rescaled by χ²_red: with χ²_red ≫ 1 (a model that is not quite right, or σ too
small) they understate the real uncertainty.

**Ranking.** :func:`rerank` orders fits by BIC = χ² + k ln n (k free parameters incl.
scale and background, n points), lowest first. The classifier's probabilities are
not mixed in: ln-probability ratios between shortlisted candidates are a few units,
while BIC differences between real fits are typically tens to thousands, so a
product p·exp(−BIC/2) would be BIC's order anyway except for near-ties, and the
classifier's calibration was measured on simulated curves, whereas BIC comes from
this curve. :func:`bic_weights` gives exp(−ΔBIC/2) weights (optionally times a
prior, e.g. the classifier's probabilities) for those who want one number.
"""

from __future__ import annotations

import math
import time
import zlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from sasnn.fit.determined import undetermined
from sasnn.fit.lm import Clock, LMRun, go_on, run_lm, with_errors
from sasnn.fit.pool import fit_in_processes
from sasnn.fit.problem import OFFSETS, PENALTY, CandidateProblem, offset_names
from sasnn.fit.start import (
    WIDE_SHARE,
    Start,
    draw_starts,
    evaluation_count,
    integer_ranges,
    parameter_bounds,
    recount,
    resolution_for_curve,
    score_start,
)
from sasnn.io.curve import Curve
from sasnn.simulate.catalog import CATALOG, STRUCTURE_FACTORS
from sasnn.simulate.kernels import model_name

__all__ = [
    "FitResult",
    "bic_weights",
    "candidate_rng",
    "fit_candidate",
    "fit_candidates",
    "rerank",
]

MAX_STEPS = 100  # Levenberg-Marquardt iterations of the best start, its probe included
PROBE_STEPS = 12  # LM iterations every start gets before only the best go on
FINALISTS = 2  # starts (best BIC after the probe) that go on to MAX_STEPS
MIN_POINTS = 10  # fewer points than this is not worth a fit


@dataclass(frozen=True)
class FitResult:
    """One candidate fitted to one curve (or jointly to several entries of one sample).

    Attributes
    ----------
    model, structure_factor : str, str or None
        The candidate pair (sasmodels names).
    chi2, chi2_red, bic : float
        χ² = Σ((I_fit − I)/σ)², χ²/(n − k), χ² + k ln n; ``inf`` for a failed fit.
    parameters : mapping str -> (float, float)
        Fitted parameters (``scale``, ``background`` in cm⁻¹ and the model's own, in
        their sasmodels units) with their 1-σ standard error.
    fixed : mapping str -> float or str
        Every other sasmodels argument of the fit (held parameters, polydispersity
        settings), so that ``{**fixed, **values}`` reproduces ``intensity``.
    q, intensity : ndarray, shape (n,)
        The data's q (Å⁻¹) and the fitted, resolution-smeared I(q) (cm⁻¹); empty for
        a failed fit. A joint fit has the entries' points one after the other.
    n_points, n_free : int
        n and k above.
    seconds : float
        Wall time of this fit, starts included (the only number that differs between
        runs).
    converged : bool
        Whether the optimiser stopped on its own tolerance (not on its step or time
        limit) with a finite χ².
    message : str
        What happened, in words, with the work budget and the work done.
    stopped_by_time : bool
        The optional wall-clock safety net stopped the fit: its numbers depend on the
        machine's speed and load, and its rank is provisional.
    """

    model: str
    structure_factor: str | None
    chi2: float
    chi2_red: float
    bic: float
    parameters: Mapping[str, tuple[float, float]]
    fixed: Mapping[str, float | str]
    q: np.ndarray = field(repr=False)
    intensity: np.ndarray = field(repr=False)
    n_points: int = 0
    n_free: int = 0
    seconds: float = 0.0
    converged: bool = False
    message: str = ""
    stopped_by_time: bool = False

    @property
    def name(self) -> str:
        """``model`` or ``model@structure_factor``."""
        return model_name(self.model, self.structure_factor)

    @property
    def values(self) -> dict[str, float]:
        """Every fitted parameter's best value."""
        return {k: v for k, (v, _) in self.parameters.items()}

    @property
    def undetermined(self) -> tuple[str, ...]:
        """Fitted parameters the data do not determine (:func:`sasnn.fit.determined.undetermined`)."""
        return undetermined(self.model, self.structure_factor, self.parameters)

    def to_dict(self) -> dict:
        """JSON-ready summary (DESIGN.md §6: ``chi2_red``, ``bic``, ``parameters``;
        ``undetermined``: the names of :attr:`undetermined`)."""
        finite = math.isfinite(self.bic)
        return {"model": self.model, "structure_factor": self.structure_factor,
                "chi2_red": self.chi2_red if finite else None,
                "bic": self.bic if finite else None,
                "parameters": {k: [v, e] for k, (v, e) in self.parameters.items()},
                "undetermined": list(self.undetermined),
                "n_points": self.n_points, "n_free": self.n_free,
                "seconds": round(self.seconds, 3), "converged": self.converged,
                "message": self.message, "stopped_by_time": self.stopped_by_time}


def fit_candidates(curves: Curve | Sequence[Curve], candidates: Sequence[tuple[str, str | None]],
                   *, seed: int = 0, time_limit: float | None = None, n_draws: int = 96,
                   n_starts: int = 4, thorough: bool = False, workers: int = 1,
                   wide_share: float = WIDE_SHARE,
                   on_result: Callable[[FitResult], None] | None = None) -> list[FitResult]:
    """Fit every candidate pair to one curve; results in the candidates' order.

    Parameters
    ----------
    curves : Curve or sequence of Curve
        One measured entry: q (Å⁻¹) increasing, intensity and positive sigma (cm⁻¹),
        and its resolution (``dq`` pinhole 1-σ or ``dq_slit`` slit length, Å⁻¹), as
        :func:`sasnn.io.read.load_curves` returns it. Several entries of one sample measured
        on different instruments (SANS and USANS) are fitted jointly: every model
        parameter shared, and a ``scale_i``, ``background_i`` for entry i ≥ 1 (entry 0
        has ``scale``, ``background``). Not for contrast series: SLDs are shared too.
    candidates : sequence of (str, str or None)
        (form factor, structure factor) pairs, e.g. ``[("sphere", "hayter_msa")]``.
    seed : int
        Seeds the prior draws; each pair's stream depends on the seed and its name only.
    time_limit : float or None
        A safety net, off by default: seconds each candidate may take, draws and all
        starts together (a draw or LM iteration under way finishes first). Each fit is
        bounded by work (``n_draws``, ``n_starts``, :data:`PROBE_STEPS` LM steps per
        start, :data:`MAX_STEPS` for the best), so that the same curve, pairs, seed and
        options give the same numbers on any machine under any load; a fit the time
        limit stopped says so (``stopped_by_time``) and is not reproducible.
    n_draws, n_starts : int
        Prior draws simulated per candidate; best draws fitted.
    thorough : bool
        Scan the lengths of each start on one dense grid and take every start to the end
        of its LM run, instead of coarse-to-fine scans and only the :data:`FINALISTS`:
        about twice the work, for the few models that must not miss their optimum.
    wide_share : float
        Share of each pair's prior draws taken from its wide prior
        (:func:`sasnn.fit.start.draw_starts`; 0: the catalogue's priors only).
    workers : int
        Processes fitting candidates at once (1: in this process). Each pair's fit is
        the same whichever process runs it (its draws depend on the seed and the pair,
        its work on nothing else).
    on_result : callable, optional
        Called with each result as it finishes (for progress bars), in finishing order.

    Returns
    -------
    list of FitResult
        A candidate whose every draw or fit failed numerically gets a result with
        ``converged=False``, ``bic=inf`` and the reason in ``message``.

    Raises
    ------
    ValueError
        For a pair that is not in the catalogue or a curve that cannot be fitted
        (too few points, missing or non-positive sigma), before any fit starts.
    """
    curves = [curves] if isinstance(curves, Curve) else list(curves)
    pairs = [(m, s) for m, s in candidates]
    for model, structure_factor in pairs:
        check_candidate(model, structure_factor)
    for curve in curves:
        check_curve(curve)
    if not 0.0 <= wide_share <= 1.0:
        raise ValueError(f"wide_share must lie in [0, 1], got {wide_share}")
    options = dict(time_limit=time_limit, n_draws=n_draws, n_starts=n_starts, thorough=thorough,
                   wide_share=wide_share)
    if workers > 1 and len(pairs) > 1:
        return fit_in_processes(_fit_pair, curves, pairs, seed, options, min(workers, len(pairs)),
                                on_result)
    resolutions = [resolution_for_curve(c) for c in curves]  # shared by every pair's fit
    results = []
    for pair in pairs:
        results.append(_fit_pair(curves, pair, seed, resolutions, options))
        if on_result is not None:
            on_result(results[-1])
    return results


def _fit_pair(curves: list[Curve], pair: tuple[str, str | None], seed: int, resolutions: list,
              options: dict) -> FitResult:
    """One pair's fit, the same in this process and in a worker's."""
    return fit_candidate(curves, *pair, rng=candidate_rng(seed, *pair), resolutions=resolutions,
                         **options)


def candidate_rng(seed: int, model: str, structure_factor: str | None) -> np.random.Generator:
    """The generator of one pair's draws: from the seed and the pair's name only, so a
    candidate's fit does not depend on which other candidates are fitted with it."""
    name = model_name(model, structure_factor).encode()
    return np.random.default_rng(np.random.SeedSequence([seed, zlib.crc32(name)]))


def check_candidate(model: str, structure_factor: str | None) -> None:
    """Raise ValueError naming the pair unless the catalogue can fit it."""
    if model not in CATALOG:
        raise ValueError(f"cannot fit {model!r}: not a catalogue class (see `sasnn catalog`)")
    if structure_factor is not None:
        if structure_factor not in STRUCTURE_FACTORS:
            raise ValueError(f"cannot fit {model}@{structure_factor}: unknown structure factor; "
                             f"valid: {', '.join(STRUCTURE_FACTORS)}")
        if not CATALOG[model].structure_factor:
            raise ValueError(f"cannot fit {model}@{structure_factor}: {model} takes no "
                             "structure factor in the catalogue; fit it alone")


def check_curve(curve: Curve) -> None:
    """Raise ValueError unless the curve has finite data, positive σ and enough points."""
    n = len(curve.q)
    name = curve.label or "curve"
    if curve.sigma is None or not np.all(np.asarray(curve.sigma) > 0):
        raise ValueError(f"{name}: fitting needs a positive sigma at every point; read the "
                         "file with sasnn.io.read.load_curves, which repairs it")
    if n < MIN_POINTS or not (np.all(np.isfinite(curve.q))
                              and np.all(np.isfinite(curve.intensity))):
        raise ValueError(f"{name}: fitting needs at least {MIN_POINTS} finite points, got {n}")


def fit_candidate(curves: Curve | Sequence[Curve], model: str, structure_factor: str | None, *,
                  rng: np.random.Generator, resolutions: Sequence | None = None,
                  time_limit: float | None = None, n_draws: int = 96, n_starts: int = 4,
                  thorough: bool = False, wide_share: float = WIDE_SHARE) -> FitResult:
    """Fit one pair to one curve (or jointly to entries) from its best prior draws.

    See :func:`fit_candidates` for the arguments; ``resolutions`` (one per curve) saves
    rebuilding them for every candidate.
    """
    curves = [curves] if isinstance(curves, Curve) else list(curves)
    check_candidate(model, structure_factor)
    for curve in curves:
        check_curve(curve)
    begin, work = time.perf_counter(), evaluation_count()
    clock = Clock(begin, time_limit)
    if resolutions is None:
        resolutions = [resolution_for_curve(c) for c in curves]
    starts, draws = draw_starts(curves, model, structure_factor, resolutions, rng=rng,
                                n_draws=n_draws, n_keep=n_starts, deadline=clock.deadline,
                                thorough=thorough, wide_share=wide_share)
    q = np.concatenate([c.q for c in curves])
    if not starts and clock.expired():
        return _failed(model, structure_factor, q, begin, clock,
                       f"stopped by the {time_limit:g} s time limit after {len(draws)} of {n_draws} "
                       "prior draws, none of them usable: the rank is provisional")
    if not starts:
        return _failed(model, structure_factor, q, begin, clock,
                       f"all {len(draws)} prior draws failed numerically on this curve's q points")
    tab = CATALOG[model].tabulate if structure_factor is None else None
    bounds = parameter_bounds(model, structure_factor, draws)
    # every start gets PROBE_STEPS of LM; only the best FINALISTS (thorough: all) go on,
    # to MAX_STEPS in all
    n_final = len(starts) if thorough else FINALISTS
    runs = []
    for start in starts:
        if runs and clock.expired():
            break
        problem = CandidateProblem.at(model, structure_factor, start, bounds, curves,
                                       resolutions, tab=tab)
        runs.append(run_lm(problem, PROBE_STEPS, clock))
    # ranked by BIC, not χ²: starts may differ in how many parameters they can determine
    runs.sort(key=lambda r: r.chi2 + len(r.names) * math.log(len(q)))
    finalists = [r if r.converged or clock.expired() else go_on(r, MAX_STEPS - PROBE_STEPS, clock)
                 for r in runs[:n_final]]
    best = min(finalists, key=lambda r: r.chi2 + len(r.names) * math.log(len(q)))
    steps = sum(r.steps for r in finalists + runs[n_final:])
    how = (f"{len(runs)} of {len(starts)} start(s), the best after {best.steps} LM steps "
           f"({steps} in all)")
    counts = integer_ranges(model, structure_factor)
    if counts and tab is None:
        best, recounted = _recount(best, counts, draws, bounds, clock)
        how += "".join(f", refitted with {name} = {n}" for name, n in recounted)
    if tab is not None and not clock.expired():
        # the table fixed the shape; refine every parameter on the direct kernel
        problem = best.problem
        params = problem.all_parameters(best.values)
        offsets = tuple((params[s], params[b]) for s, b in map(offset_names, range(len(curves))))
        start = Start({k: v for k, v in params.items() if not k.startswith(OFFSETS)},
                      offsets, best.chi2)
        refine = CandidateProblem.at(model, None, start,
                                     parameter_bounds(model, None, draws, shape=True),
                                     curves, resolutions, tabulate=False)
        run = run_lm(refine, MAX_STEPS, clock)
        if run.chi2 < best.chi2:
            best, how = run, how + f", refined on the direct kernel in {run.steps} steps"
    fitted = with_errors(best)
    problem, chi2 = best.problem, best.chi2
    values = {k: float(v) for k, (v, _) in fitted.items()}
    intensity = np.concatenate(problem.intensities(values))
    n, k = len(q), len(fitted)
    converged = best.converged and bool(np.all(np.abs(problem.residuals(values)) < PENALTY))
    parameters = {key: (float(v), float(e)) for key, (v, e) in fitted.items()}
    fixed = {key: v for key, v in problem.all_parameters(values).items() if key not in fitted}
    wide = f" ({wide_share:.0%} from the wide priors)" if wide_share > 0 else ""
    how += (f"; budget {n_draws} draws{wide}, {n_starts} starts x {PROBE_STEPS} LM steps, the best "
            f"{n_final} to {MAX_STEPS}{', dense length scans' if thorough else ''} "
            f"({k + 1} model evaluations a step): used "
            f"{evaluation_count() - work} evaluations")
    if not converged:
        how += f"; stopped at the {MAX_STEPS}-step limit before LM converged"
    stopped = clock.expired()
    if stopped:
        how += f"; stopped by the {time_limit:g} s time limit: the rank is provisional"
    return FitResult(
        model, structure_factor, chi2, chi2 / max(n - k, 1), chi2 + k * math.log(n),
        parameters, fixed, q, intensity, n, k, time.perf_counter() - begin, converged,
        how, stopped)


def _recount(best: LMRun, counts: Mapping[str, tuple[int, int]], draws: Sequence[Mapping],
             bounds: Mapping, clock: Clock, rounds: int = 4) -> tuple[LMRun, list]:
    """Try the counts next to the fitted ones (±1, ±2 shells, pearls or layers) at the
    fitted lengths; refit from any that beats the fit before LM even runs. LM cannot
    change a count, and the start chose it before the lengths were fitted."""
    changes = []
    for _ in range(rounds):
        chi2, problem = best.chi2, best.problem
        params = problem.all_parameters(best.values)
        params = {k: v for k, v in params.items() if not k.startswith(OFFSETS)}
        params |= {"scale": 1.0, "background": 0.0}
        screened = []
        for name, (lo, hi) in counts.items():
            if name not in params:  # shape3 of a 2-shell spherical_sld
                continue
            now = int(round(params[name]))
            for n in (now - 1, now + 1, now - 2, now + 2):
                if lo <= n <= hi and not clock.expired():
                    start = score_start(problem.curves, problem.model, problem.structure_factor,
                                        recount(params, name, n, draws), problem.resolutions)
                    if start is not None and start.chi2 < chi2:
                        screened.append((start.chi2, name, n, start))
        if not screened or clock.expired():
            break
        _, name, n, start = min(screened, key=lambda t: t[0])
        run = run_lm(CandidateProblem.at(problem.model, problem.structure_factor, start, bounds,
                                          problem.curves, problem.resolutions), MAX_STEPS, clock)
        if not run.chi2 < chi2:
            break
        best = run
        changes.append((name, n))
    return best, changes


def _failed(model, structure_factor, q, begin, clock, message) -> FitResult:
    inf = math.inf
    return FitResult(model, structure_factor, inf, inf, inf, {}, {}, q, np.empty(0), len(q),
                     0, time.perf_counter() - begin, False, message, clock.expired())


def rerank(results: Sequence[FitResult]) -> list[FitResult]:
    """Fits ordered by BIC, lowest (best) first; failed fits (BIC = inf) last."""
    return sorted(results, key=lambda r: (not math.isfinite(r.bic), r.bic))


def bic_weights(results: Sequence[FitResult],
                prior: Sequence[float] | None = None) -> np.ndarray:
    """Schwarz weights exp(−ΔBIC/2)·prior, normalised to 1 (0 for failed fits).

    With ``prior`` = the classifier's probabilities of the same candidates this is the
    posterior model probability under the BIC approximation of the evidence.
    """
    bic = np.array([r.bic for r in results], dtype=float)
    prior_arr = np.ones(len(bic)) if prior is None else np.asarray(prior, dtype=float)
    finite = np.isfinite(bic) & (prior_arr > 0)
    weights = np.zeros(len(bic))
    if finite.any():
        log_w = -0.5 * (bic[finite] - bic[finite].min()) + np.log(prior_arr[finite])
        weights[finite] = np.exp(log_w - log_w.max())
        weights /= weights.sum()
    return weights
