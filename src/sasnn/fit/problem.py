"""The least-squares problem of one candidate pair, from one start, on one or more curves.

:class:`CandidateProblem` turns a ``{name: value}`` dict of free parameters into
model intensities and normalised residuals (I_model − I)/σ, and into bumps
``Curve`` models that share one ``Parameter`` per free name. Several curves are
entries of one sample (SANS + USANS): they share the model's parameters and each
has its own ``scale_i`` and ``background_i`` (``scale``, ``background`` for entry 0).

:func:`identifiable` decides which free parameters the data can determine at the
start (see :mod:`sasnn.fit.candidates`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from sasnn.fit.start import Start, safe_intensity
from sasnn.io.curve import Curve

__all__ = ["PENALTY", "CandidateProblem", "identifiable", "offset_names"]

PENALTY = 1e6  # residual (in σ) of a point where the model fails numerically
DEPENDENT = 1e-3  # a Jacobian column this close (sine of angle) to the others' span is
#                   linearly dependent on them; finite-difference noise is ~1e-5
OFFSETS = ("scale", "background")  # prefixes of each curve's own linear parameters


def offset_names(i: int) -> tuple[str, str]:
    """Names of curve i's scale and background."""
    return OFFSETS if i == 0 else (f"scale_{i}", f"background_{i}")


@dataclass(frozen=True)
class CandidateProblem:
    """Residuals of one pair at one start; every method is a pure function of its input.

    Attributes
    ----------
    model, structure_factor : str, str or None
        The pair.
    template : mapping
        Every sasmodels argument at the start (``scale`` 1, ``background`` 0).
    start, bounds : mapping
        Start value and (low, high) of each free parameter, offsets first.
    curves, resolutions : sequence
        The data and their sasmodels resolutions.
    tab : Tabulation or None
        For a tabulated class fitted on its table: its scaled lengths follow the length.
    tabulate : bool
        False evaluates tabulated classes on the direct kernel.
    """

    model: str
    structure_factor: str | None
    template: Mapping
    start: Mapping[str, float]
    bounds: Mapping[str, tuple[float, float]]
    curves: Sequence[Curve]
    resolutions: Sequence
    tab: object = None
    tabulate: bool = True

    @classmethod
    def at(cls, model: str, structure_factor: str | None, start: Start,
           bounds: Mapping[str, tuple[float, float]], curves: Sequence[Curve],
           resolutions: Sequence, *, tab=None, tabulate: bool = True) -> CandidateProblem:
        """The problem at ``start``: offsets from its linear solve, bounded ×/÷1e4 (scale)
        and to [0, max I] (background), then those of the model's ``bounds`` that the
        start has (a start with 2 shells has no ``thickness3`` to fit)."""
        start_values, all_bounds = {}, {}
        for i, ((scale, background), curve) in enumerate(zip(start.offsets, curves, strict=True)):
            s_name, b_name = offset_names(i)
            start_values[s_name], start_values[b_name] = scale, background
            all_bounds[s_name] = (scale * 1e-4, scale * 1e4)
            all_bounds[b_name] = (0.0, float(np.max(curve.intensity)))
        bounds = {k: v for k, v in bounds.items() if k in start.params}  # shells it has
        start_values.update({k: float(start.params[k]) for k in bounds})
        all_bounds.update(bounds)
        return cls(model, structure_factor, dict(start.params), start_values, all_bounds,
                   list(curves), list(resolutions), tab, tabulate)

    def all_parameters(self, values: Mapping) -> dict:
        """Every sasmodels argument (and each entry's offsets) at these free values."""
        params = {**self.template, **self.start, **values}
        if self.tab is not None and self.tab.length in values:  # scaled lengths follow
            ratio = values[self.tab.length] / self.template[self.tab.length]
            for name, power in self.tab.scaled.items():
                params[name] = self.template[name] * ratio**power
        return params

    def intensity(self, i: int, values: Mapping) -> np.ndarray:
        """Model I(q) of curve i (cm⁻¹), NaN where sasmodels fails."""
        params = self.all_parameters(values)
        params["scale"], params["background"] = (params[n] for n in offset_names(i))
        params = {k: v for k, v in params.items() if not k.startswith(("scale_", "background_"))}
        intensity = safe_intensity(self.model, self.structure_factor, params,
                                   self.resolutions[i], tabulate=self.tabulate)
        return np.full(len(self.curves[i].q), np.nan) if intensity is None else intensity

    def intensities(self, values: Mapping) -> list[np.ndarray]:
        return [self.intensity(i, values) for i in range(len(self.curves))]

    def residuals(self, values: Mapping) -> np.ndarray:
        """(I_model − I)/σ of every curve, concatenated; failures give ``PENALTY``."""
        parts = [(model - c.intensity) / c.sigma
                 for model, c in zip(self.intensities(values), self.curves, strict=True)]
        return np.nan_to_num(np.concatenate(parts), nan=PENALTY, posinf=PENALTY,
                             neginf=-PENALTY)

    def bumps_models(self, names: Sequence[str]) -> list:
        """One bumps Curve per data curve, sharing the Parameter objects of ``names``."""
        from bumps.curve import Curve as BumpsCurve
        from bumps.parameter import Parameter

        pars = {n: Parameter(float(np.clip(self.start[n], *self.bounds[n])), name=n)
                .range(*self.bounds[n]) for n in names}
        models = []
        for i, curve in enumerate(self.curves):
            own = {n: p for n, p in pars.items()
                   if not n.startswith(OFFSETS) or n in offset_names(i)}

            def theory(x, i=i, curve=curve, **kw):
                intensity = self.intensity(i, kw)
                bad = ~np.isfinite(intensity)  # a residual of PENALTY there
                return np.where(bad, curve.intensity + PENALTY * curve.sigma, intensity)
            models.append(BumpsCurve(theory, curve.q, curve.intensity, curve.sigma, pars=own,
                                     state={}, name=curve.entry))
        return models


def identifiable(problem: CandidateProblem) -> list[str]:
    """The free parameters (in order) whose weighted Jacobian columns are independent.

    A forward-difference Jacobian of the residuals at the start, by sequential
    Gram-Schmidt in the order of ``problem.bounds``: a column is kept when its
    distance from the span of the kept ones exceeds ``DEPENDENT`` of its length, and
    when moving the parameter by 10 % of its value (or of its range) changes some
    residual by more than 0.01 σ. Offsets (scale, background) come first and are
    always kept.
    """
    base = problem.residuals({})
    kept, basis = [], []
    for name, (lo, hi) in problem.bounds.items():
        value = float(problem.start[name])
        offset = name.startswith(OFFSETS)
        span = 0.1 * (abs(value) if value != 0 else hi - lo)
        h = 1e-5 * max(abs(value), 1e-3 * (hi - lo))
        h = h if value + h <= hi else -h
        column = (problem.residuals({name: value + h}) - base) / h
        largest = np.max(np.abs(column))
        if not offset and (largest * span < 0.01 or largest * abs(h) > 0.1 * PENALTY):
            continue  # no effect, or the step failed numerically
        length = np.linalg.norm(column)
        for b in basis:
            column = column - (b @ column) * b
        norm = np.linalg.norm(column)
        if offset or norm > DEPENDENT * length:
            basis.append(column / max(norm, 1e-300))
            kept.append(name)
    return kept
