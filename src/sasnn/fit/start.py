"""Where a fit of one catalogue class to one measured curve starts, and what it may vary.

:mod:`sasnn.fit.candidates` confirms the classifier's candidates by least-squares fits. A local
optimiser needs a start in the right basin, so the starts come from the simulated
curves nearest to the data, computed on the data's own q points and resolution:

1. draw ``n_draws`` parameter sets from the class's catalogue prior
   (:func:`sasnn.simulate.sampling.sample_parameters`, seeded), each with every length
   stretched by one common factor so that the class's features can fall anywhere in
   the data's q window (:func:`stretch_range`). On request (``wide_share``) a share of
   them comes from the class's wide prior instead (:func:`sasnn.simulate.wide.sample_wide`:
   aspect ratios, counts, contrasts and polydispersities beyond the catalogue's),
   stretched only as far as the data reach beyond :data:`Q_WINDOW`. Off by default
   (:data:`WIDE_SHARE`): on curves from beyond the training priors it let the wrong
   candidates fit as well as the true one more often than it rescued the true one's fit
   (docs/generalisation.md, "Fits that start from the wide priors");
2. simulate each draw with :func:`sasnn.simulate.kernels.model_intensity` (cached kernels);
3. solve the linear least-squares problem for a non-negative scale and flat
   background per draw (:func:`linear_scale_background`), which is what the
   network's preprocessing throws away;
4. keep the few draws of lowest χ² (:class:`Start`);
5. rescale every length of each kept draw by one common factor from
   :data:`STRETCH_SCAN`, then :data:`STRETCH_FINE` around the best, and keep the best:
   form-factor fringes make χ² multimodal in size, and this puts each start in the
   data's basin; then each length alone (:data:`LENGTH_SCAN`, :data:`LENGTH_FINE`),
   which moves a Bragg peak apart from a layer's fringe;
6. for classes with integer parameters (shells, pearls, layers: :func:`integer_ranges`),
   try every value of each in its prior range and keep the best, then scan the
   lengths again. Least squares cannot move a count (χ² is a step function of it),
   so a start with the wrong count would end in a wrong fit whatever LM does.

This is "the stored parameters of the nearest simulated training curves" done on
the exact grid of the data rather than on the network's grid, so that no stored
dataset is needed at prediction time.

The same draws bound the fit (:func:`parameter_bounds`): each varied parameter may
move over the range its draws covered, widened ×/÷3 (log priors, and derived
positive parameters spanning more than that factor) or by half the range (linear
priors, others), never past sasmodels' own limits.
"""

from __future__ import annotations

import math
import time
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cache

import numpy as np

from sasnn.io.curve import Curve
from sasnn.simulate.catalog import CATALOG, STRUCTURE_FACTORS
from sasnn.simulate.kernels import model_intensity, model_name
from sasnn.simulate.sampling import sample_parameters

__all__ = [
    "PD_MIN",
    "Q_WINDOW",
    "Start",
    "WIDE_SHARE",
    "draw_starts",
    "evaluation_count",
    "integer_ranges",
    "linear_scale_background",
    "parameter_bounds",
    "recount",
    "resolution_for_curve",
    "safe_intensity",
    "score_start",
    "stretch_range",
]

Q_WINDOW = (0.005, 0.3)  # Å⁻¹: where catalog.py's priors put every class's features
PD_MIN = 0.02  # lowest fitted polydispersity: dI/d(pd) = 0 at pd = 0, where LM would stick
STRETCH_BEYOND = 3.0  # features may lie this factor in q outside the data (stretch_range)
# common length factors tried around each kept draw (draw_starts): 12 % steps over ×/÷2,
# then 4 % steps between the best and its neighbours (coarse to fine: half the model
# evaluations of a 4 % grid)
STRETCH_SCAN = tuple(float(f) for f in np.geomspace(0.5, 2.0, 13))
STRETCH_FINE = tuple(float(f) for f in np.geomspace(1 / 1.122, 1.122, 7)[1:-1] if abs(f - 1) > 1e-9)
# factors tried on each length alone, after the common stretch: 14 % steps over ×/÷1.5,
# then 5 % steps between the best and its neighbours
LENGTH_SCAN = tuple(float(f) for f in np.geomspace(1 / 1.5, 1.5, 7))
LENGTH_FINE = tuple(float(f) for f in np.geomspace(1 / 1.145, 1.145, 7)[1:-1] if abs(f - 1) > 1e-9)
# a thorough search (the reference models: sasnn.identify.confirm) scans each grid in one
# dense pass instead, ±4 % and ±5 % steps: on AOT's core contrast the coarse-to-fine pass
# left core_shell_sphere@hardsphere in a basin 8 BIC units above the dense one's
DENSE_STRETCH_SCAN = tuple(float(f) for f in np.geomspace(0.5, 2.0, 35))
DENSE_LENGTH_SCAN = tuple(float(f) for f in np.geomspace(1 / 1.5, 1.5, 17))
WIDEN = 3.0  # a positive parameter may leave the range of its draws by this factor
# default share of the draws from the wide priors: none. Half (wide bounds for every
# candidate) lost more true models from the fitted top 3 than it won (docs/generalisation.md).
# Never for tabulated classes: each new shape there is a new table (minutes).
WIDE_SHARE = 0.0
# how a length stretch of factor f scales a parameter, by its sasmodels unit
_STRETCH_POWER = {"Ang": 1, "Ang^2": 2, "Ang^3": 3, "1/Ang": -1}
# bookkeeping keys of a sasmodels parameter dict that are never fitted
_NOT_FITTED = ("scale", "background", "radius_effective_mode", "radius_effective",
               # sample conditions the experimenter knows; in hayter_msa they act only
               # through the Bjerrum length, with the fitted salt and charge
               "temperature", "dielectconst")


@dataclass(frozen=True)
class Start:
    """One start of a fit: a sasmodels parameter set and its χ² at the data.

    ``params`` is the draw (``scale`` 1, ``background`` 0); ``offsets`` the
    ``(scale, background)`` of each curve from the linear solve; ``chi2`` is
    Σ((scale·I_model + background − I)/σ)² over every curve's points.
    """

    params: Mapping[str, float | str]
    offsets: tuple[tuple[float, float], ...]
    chi2: float


def resolution_for_curve(curve: Curve):
    """The sasmodels resolution of a measured curve, as sasmodels itself would choose it.

    Pinhole (``Pinhole1D``, Gaussian 1-σ width ``curve.dq`` in Å⁻¹) when the curve has
    a positive dQ, else slit (``Slit1D`` with slit length ``curve.dq_slit`` in Å⁻¹, as
    USANS files give it), else none (``Perfect1D``). This is the order of
    ``sasmodels.direct_model`` for a ``Data1D`` with ``dx`` and ``dxl``.
    """
    from sasmodels.resolution import Perfect1D, Pinhole1D, Slit1D

    q = np.asarray(curve.q, dtype=float)
    if curve.dq is not None and np.any(curve.dq > 0):
        return Pinhole1D(q, np.asarray(curve.dq, dtype=float))
    if curve.dq_slit is not None and np.any(curve.dq_slit > 0):
        return Slit1D(q, q_length=np.asarray(curve.dq_slit, dtype=float))
    return Perfect1D(q)


def stretch_range(q: np.ndarray) -> tuple[float, float]:
    """Factors by which a class's lengths may be stretched to suit this q window.

    The catalogue's priors put each feature inside :data:`Q_WINDOW`. Features sit at
    q ∝ 1/L, so data that reach q_min below the window's start allow lengths up to
    ``Q_WINDOW[0] / q_min`` times larger (USANS: ~60×), and data beyond its end
    lengths ``Q_WINDOW[1] / q_max`` times smaller. A further factor
    :data:`STRETCH_BEYOND` each way lets features lie just outside the data, where
    they still shape the curve inside it (a 0.25 µm latex sphere's smeared fringes in
    a SANS window that starts at 0.004 Å⁻¹, above its Guinier knee).
    """
    low = min(1.0, Q_WINDOW[1] / float(np.max(q))) / STRETCH_BEYOND
    return low, max(1.0, Q_WINDOW[0] / float(np.min(q))) * STRETCH_BEYOND


def linear_scale_background(model: np.ndarray, y: np.ndarray,
                            sigma: np.ndarray) -> tuple[float, float, float]:
    """Best non-negative ``scale`` and ``background`` for ``y ≈ scale·model + background``.

    Parameters
    ----------
    model, y, sigma : ndarray, shape (n,)
        Model intensity at scale 1 and background 0, data and its 1-σ error (cm⁻¹).

    Returns
    -------
    scale, background, chi2 : float
        Minimiser of Σ((scale·model + background − y)/σ)² with both ≥ 0, and its χ².
    """
    from scipy.optimize import nnls

    w = 1.0 / sigma
    design = np.column_stack([model * w, w])
    norms = np.linalg.norm(design, axis=0)
    norms[norms == 0] = 1.0
    coef, rnorm = nnls(design / norms, y * w)
    scale, background = coef / norms
    return float(scale), float(background), float(rnorm**2)


@cache
def _units(model: str, structure_factor: str | None) -> Mapping[str, str]:
    from sasmodels.core import load_model_info

    info = load_model_info(model_name(model, structure_factor))
    return {p.name: p.units for p in info.parameters.call_parameters}


@cache
def _limits(model: str, structure_factor: str | None) -> Mapping[str, tuple[float, float]]:
    from sasmodels.core import load_model_info

    info = load_model_info(model_name(model, structure_factor))
    return {p.name: tuple(map(float, p.limits)) for p in info.parameters.call_parameters}


def _stretch(params: dict, factor: float, units: Mapping[str, str], skip=()) -> dict:
    out = dict(params)
    for name, value in params.items():
        power = _STRETCH_POWER.get(units.get(name, ""))
        if power and name not in skip and isinstance(value, float):
            out[name] = value * factor**power
    return out


def draw_starts(curves: Sequence[Curve], model: str, structure_factor: str | None,
                resolutions: Sequence, *, rng: np.random.Generator, n_draws: int = 96,
                n_keep: int = 3, deadline: float = math.inf,
                thorough: bool = False, wide_share: float = WIDE_SHARE) -> tuple[list[Start], list[dict]]:
    """The ``n_keep`` prior draws whose simulated curves lie nearest to the data.

    Parameters
    ----------
    curves : sequence of Curve
        The measured curve, or several entries of one sample fitted jointly (shared
        model parameters, a scale and background per entry): q (Å⁻¹), intensity and
        sigma (cm⁻¹).
    model, structure_factor : str, str or None
        The candidate pair; ``model`` must be a catalogue class.
    resolutions : sequence of sasmodels resolutions
        One per curve, from :func:`resolution_for_curve`.
    rng : numpy.random.Generator
        Source of the draws and of the length stretch factors.
    n_draws, n_keep : int
        Draws simulated, starts kept (best χ² first).
    deadline : float
        ``time.perf_counter()`` after which no further draw starts (a tabulated class
        may build a table per draw on first use).
    wide_share : float
        Share of the draws from the class's wide prior (0: the catalogue's only).

    Returns
    -------
    starts : list of Start
        Best first; empty when every draw failed numerically.
    draws : list of dict
        Every stretched draw made (scale 1, background 0), for :func:`parameter_bounds`.
    """
    entry = CATALOG[model]
    units = _units(model, structure_factor)
    tab = entry.tabulate if structure_factor is None else None
    counts = integer_ranges(model, structure_factor)
    if not 0.0 <= wide_share <= 1.0:
        raise ValueError(f"wide_share must lie in [0, 1], got {wide_share}")
    q = np.concatenate([c.q for c in curves])
    low, high = np.log(stretch_range(q))
    # the wide priors already span 4x beyond the catalogue's lengths: they stretch
    # only as far as the data reach beyond the window the catalogue was made for
    wide_low, wide_high = np.log(np.array(stretch_range(q)) * np.array([STRETCH_BEYOND, 1 / STRETCH_BEYOND]))

    def score(params: dict) -> Start | None:
        return score_start(curves, model, structure_factor, params, resolutions)

    scored, draws = [], []
    for _ in range(n_draws):
        if time.perf_counter() > deadline:
            break
        params = None
        if wide_share > 0 and entry.tabulate is None and rng.random() < wide_share:  # 0: as before
            params = _wide_draw(entry, rng, structure_factor)
            factor = math.exp(rng.uniform(wide_low, wide_high))
        if params is None:
            params = sample_parameters(entry, rng, structure_factor=structure_factor)
            factor = math.exp(rng.uniform(low, high))
        params = _stretch(params, factor, units, skip=("radius_effective",))
        draws.append(params)
        start = score(params)
        if start is not None:
            scored.append(start)
    scored.sort(key=lambda s: s.chi2)
    if tab is not None:  # one start per tabulated shape: the fit cannot change the shape
        seen: set = set()
        scored = [s for s in scored
                  if not (_shape_key(s.params, tab) in seen or seen.add(_shape_key(s.params, tab)))]
    # Fringes make χ² multimodal in the lengths: a draw of the right shape but 30 %
    # too large starts in the wrong basin. Scanning one common length factor moves
    # every feature along q together, into the data's basin, before LM takes over.
    stretch_grids = (DENSE_STRETCH_SCAN,) if thorough else (STRETCH_SCAN, STRETCH_FINE)
    length_grids = (DENSE_LENGTH_SCAN,) if thorough else (LENGTH_SCAN, LENGTH_FINE)

    def stretched(start: Start) -> Start:
        for factors in stretch_grids:  # coarse, then fine around the best (or one dense pass)
            base = start.params
            start = _best_variant(start, (_stretch(base, factor, units, skip=("radius_effective",))
                                          for factor in factors), score, deadline)
        return start

    # then each length alone: a stack's period and its layers' thickness, a core and
    # its shell, set peaks and fringes apart and a common stretch keeps their ratio.
    # Not for a tabulated class: a new ratio of its lengths is a new table (minutes).
    lengths = [] if tab is not None else [name for name, unit in units.items()
                                          if unit == "Ang" and name != "radius_effective"]

    def one_by_one(start: Start) -> Start:
        for name in lengths:
            for factors in length_grids:
                base = start.params
                if isinstance(base.get(name), float):
                    start = _best_variant(start, ({**base, name: base[name] * factor}
                                                  for factor in factors), score, deadline)
        return start

    refined = []
    for start in scored[:n_keep]:
        best = one_by_one(stretched(start))
        if counts:
            recounted = best
            for name, (lo, hi) in counts.items():  # one count at a time, the others held
                recounted = _best_variant(recounted, (recount(recounted.params, name, n, draws)
                                                      for n in range(lo, hi + 1)), score, deadline)
            best = stretched(recounted) if recounted is not best else best
        refined.append(best)
    return sorted(refined, key=lambda s: s.chi2), draws


def _wide_draw(entry, rng: np.random.Generator, structure_factor: str | None) -> dict | None:
    """One draw of the class's wide prior, or None where its physics or S(q) found none."""
    from sasnn.simulate.wide import sample_wide

    try:
        return sample_wide(entry, rng, structure_factor=structure_factor)
    except RuntimeError:  # the physics rejected every try: the catalogue's prior instead
        return None


def recount(params: Mapping, name: str, count: int, draws: Sequence[Mapping]) -> dict:
    """``params`` with the integer parameter ``name`` set to ``count``. A larger count
    needs the parameters of its extra shells (``thickness3``, ``sld3``, ...), which a
    draw with fewer has not: they come from the first draw with that count."""
    donor = next((d for d in draws if d.get(name) == count), {})
    return {**donor, **params, name: float(count)}


def _best_variant(start: Start, variants, score, deadline: float) -> Start:
    """The lowest-χ² Start among ``start`` and the scored parameter sets ``variants``."""
    best = start
    for params in variants:
        if time.perf_counter() > deadline:
            break
        candidate = score(params)
        if candidate is not None and candidate.chi2 < best.chi2:
            best = candidate
    return best


def score_start(curves: Sequence[Curve], model: str, structure_factor: str | None,
                params: Mapping, resolutions: Sequence) -> Start | None:
    """``params`` (scale 1, background 0) as a Start: each curve's best non-negative
    scale and background and the total χ²; None where the model fails or needs a
    scale ≤ 0."""
    offsets, chi2 = [], 0.0
    for curve, resolution in zip(curves, resolutions, strict=True):
        intensity = safe_intensity(model, structure_factor, params, resolution)
        if intensity is None:
            return None
        scale, background, part = linear_scale_background(
            intensity, np.asarray(curve.intensity, float), np.asarray(curve.sigma, float))
        if not scale > 0:
            return None
        offsets.append((scale, background))
        chi2 += part
    return Start(dict(params), tuple(offsets), chi2) if math.isfinite(chi2) else None


@cache
def integer_ranges(model: str, structure_factor: str | None = None) -> Mapping[str, tuple[int, int]]:
    """The class's integer-valued sasmodels parameters (counts of shells, pearls, layers,
    arms; shape switches) and their prior ranges, ``{name: (low, high)}``, both included."""
    units = _units(model, structure_factor)
    return {name: (int(prior.low), int(prior.high)) for name, prior in CATALOG[model].priors.items()
            if prior.scale == "int" and name in units}


def _shape_key(params: Mapping, tab) -> tuple:
    return tuple(sorted((k, round(v / params[tab.length] ** tab.scaled.get(k, 0), 6))
                        for k, v in params.items()
                        if isinstance(v, float) and k not in ("scale", "background", tab.length)))


_EVALUATIONS = [0]  # model evaluations in this process: the fits' unit of work


def evaluation_count() -> int:
    """How many model curves :func:`safe_intensity` has computed in this process; a fit
    reports the difference, the work it did (the same on every machine)."""
    return _EVALUATIONS[0]


def safe_intensity(model: str, structure_factor: str | None, params: Mapping,
                   resolution, *, tabulate: bool = True) -> np.ndarray | None:
    """``model_intensity``, or None where sasmodels fails or returns non-finite values."""
    _EVALUATIONS[0] += 1
    try:
        with np.errstate(all="ignore"), warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            intensity = model_intensity(model, structure_factor, params, resolution,
                                        tabulate=tabulate)
    except (ArithmeticError, ValueError, RuntimeError):
        return None
    return intensity if np.all(np.isfinite(intensity)) else None


def parameter_bounds(model: str, structure_factor: str | None, draws: Sequence[Mapping], *,
                     shape: bool = False) -> dict[str, tuple[float, float]]:
    """Bounds of every parameter a fit of this pair may vary, from the prior draws.

    A parameter is varied when the draws vary it, it is a float, and not an integer
    count (shells, arms, sides: those stay at their start, chosen by
    :func:`draw_starts`). A shell's parameters count even if only the draws with that
    many shells have them. Polydispersity widths of
    the catalogue's polydisperse parameters are varied in [PD_MIN, 0.5]. Tabulated classes
    vary only their length (the others pick the tabulated shape) unless ``shape``.

    Returns
    -------
    dict
        ``{name: (low, high)}`` in the parameter's sasmodels unit, insertion order
        = the catalogue's (the most important parameters first).
    """
    entry = CATALOG[model]
    limits = _limits(model, structure_factor)
    fixed = set(entry.fixed)
    if structure_factor is not None:
        fixed |= set(STRUCTURE_FACTORS[structure_factor].fixed)
    priors = dict(entry.priors)
    if structure_factor is not None:
        priors.update(STRUCTURE_FACTORS[structure_factor].priors)
    tab = entry.tabulate if structure_factor is None and not shape else None
    bounds: dict[str, tuple[float, float]] = {}
    # every name of every draw: a draw with 2 shells has no thickness3, one with 4 has
    names = dict.fromkeys(name for d in draws for name in d)
    for name in names:
        if name in _NOT_FITTED or name in fixed or name not in limits:
            continue
        if tab is not None and name != tab.length:
            continue
        present = [d[name] for d in draws if name in d]
        values = np.array([v for v in present if isinstance(v, float)])
        if values.size < max(2, len(present)) or np.ptp(values) == 0 or np.all(values == np.round(values)):
            continue
        lo, hi = float(values.min()), float(values.max())
        prior = priors.get(name)
        if lo > 0 and (prior.scale == "log" if prior is not None else hi > WIDEN * lo):
            lo, hi = lo / WIDEN, hi * WIDEN
        else:
            lo, hi = lo - 0.5 * (hi - lo), hi + 0.5 * (hi - lo)
        bounds[name] = (max(lo, limits[name][0]), min(hi, limits[name][1]))
    for name in entry.polydisperse:
        bounds[f"{name}_pd"] = (PD_MIN, 0.5)
    return bounds
