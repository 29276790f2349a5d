"""Drawing parameter sets from the catalogue: one seeded draw of a class (and of its
structure factor, sized to what sasmodels gives S), the prior median, and sasmodels'
category of a class.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import cache

import numpy as np

from sasnn.simulate.catalog import STRUCTURE_FACTORS
from sasnn.simulate.priors import ModelClass, _base

_MAX_TRIES = 1000  # a constraint rejecting more often than this is a bug in the table


def _finish(entry: ModelClass, params: dict, structure_factor: str | None,
            s_values: dict | None) -> dict | None:
    if entry.constraint is not None:
        params = entry.constraint(dict(params))
        if params is None:
            return None
    params = {k: v for k, v in params.items() if not k.startswith("_")}
    if structure_factor is None:
        return params
    s_entry = STRUCTURE_FACTORS[structure_factor]
    params.update({k: float(v) for k, v in s_entry.fixed.items()})
    params.update(s_values)
    mode = _radius_mode_index(entry.name, entry.radius_effective)
    # S sees the size and volume fraction sasmodels will give it: R_eff from the form
    # factor, and the drawn (enclosed) volume fraction, which sasmodels reaches by
    # multiplying "volfraction" with the form:shell volume ratio of hollow shapes
    radius_effective, volume_ratio = _form_geometry(entry.name, params, mode)
    params["_radius_effective"] = radius_effective
    if s_entry.constraint is not None:
        params = s_entry.constraint(dict(params))
        if params is None:
            return None
    params["volfraction"] = params["volfraction"] / volume_ratio
    params = {k: v for k, v in params.items() if not k.startswith("_")}
    params["radius_effective_mode"] = mode
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

    Notes
    -----
    With a structure factor, the draw asks sasmodels (one-q kernel call) for the
    form factor's effective radius and form:shell volume ratio, so that S's priors
    (e.g. hayter_msa's screening κσ) refer to the size S will actually see and the
    drawn volume fraction is the one S receives.
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


def family(name: str) -> str:
    """sasmodels' category of a class ("shape:sphere", "shape-independent", ...): the
    coarse kind of model a scientist would group it with."""
    return _model_info(name).category


@cache
def _model_info(name: str):
    from sasmodels.core import load_model_info

    return load_model_info(name)


@cache
def _geometry_kernel(model: str):
    from sasmodels.core import build_model

    return build_model(_model_info(model), dtype="double", platform="dll").make_kernel(
        [np.array([0.01])])


def _form_geometry(model: str, params: Mapping, mode: int) -> tuple[float, float]:
    """sasmodels' effective radius (Å) and form:shell volume ratio for these P parameters."""
    from sasmodels.direct_model import call_Fq

    names = {p.name for p in _model_info(model).parameters.call_parameters}
    own = {k: v for k, v in params.items()
           if k in names or k.rsplit("_pd", 1)[0] in names and "_pd" in k}
    result = call_Fq(_geometry_kernel(model), {**own, "radius_effective_mode": mode})
    return float(np.ravel(result[2])[0]), float(np.ravel(result[4])[0])


@cache
def _radius_mode_index(model: str, mode: str) -> int:
    modes = _model_info(model).radius_effective_modes or []
    if mode not in modes:
        raise ValueError(f"{model}: radius_effective {mode!r} is not one of its modes "
                         f"{modes}")
    return modes.index(mode) + 1  # 0 is "unconstrained" (S's own radius_effective)


__all__ = ["family", "median_parameters", "sample_parameters"]
