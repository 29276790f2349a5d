"""THE table of scattering-model classes and the priors that sample them.

Every sasmodels 1D form-factor and shape-independent model is a class here,
except the few in :data:`EXCLUDED` (each with its reason). The class label is
the sasmodels model name; :data:`CATALOG` is ordered and its order is the class
order. :data:`STRUCTURE_FACTORS` holds the interparticle structure factors that
may multiply a form factor (sasmodels' ``P@S`` product).

No other module spells out a model name: adding a class means adding one
``ModelClass`` entry to ``_FORM_FACTORS`` below, nothing else.

Conventions of the table
------------------------
* Lengths in Å, SLDs in 1e-6 Å⁻², q in Å⁻¹.
* ``priors`` are the parameters that vary, each drawn independently (uniform or
  log-uniform), then ``constraint`` repairs/derives dependent values or rejects
  the draw (returns ``None``; the sampler draws again).
* ``fixed`` pins parameters away from sasmodels' defaults; everything else takes
  the sasmodels default.
* ``scale`` = 1 and ``background`` = 0 always: the instrument sets absolute
  scale and flat background. With scale = 1 the intensity of a particle model
  is that of volume fraction 1 (cm⁻¹), i.e. Δρ² V P(q) S(q).
* Priors are chosen so that each class's distinguishing feature (Guinier knee,
  form-factor minima, Bragg/correlation peak, power-law slope) falls inside
  q ≈ 0.005–0.3 Å⁻¹, the window common to our instruments. ``reason`` says
  which feature sits where.

The table is checked for structure when this module is imported
(:func:`_check_structure`) and against sasmodels itself by
:func:`validate_catalog` (names exist, parameters exist, bounds inside the
model's own limits), which the tests and the simulator call.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import cache
from types import MappingProxyType
from typing import Literal

import numpy as np

__all__ = [
    "CATALOG",
    "EXCLUDED",
    "EXCLUDED_STRUCTURE_FACTORS",
    "STRUCTURE_FACTORS",
    "ModelClass",
    "Polydispersity",
    "Prior",
    "StructureFactorClass",
    "median_parameters",
    "sample_parameters",
    "validate_catalog",
]

Scale = Literal["linear", "log", "int"]
Constraint = Callable[[dict], "dict | None"]
_DISTRIBUTIONS = ("lognormal", "schulz", "gaussian", "rectangle", "uniform", "boltzmann")
_MAX_TRIES = 1000  # a constraint rejecting more often than this is a bug in the table


# --------------------------------------------------------------------------- types
@dataclass(frozen=True)
class Prior:
    """Sampling range of one varied parameter.

    ``scale`` is ``"linear"`` (uniform in [low, high]), ``"log"`` (log-uniform,
    low > 0) or ``"int"`` (uniform integer in [low, high], both included).
    """

    low: float
    high: float
    scale: Scale = "linear"
    unit: str = ""

    def sample(self, rng: np.random.Generator) -> float:
        if self.scale == "log":
            return float(math.exp(rng.uniform(math.log(self.low), math.log(self.high))))
        if self.scale == "int":
            return float(rng.integers(int(self.low), int(self.high), endpoint=True))
        return float(rng.uniform(self.low, self.high))

    @property
    def median(self) -> float:
        """Median of the prior: geometric mean for log priors."""
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


# ======================================================================= the table
# (entries are filled in below; the machinery that reads them follows the table)
_FORM_FACTORS: list[ModelClass] = [
    ModelClass(
        "sphere",
        priors={"radius": log(15, 600, A)},
        fixed={"sld": 1.0, "sld_solvent": 6.0},
        polydisperse={"radius": pd(0.05, 0.3)},
        structure_factor=True,
        radius_effective="radius",
        reason="R 15-600 Å: Guinier knee q≈1.3/R and the first minimum 4.49/R in 0.007-0.3 Å⁻¹",
    ),
]

_STRUCTURE_FACTORS: list[StructureFactorClass] = [
    StructureFactorClass(
        "hardsphere",
        priors={"volfraction": lin(0.03, 0.45)},
        reason="Percus-Yevick; φ 0.03-0.45 from barely visible to a strong correlation peak",
    ),
]

EXCLUDED: Mapping[str, str] = MappingProxyType({
    "line": "not a scattering model: a straight line I = a + b q, used for calibration fits",
    "micromagnetic_FF_3D": "magnetic SANS of spin-misaligned particles: needs polarisation and "
    "field, and its unpolarised 1D curve is a core-shell sphere",
})
EXCLUDED_STRUCTURE_FACTORS: Mapping[str, str] = MappingProxyType({
    "two_yukawa": "not among the product's structure-factor labels (DESIGN.md §3); its "
    "solver fails for a large share of random parameter sets",
})


# ================================================================== the machinery
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
        if median_parameters(entry) is None:  # pragma: no cover - raised inside
            raise ValueError(f"{name}: constraint rejects the prior median")


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


def _finish(entry: ModelClass, params: dict, structure_factor: str | None,
            s_values: dict | None) -> dict | None:
    if entry.constraint is not None:
        params = entry.constraint(dict(params))
        if params is None:
            return None
    if structure_factor is None:
        return params
    s_entry = STRUCTURE_FACTORS[structure_factor]
    params.update({k: float(v) for k, v in s_entry.fixed.items()})
    params.update(s_values)
    if s_entry.constraint is not None:
        params = s_entry.constraint(dict(params))
        if params is None:
            return None
    params["radius_effective_mode"] = _radius_mode_index(entry.name, entry.radius_effective)
    return params


def _check_pair(model_class: ModelClass, structure_factor: str | None) -> None:
    if structure_factor is None:
        return
    if structure_factor not in STRUCTURE_FACTORS:
        raise ValueError(f"unknown structure factor {structure_factor!r}; "
                         f"valid: {', '.join(STRUCTURE_FACTORS)}")
    if not model_class.structure_factor:
        raise ValueError(f"{model_class.name} does not take a structure factor "
                         "(ModelClass.structure_factor is False)")


def sample_parameters(model_class: ModelClass, rng: np.random.Generator, *,
                      structure_factor: str | None = None) -> dict:
    """Draw one parameter set of ``model_class`` (and optionally its structure factor).

    Parameters
    ----------
    model_class : ModelClass
        A catalogue entry, e.g. ``CATALOG["sphere"]``.
    rng : numpy.random.Generator
        The only source of randomness; the same state gives the same draw.
    structure_factor : str, optional
        A key of :data:`STRUCTURE_FACTORS`; the result is then for the product
        model ``name@structure_factor`` and includes ``radius_effective_mode``.

    Returns
    -------
    dict
        sasmodels keyword arguments, JSON-serialisable: floats, the
        ``<p>_pd_type`` strings and the ints ``<p>_pd_n`` and
        ``radius_effective_mode``. ``scale`` = 1 and ``background`` = 0.
    """
    _check_pair(model_class, structure_factor)
    for _ in range(_MAX_TRIES):
        values = {par: prior.sample(rng) for par, prior in model_class.priors.items()}
        widths = {par: float(rng.uniform(*d.width)) for par, d in model_class.polydisperse.items()}
        s_values = None
        if structure_factor is not None:
            s_values = {par: prior.sample(rng)
                        for par, prior in STRUCTURE_FACTORS[structure_factor].priors.items()}
        params = _finish(model_class, _base(model_class, values, widths), structure_factor,
                         s_values)
        if params is not None:
            return params
    raise RuntimeError(f"{model_class.name}: constraint rejected {_MAX_TRIES} draws in a row; "
                       "the priors and the constraint disagree")


def median_parameters(model_class: ModelClass, *, structure_factor: str | None = None) -> dict:
    """The parameter set at every prior's median (geometric for log priors), constrained."""
    _check_pair(model_class, structure_factor)
    values = {par: prior.median for par, prior in model_class.priors.items()}
    widths = {par: d.median for par, d in model_class.polydisperse.items()}
    s_values = None
    if structure_factor is not None:
        s_values = {par: p.median for par, p in STRUCTURE_FACTORS[structure_factor].priors.items()}
    params = _finish(model_class, _base(model_class, values, widths), structure_factor, s_values)
    if params is None:
        raise ValueError(f"{model_class.name}: the constraint rejects the prior median; "
                         "widen the priors or relax the constraint")
    return params


@cache
def _model_info(name: str):
    from sasmodels.core import load_model_info

    return load_model_info(name)


@cache
def _radius_mode_index(model: str, mode: str) -> int:
    modes = _model_info(model).radius_effective_modes or []
    if mode not in modes:
        raise ValueError(f"{model}: radius_effective {mode!r} is not one of its modes "
                         f"{modes}")
    return modes.index(mode) + 1  # 0 is "unconstrained" (S's own radius_effective)


def _check_against_sasmodels(entry: ModelClass | StructureFactorClass) -> None:
    from sasmodels.core import list_models

    name = entry.name
    if name not in list_models():
        raise ValueError(f"{name}: not a sasmodels model (sasmodels.core.list_models())")
    info = _model_info(name)
    is_sf = bool(info.structure_factor)
    if is_sf != isinstance(entry, StructureFactorClass):
        kind = "a structure factor" if is_sf else "a form factor"
        raise ValueError(f"{name}: sasmodels says it is {kind}; move it to the right table")
    pars = {p.name: p for p in info.parameters.call_parameters}
    for par, prior in entry.priors.items():
        _check_value(name, pars, par, prior.low, prior.high)
    for par, value in entry.fixed.items():
        _check_value(name, pars, par, value, value)
    if isinstance(entry, ModelClass):
        for par in entry.polydisperse:
            _check_value(name, pars, par, None, None)
            if not pars[par].polydisperse:
                raise ValueError(f"{name}: parameter {par!r} cannot be polydisperse in sasmodels")
        if entry.structure_factor:
            if not info.radius_effective_modes:
                raise ValueError(f"{name}: structure_factor=True but sasmodels has no effective "
                                 "radius for it, so P@S is not supported")
            _radius_mode_index(name, entry.radius_effective)


def _check_value(model: str, pars: Mapping, par: str, low, high) -> None:
    if par not in pars or par in ("scale", "background"):
        valid = ", ".join(p for p in pars if p not in ("scale", "background"))
        raise ValueError(f"{model}: unknown parameter {par!r}; valid: {valid}")
    if low is None:
        return
    lo, hi = pars[par].limits
    if low < lo or high > hi:
        raise ValueError(f"{model}: parameter {par!r} range {low}..{high} leaves the model's "
                         f"limits {lo}..{hi}")


def validate_catalog(catalog: Mapping[str, ModelClass] | None = None,
                     structure_factors: Mapping[str, StructureFactorClass] | None = None,
                     *, complete: bool | None = None) -> None:
    """Check the table against sasmodels; raise ValueError naming model and parameter.

    Checks that every model exists and is of the right kind, that every varied,
    fixed and polydisperse parameter is a real parameter of that model, that
    bounds stay inside the model's own limits, that ``P@S`` classes have an
    effective radius and no parameter clashes with the structure factors, and
    (``complete``, the default for the module's own tables) that every sasmodels
    model is either a class, a structure factor, or excluded with a reason.
    """
    from sasmodels.core import list_models

    own = catalog is None and structure_factors is None
    catalog = CATALOG if catalog is None else catalog
    structure_factors = STRUCTURE_FACTORS if structure_factors is None else structure_factors
    for key, entry in [*catalog.items(), *structure_factors.items()]:
        if key != entry.name:
            raise ValueError(f"{entry.name}: table key {key!r} differs from the model name")
        _check_structure(entry)
        _check_against_sasmodels(entry)
    for entry in catalog.values():
        if not entry.structure_factor:
            continue
        p_pars = {p.name for p in _model_info(entry.name).parameters.call_parameters}
        for s_entry in structure_factors.values():
            s_pars = {p.name for p in _model_info(s_entry.name).parameters.call_parameters}
            clash = (p_pars & s_pars) - {"scale", "background", "volfraction"}
            if clash:
                raise ValueError(f"{entry.name}@{s_entry.name}: parameters {sorted(clash)} exist "
                                 "in both; sasmodels would rename them")
    if complete if complete is not None else own:
        known = set(catalog) | set(structure_factors) | set(EXCLUDED)
        known |= set(EXCLUDED_STRUCTURE_FACTORS)
        missing = sorted(set(list_models()) - known)
        if missing:
            raise ValueError(f"sasmodels models {missing} are neither classes, structure factors "
                             "nor excluded; add an entry (or an exclusion with its reason)")
        stale = sorted(known - set(list_models()))
        if stale:
            raise ValueError(f"{stale}: in the catalogue but not in this sasmodels")


def _index(entries, kind: str) -> Mapping:
    table: dict = {}
    for entry in entries:
        if entry.name in table:
            raise ValueError(f"{entry.name}: two {kind} entries with the same name")
        _check_structure(entry)
        table[entry.name] = entry
    return MappingProxyType(table)


STRUCTURE_FACTORS: Mapping[str, StructureFactorClass] = _index(_STRUCTURE_FACTORS,
                                                               "structure-factor")
CATALOG: Mapping[str, ModelClass] = _index(_FORM_FACTORS, "form-factor")
for _name in EXCLUDED:
    if _name in CATALOG:
        raise ValueError(f"{_name}: both a class and excluded")
