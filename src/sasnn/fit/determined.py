"""Which fitted parameters the data leave undetermined, and which of them are a size.

A fitted value with an error bar as wide as the prior says nothing: "radius 28 ± 56 Å"
is a model the data do not support, however low its χ². :func:`undetermined` names
such parameters, from the fit's 1-σ errors and the catalogue's priors:

* its 1-σ interval [v − σ, v + σ], clipped to the prior, covers more than
  :data:`UNDETERMINED_SPAN` of the prior's range (measured on the prior's own scale:
  in ln for a log-uniform prior), or
* for a quantity positive by nature (a prior above 0, or a derived length, ratio or
  exponent with no prior of its own), σ exceeds the value;
* a non-finite σ (the optimiser could not estimate it) counts as undetermined.

``scale`` and ``background`` (and a joint fit's ``scale_i``, ``background_i``) are not
judged: they are the data's units, not the model's. A polydispersity width is judged
against the catalogue's width range.

:func:`size_parameter` and :func:`shape_parameters` split a form factor's parameters
into its size (the catalogue's first length) and what makes its shape, so a caller
can tell "a size and a shape" from "a size only".
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping

from sasnn.simulate.catalog import CATALOG, STRUCTURE_FACTORS
from sasnn.simulate.priors import SLD, A, Prior

__all__ = ["UNDETERMINED_SPAN", "shape_parameters", "size_parameter", "undetermined"]

#: Share of a prior's range above which a 1-σ interval says the data do not fix the value.
UNDETERMINED_SPAN = 0.5

_NUISANCE = ("scale", "background")


def _prior(model: str, structure_factor: str | None, name: str) -> Prior | None:
    """The catalogue prior of a fitted name (a width ``X_pd`` gets X's width range)."""
    entry = CATALOG[model]
    if name.endswith("_pd") and name[:-3] in entry.polydisperse:
        low, high = entry.polydisperse[name[:-3]].width
        return Prior(low, high)
    if name in entry.priors:
        return entry.priors[name]
    if structure_factor is not None:
        return STRUCTURE_FACTORS[structure_factor].priors.get(name)
    return None


def _span(prior: Prior, value: float, error: float) -> float:
    """Share of the prior's range that [value − error, value + error] covers."""
    low, high = value - error, value + error
    if prior.scale == "log":
        to = math.log
        low = max(low, prior.low)  # ln of a negative bound: clip first
    else:
        to = float
    width = to(prior.high) - to(prior.low)
    if not width > 0:
        return 0.0
    covered = min(to(prior.high), to(max(high, prior.low))) - max(to(prior.low), to(min(low, prior.high)))
    return max(covered, 0.0) / width


def undetermined(model: str, structure_factor: str | None,
                 parameters: Mapping[str, tuple[float, float]]) -> tuple[str, ...]:
    """Names of the fitted ``parameters`` ({name: (value, 1-σ error)}) that the data do
    not determine, in the fit's order (see the module's rule)."""
    names = []
    for name, (value, error) in parameters.items():
        if name.startswith(_NUISANCE):
            continue
        if not math.isfinite(error):
            names.append(name)
            continue
        prior = _prior(model, structure_factor, name)
        positive = prior is None or prior.low > 0
        wide = prior is not None and _span(prior, value, error) > UNDETERMINED_SPAN
        if wide or (positive and error > abs(value)):
            names.append(name)
    return tuple(names)


def size_parameter(model: str) -> str | None:
    """The form factor's size: its first length in the catalogue (its priors are in
    order of importance), e.g. ``radius``, ``rg``; None for a model without one."""
    return next((name for name, prior in CATALOG[model].priors.items()
                 if prior.unit == A and not name.startswith("_")), None)


def shape_parameters(model: str, structure_factor: str | None, names: Iterable[str]) -> list[str]:
    """Which of the fitted ``names`` describe the shape: every form-factor parameter but
    the size, the scattering-length densities and the polydispersity widths (a
    structure factor's parameters describe the arrangement, not the shape)."""
    size = size_parameter(model)
    entry = CATALOG[model]
    arrangement = set(STRUCTURE_FACTORS[structure_factor].priors) if structure_factor else set()
    return [n for n in names
            if not n.startswith(_NUISANCE) and n != size and n not in arrangement
            and not n.endswith("_pd") and not n.startswith("sld")
            and not (n in entry.priors and entry.priors[n].unit == SLD)]
