"""The catalogue checked against sasmodels itself: names exist and are of the right kind,
parameters and derived values exist and stay inside the model's own limits, P@S is
supported, and every sasmodels model is accounted for. The tests and the simulator call
:func:`validate_catalog`.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from sasnn.simulate.catalog import CATALOG, EXCLUDED, EXCLUDED_STRUCTURE_FACTORS, STRUCTURE_FACTORS
from sasnn.simulate.priors import ModelClass, StructureFactorClass, _check_structure
from sasnn.simulate.sampling import _model_info, _radius_mode_index, median_parameters, sample_parameters

_VALIDATION_DRAWS = 20  # seeded draws per class whose derived values validate_catalog checks


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
        if not par.startswith("_"):  # auxiliary draws are checked through the median below
            _check_value(name, pars, par, prior.low, prior.high)
    for par, value in entry.fixed.items():
        _check_value(name, pars, par, value, value)
    if isinstance(entry, ModelClass):
        for par in entry.polydisperse:
            _check_value(name, pars, par, None, None)
            if not pars[par].polydisperse:
                raise ValueError(f"{name}: parameter {par!r} cannot be polydisperse in sasmodels")
        # derived values (set by the constraint) must be real parameters within limits too
        draws = [median_parameters(entry)]
        rng = np.random.default_rng(0)
        draws += [sample_parameters(entry, rng) for _ in range(_VALIDATION_DRAWS)]
        for params in draws:
            for par, value in params.items():
                if par in ("scale", "background") or "_pd" in par:
                    continue
                _check_value(name, pars, par, value, value)
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
            median_parameters(entry, structure_factor=s_entry.name)
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


__all__ = ["validate_catalog"]
