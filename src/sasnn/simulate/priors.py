"""The vocabulary of the catalogue table: a varied parameter's :class:`Prior`, a size's
:class:`Polydispersity`, a slow class's :class:`Tabulation`, and the entries
:class:`ModelClass` and :class:`StructureFactorClass`, each checked for structure when it
is built. The table itself is :mod:`sasnn.simulate.catalog`; drawing from it is
:mod:`sasnn.simulate.sampling`.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Literal

import numpy as np

Scale = Literal["linear", "log", "int"]
Constraint = Callable[[dict], "dict | None"]
_DISTRIBUTIONS = ("lognormal", "schulz", "gaussian", "rectangle", "uniform", "boltzmann")


# --------------------------------------------------------------------------- types
@dataclass(frozen=True)
class Prior:
    """Sampling range of one varied parameter.

    ``scale`` is ``"linear"`` (uniform in [low, high]), ``"log"`` (log-uniform,
    low > 0) or ``"int"`` (uniform integer in [low, high], both included).
    ``steps`` > 1 draws uniformly from that many values evenly spaced (on ``scale``)
    from low to high instead: used for shape parameters of tabulated models.
    ``zero_share`` of the draws are exactly 0 and ``negative_share`` of the others are
    negated: how a log-spread prior also reaches 0 or the other sign (a perfect stack, an
    interaction of either sign), which a log scale cannot. Both 0 (the catalogue's priors)
    draw exactly as before.
    """

    low: float
    high: float
    scale: Scale = "linear"
    unit: str = ""
    steps: int = 0
    zero_share: float = 0.0
    negative_share: float = 0.0

    @property
    def values(self) -> np.ndarray:
        """The ``steps`` allowed values (empty for a continuous prior)."""
        if self.steps < 2:
            return np.empty(0)
        if self.scale == "log":
            return np.geomspace(self.low, self.high, self.steps)
        return np.linspace(self.low, self.high, self.steps)

    def sample(self, rng: np.random.Generator) -> float:
        if self.zero_share and rng.random() < self.zero_share:
            return 0.0
        value = self._sample_range(rng)
        if self.negative_share and rng.random() < self.negative_share:
            return -value
        return value

    def covers(self, value: float) -> bool:
        """Whether a draw can take ``value`` (or a value as close as one likes)."""
        if self.zero_share and value == 0:
            return True
        if self.negative_share and value < 0:
            value = -value
        return self.low <= value <= self.high

    def _sample_range(self, rng: np.random.Generator) -> float:
        if self.steps >= 2:
            return float(self.values[rng.integers(self.steps)])
        if self.scale == "log":
            return float(math.exp(rng.uniform(math.log(self.low), math.log(self.high))))
        if self.scale == "int":
            return float(rng.integers(int(self.low), int(self.high), endpoint=True))
        return float(rng.uniform(self.low, self.high))

    @property
    def median(self) -> float:
        """Median of the prior: geometric mean for log priors."""
        if self.steps >= 2:
            return float(self.values[self.steps // 2])
        if self.scale == "log":
            return float(math.sqrt(self.low * self.high))
        if self.scale == "int":
            return float(round(0.5 * (self.low + self.high)))
        return 0.5 * (self.low + self.high)


@dataclass(frozen=True)
class Polydispersity:
    """Size distribution of one (volume) parameter.

    ``width`` is the range of the relative width σ/mean, drawn uniformly per
    curve; ``npts`` and ``nsigmas`` are sasmodels' ``_pd_n`` and ``_pd_nsigma``.
    """

    width: tuple[float, float]
    distribution: str = "lognormal"
    npts: int = 15
    nsigmas: float = 3.0

    @property
    def median(self) -> float:
        return 0.5 * (self.width[0] + self.width[1])


@dataclass(frozen=True)
class Tabulation:
    """Evaluate a slow model by rescaling one tabulated curve per shape.

    If every length of a body scales with ``length`` L (the parameters in ``scaled``
    as L**power, e.g. ``{"radius": 1}`` for R = fill·dnn, ``{"alpha": -1}`` for a
    curvature), sasmodels' I(q) = Δρ² |F|²/V obeys exactly I(q; L) = L³ I(q·L; L=1).
    With the remaining shape parameters drawn from a few ``Prior.steps``, ``simulate``
    evaluates the kernel once per process and shape on a grid of x = q·L and
    interpolates log I. The grid is log-spaced (relative step ``log_step``) from
    ``x_min``, then linear (``step``) where that is finer, up to ``x_max``; a curve
    reaching beyond ``x_max`` is computed directly. Below ``x_min`` the curve is flat.
    """

    length: str
    x_max: float
    scaled: Mapping[str, int] = field(default_factory=dict)
    x_min: float = 1e-3
    log_step: float = 0.02
    step: float | None = None

    @property
    def x(self) -> np.ndarray:
        """The tabulation grid x = q·L (dimensionless), increasing."""
        x_lin = self.x_max if self.step is None else min(self.step / self.log_step, self.x_max)
        n_log = max(int(math.ceil(math.log(x_lin / self.x_min) / self.log_step)), 1)
        parts = [self.x_min * np.exp(self.log_step * np.arange(n_log))]
        if self.step is not None and x_lin < self.x_max:
            parts.append(np.arange(x_lin, self.x_max + self.step, self.step))
        else:
            parts.append([self.x_max])
        return np.concatenate(parts)


@dataclass(frozen=True)
class ModelClass:
    """One class of the catalogue: a sasmodels form factor and its priors.

    Attributes
    ----------
    name : str
        sasmodels model name, which is also the class label.
    priors : mapping str -> Prior
        Varied parameters, drawn in this order.
    fixed : mapping str -> float
        Parameters pinned away from the sasmodels defaults.
    polydisperse : mapping str -> Polydispersity
        Size parameters with a distribution.
    constraint : callable or None
        ``f(params) -> params or None``: repairs/derives dependent values, or
        rejects the draw with ``None``. Gets (and may modify) a fresh dict.
    structure_factor : bool
        Whether this class may carry a structure factor (``P@S``); needs a
        particle with a volume and an effective radius in sasmodels.
    radius_effective : str
        sasmodels' ``radius_effective_mode`` (by name) used for ``P@S``.
    reason : str
        Why these priors: which feature sits where in q.
    cost : str
        For slow models: what was cut to make them affordable.
    tabulate : Tabulation or None
        Evaluate through a per-process table of the scaled curve (slow bodies with
        a single length and a few discrete shapes).
    """

    name: str
    priors: Mapping[str, Prior]
    fixed: Mapping[str, float] = field(default_factory=dict)
    polydisperse: Mapping[str, Polydispersity] = field(default_factory=dict)
    constraint: Constraint | None = None
    structure_factor: bool = False
    radius_effective: str = "equivalent volume sphere"
    reason: str = ""
    cost: str = ""
    tabulate: Tabulation | None = None

    def __post_init__(self) -> None:
        _check_structure(self)


@dataclass(frozen=True)
class StructureFactorClass:
    """One interparticle structure factor S(q) and its priors.

    ``radius_effective`` is never drawn: sasmodels derives it from the form
    factor (``ModelClass.radius_effective``). ``constraint`` sees the combined
    P and S parameters, so it can relate e.g. the Debye length to the size.
    """

    name: str
    priors: Mapping[str, Prior]
    fixed: Mapping[str, float] = field(default_factory=dict)
    constraint: Constraint | None = None
    reason: str = ""

    def __post_init__(self) -> None:
        _check_structure(self)


# --------------------------------------------------------------- table helpers
def lin(low: float, high: float, unit: str = "") -> Prior:
    return Prior(low, high, "linear", unit)


def log(low: float, high: float, unit: str = "") -> Prior:
    return Prior(low, high, "log", unit)


def integer(low: int, high: int) -> Prior:
    return Prior(low, high, "int")


def pd(low: float = 0.05, high: float = 0.3, dist: str = "lognormal", npts: int = 15,
       nsigmas: float = 3.0) -> Polydispersity:
    return Polydispersity((low, high), dist, npts, nsigmas)


A, SLD = "Å", "1e-6/Å²"
# sasmodels integrates orientations with 20/76/500/5000 Gauss points for q·D below
# 10/100/750/above (lib/adaptive.c): keeping the largest dimension D <= 700 Å keeps
# q·D < 750 up to q = 1 Å⁻¹, i.e. never the 5000-point rule.
MAX_DIM = 700.0


# ================================================================== checks
def _check_structure(entry: ModelClass | StructureFactorClass) -> None:
    """Structural checks that need no sasmodels: raise ValueError naming model and parameter."""
    name = entry.name
    if not name or not isinstance(name, str):
        raise ValueError(f"catalogue entry has no model name: {entry!r}")
    for par, prior in entry.priors.items():
        where = f"{name}: prior for {par!r}"
        if not isinstance(prior, Prior):
            raise ValueError(f"{where} must be a Prior, got {prior!r}")
        if not (math.isfinite(prior.low) and math.isfinite(prior.high)):
            raise ValueError(f"{where} has non-finite bounds {prior.low}..{prior.high}")
        if prior.low > prior.high:
            raise ValueError(f"{where} has low {prior.low} > high {prior.high}; swap them")
        if prior.scale not in ("linear", "log", "int"):
            raise ValueError(f"{where} has scale {prior.scale!r}; use 'linear', 'log' or 'int'")
        if prior.scale == "log" and prior.low <= 0:
            raise ValueError(f"{where} is a log prior with low {prior.low} <= 0; use a "
                             "positive low bound or a linear prior")
        if prior.scale == "int" and (prior.low != int(prior.low) or prior.high != int(prior.high)):
            raise ValueError(f"{where} is an integer prior with non-integer bounds")
    if any(par.startswith("_") for par in entry.priors) and entry.constraint is None:
        raise ValueError(f"{name}: auxiliary priors (names starting with '_') need a "
                         "constraint that turns them into model parameters")
    for par, value in entry.fixed.items():
        if not isinstance(value, int | float) or not math.isfinite(value):
            raise ValueError(f"{name}: fixed value of {par!r} must be a finite number, got {value!r}")
        if par in entry.priors:
            raise ValueError(f"{name}: {par!r} is both fixed and varied; keep one")
    for par in ("scale", "background"):
        if par in entry.priors or par in entry.fixed:
            raise ValueError(f"{name}: {par!r} belongs to the instrument, not the catalogue")
    if isinstance(entry, ModelClass):
        for par, dist in entry.polydisperse.items():
            where = f"{name}: polydispersity of {par!r}"
            lo, hi = dist.width
            if not 0 <= lo <= hi < 1:
                raise ValueError(f"{where} has width range {dist.width}; need 0 <= low <= high < 1")
            if dist.distribution not in _DISTRIBUTIONS:
                raise ValueError(f"{where} has distribution {dist.distribution!r}; "
                                 f"use one of {', '.join(_DISTRIBUTIONS)}")
            if dist.npts < 1 or dist.nsigmas <= 0:
                raise ValueError(f"{where} needs npts >= 1 and nsigmas > 0")
        tab = entry.tabulate
        if tab is not None:
            if tab.length not in entry.priors or entry.structure_factor or entry.polydisperse:
                raise ValueError(f"{name}: tabulate needs {tab.length!r} among the priors, no "
                                 "structure factor and no polydispersity")
            for par, prior in entry.priors.items():
                if par != tab.length and prior.steps < 2:
                    raise ValueError(f"{name}: tabulated, so the prior for {par!r} needs "
                                     "steps >= 2 (a few discrete shapes)")
        median = _base(entry, {par: prior.median for par, prior in entry.priors.items()},
                       {par: d.median for par, d in entry.polydisperse.items()})
        if entry.constraint is not None and entry.constraint(median) is None:
            raise ValueError(f"{name}: the constraint rejects the prior median; "
                             "widen the priors or relax the constraint")


def _base(entry: ModelClass, values: dict, widths: dict) -> dict:
    params: dict = {"scale": 1.0, "background": 0.0}
    params.update({k: float(v) for k, v in entry.fixed.items()})
    params.update(values)
    for par, dist in entry.polydisperse.items():
        params[f"{par}_pd"] = widths[par]
        params[f"{par}_pd_type"] = dist.distribution
        params[f"{par}_pd_n"] = int(dist.npts)
        params[f"{par}_pd_nsigma"] = float(dist.nsigmas)
    return params


__all__ = ["A", "MAX_DIM", "SLD", "Constraint", "ModelClass", "Polydispersity", "Prior",
           "StructureFactorClass", "Tabulation", "integer", "lin", "log", "pd"]
