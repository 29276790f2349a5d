"""The "scaled" priors: sasmodels' own default parameters, scaled by random factors. A
third prior family, drawn by a rule that knows nothing of the training priors' ranges, to
test networks that were trained on the narrow *and* the wide priors (issue 19: judge a
change on data it was not designed around).

Where the wide priors (:mod:`sasnn.simulate.wide`) spread each parameter independently
around the training range, these centre every class on sasmodels' default particle
(the one its documentation plots) and change it as a user's sample differs from it:

* **size**: one factor s per curve, log10 s uniform in [-1, 1] (0.1x to 10x the default
  size), applied to every length (unit Å^k as s^k, 1/Å as 1/s), each length also
  jittered by its own log-normal factor (σ = 0.3 in ln, as s^k): the default's
  proportions, roughly, at any size. Never below 1 Å; orientation-averaged classes keep
  every length <= 2,100 Å, as the wide priors do (cost).
* **aspect ratios** (unitless ``*ratio``, ``x_*``): the default times 10^u, u uniform in
  [-1, 1].
* **SLDs**: the default plus a normal draw (σ = 1.5e-6 Å⁻²), within [-1, 7]e-6 Å⁻².
* **counts** (a vector's length control or an integer training prior that is not a choice):
  uniform integers from 1 (or the model's lower limit) to max(2 x default, 4), within the
  model's limit.
* **choices** (profile shapes, RPA cases): as in training.
* **other numbers** the catalogue varies (exponents, fractions, amplitudes): the default
  times 10^u, u uniform in [-0.3, 0.3] (a default of 0: uniform in ±0.5 about it).
* numbers the catalogue never varies stay at their training value, as in the wide priors;
  every value is clipped to sasmodels' limits; the wide priors' physics table
  (:data:`sasnn.simulate.wide.PHYSICS`) keeps each class what it is.
* **polydispersity**: on the parameters the class is polydisperse on in training;
  monodisperse for a fifth of the curves, else a width uniform in (0, 0.35] with a
  gaussian, lognormal or schulz distribution. **Structure factor**: as in training.

Everything is a function of sasmodels' table, the catalogue's list of varied parameters
and ``rng``: the same seed gives the same bytes.
"""

from __future__ import annotations

import math
import re
from functools import cache

import numpy as np

from sasnn.simulate.catalog import CATALOG
from sasnn.simulate.priors import MAX_DIM, ModelClass
from sasnn.simulate.sampling import _model_info
from sasnn.simulate.wide import add_dispersion_and_s, draw_with_physics, kernel_names, training_ranges

SCALED_VERSION = 1  # bump when the rule below changes: it is part of a scaled dataset's spec
SIZE_DECADES = 1.0  # log10 of the size factor is uniform in ±this
LENGTH_JITTER = 0.3  # σ of each length's own ln factor
ASPECT_DECADES = 1.0
OTHER_DECADES = 0.3
SLD_SIGMA = 1.5  # 1e-6 Å⁻²
SLD_RANGE = (-1.0, 7.0)
MIN_LENGTH = 1.0  # Å
ORIENTED_MAX_LENGTH = 3 * MAX_DIM  # Å
MONODISPERSE_SHARE = 0.2
PD_MAX = 0.35
_UNIT_POWER = {"Ang": 1, "Ang^2": 2, "Ang^3": 3, "1/Ang": -1}


@cache
def _rules(name: str) -> tuple[tuple[str, str, float, tuple], ...]:
    """(parameter, kind, default, extra) per kernel parameter of ``name``: how it is drawn."""
    entry, info = CATALOG[name], _model_info(name)
    ranges = training_ranges(name)
    controls = {p.length_control for p in info.parameters.kernel_parameters if p.length_control}
    oriented = any(p.type == "orientation" for p in info.parameters.kernel_parameters)
    rules = []
    names = kernel_names(name)
    for par, p in names:
        siblings = [ranges[n] for n, q in names if q is p and n in ranges]  # vector slots
        lo, hi = ranges.get(par, (None, None))
        if lo is None and siblings:
            lo, hi = min(s[0] for s in siblings), max(s[1] for s in siblings)
        trained = entry.priors.get(par)
        default = float(entry.fixed.get(par, p.default))
        varied = lo is not None and hi > lo
        power = _UNIT_POWER.get(p.units)
        if not varied:
            rules.append((par, "fixed", default if lo is None else lo, ()))
        elif p.type == "sld":
            rules.append((par, "sld", default, ()))
        elif p.choices:
            rules.append((par, "trained", default, (trained,)))
        elif par in controls or (trained is not None and trained.scale == "int"):
            top = max(2 * default, 4.0)
            low = max(1.0, p.limits[0])
            rules.append((par, "count", default, (low, max(low, min(top, p.limits[1])))))
        elif power is not None and default > 0:
            cap = ORIENTED_MAX_LENGTH if oriented and power == 1 else math.inf
            rules.append((par, "length", default, (power, cap, tuple(p.limits))))
        elif not p.units and re.search(r"ratio$|^x_", par) and default > 0:
            rules.append((par, "aspect", default, (tuple(p.limits),)))
        else:
            rules.append((par, "other", default, (tuple(p.limits),)))
    return tuple(rules)


def _clip(value: float, limits: tuple[float, float]) -> float:
    return float(min(max(value, limits[0]), limits[1]))


def _draw_kernel(name: str, rng: np.random.Generator) -> dict:
    params = {}
    size = 10.0 ** rng.uniform(-SIZE_DECADES, SIZE_DECADES)
    for par, kind, default, extra in _rules(name):
        if kind == "fixed":
            value = default
        elif kind == "sld":
            value = float(np.clip(default + SLD_SIGMA * rng.normal(), *SLD_RANGE))
        elif kind == "trained":
            value = extra[0].sample(rng) if extra[0] is not None else default
        elif kind == "count":
            value = float(rng.integers(int(extra[0]), int(extra[1]), endpoint=True))
        elif kind == "length":
            power, cap, limits = extra
            value = default * (size * math.exp(LENGTH_JITTER * rng.normal())) ** power
            if power > 0:
                value = min(max(value, MIN_LENGTH**power), cap)
            value = _clip(value, limits)
        elif kind == "aspect":
            value = _clip(default * 10.0 ** rng.uniform(-ASPECT_DECADES, ASPECT_DECADES), extra[0])
        elif default != 0:
            value = _clip(default * 10.0 ** rng.uniform(-OTHER_DECADES, OTHER_DECADES), extra[0])
        else:
            value = _clip(rng.uniform(-0.5, 0.5), extra[0])
        params[par] = value
    return params


def sample_scaled(model_class: ModelClass, rng: np.random.Generator, *,
                  structure_factor: str | None = None) -> dict | None:
    """One scaled-defaults draw of ``model_class``, as :func:`sasnn.simulate.wide.sample_wide`."""
    name = model_class.name
    params = draw_with_physics(name, "scaled", lambda: _draw_kernel(name, rng), rng)
    return add_dispersion_and_s(model_class, params, rng, structure_factor,
                                monodisperse_share=MONODISPERSE_SHARE, pd_max=PD_MAX)


def describe(name: str) -> dict:
    """How each parameter of ``name`` is drawn, as plain JSON-able data (for manifests)."""
    return {par: {"rule": kind, "default": default} for par, kind, default, _ in _rules(name)}


__all__ = ["SCALED_VERSION", "describe", "sample_scaled"]
