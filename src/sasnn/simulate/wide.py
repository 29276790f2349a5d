"""The "wide" priors: parameters drawn independently of the training priors, to test how
far the classifier generalises beyond them (issue 19). The catalogue stays the table of
*training* priors; the wide prior of a class is derived from sasmodels' own parameter
table and the class's training ranges by one rule, so no class needs an entry of its own.

The rule, per sasmodels kernel parameter of a class (vector parameters expanded, e.g.
``thickness1..thickness10``; orientation and magnetic parameters are left at sasmodels'
defaults, as in training):

* **training range** [lo, hi]: the catalogue prior's bounds where the parameter is drawn
  directly, widened to the extremes of :data:`N_TRAINING_DRAWS` seeded training draws
  (derived values such as a length from an aspect ratio; the other slots of a vector);
  else the fixed value or sasmodels' default (lo = hi).
* **SLD** (type ``sld``): uniform in [-1, 7] 1e-6 Å⁻², each independently: any sign and
  size of contrast.
* **lengths** (unit Å^k, k = 1, 2, 3; inverse lengths 1/Å as k = -1): log-uniform over
  [lo / 4^|k|, hi · 4^|k|], i.e. 4x beyond the training range on both sides, never
  below 1 Å. Orientation-averaged classes keep every length <= 2,100 Å, three times
  the training set's cost cap (sasmodels switches to a 5,000-point orientation rule
  once q·D > 750, priors.MAX_DIM).
* **aspect ratios** (unitless parameters named ``*ratio`` or ``x_*``): log-uniform in
  [1/50, 50]. Where a class's aspect is two lengths (cylinder R and L, ellipsoid axes),
  the lengths are drawn independently, which spans at least that range too.
* **counts** (a vector's length control, or an integer training prior that is not a
  choice of profile or case): uniform integers from the training low to the model's own
  upper limit (4x the training high where sasmodels sets none).
* **choices** (profile shapes, RPA cases): the training prior, unchanged.
* **other varied numbers** (exponents, fractions, amplitudes): log-uniform over 3x the
  training range on both sides when it spans a decade or more (amplitudes,
  concentrations), else uniform over the range widened by half its width on each side
  (exponents, fractions); a positive quantity stays positive.
* **other fixed numbers** (amplitude 1, ``n_steps``, reference volumes): as in training.
* every range is clipped to sasmodels' parameter limits.
* **sasmodels' default** (version 2): every varied prior also reaches the parameter's
  sasmodels default (the particle its documentation plots), SLDs, amplitudes and counts
  aside (the rules above already span what matters of contrasts and ratios; a count below
  the catalogue's makes the class another one: a core_multi_shell with one shell is a
  core_shell_sphere). A range that stops short of it is extended to it (a Caillé
  parameter of 0.001); a log-spread quantity whose default is 0 (a disorder or
  roughness width: a perfect stack, a sharp interface; no added salt) is exactly 0 in
  :data:`DEFAULT_ZERO_SHARE` of the draws; one whose default has the other sign (an RPA
  interaction) takes either sign with even odds. Version 1 left these out: its 1 Å floor
  for lengths kept every disorder width above 0.
* **polydispersity**: on the parameters the class is polydisperse on in training, with
  the training's integration points (cost); width 0 (monodisperse) for a quarter of the
  curves, else uniform in (0, 0.5], with a gaussian, lognormal or schulz distribution.
* **structure factor**: as in training (the catalogue's S(q) priors, sized to what
  sasmodels gives S); only P is widened.
* **physics** (:data:`PHYSICS`): the few relations that make a class what it is whatever
  the numbers (small spheres on a large one, layers no thicker than their spacing, a
  cluster larger than its primaries, the model's own validity conditions). The narrow
  ranges and the caps of the catalogue's constraints are not reused.

Draws the classes' kernels cannot compute (non-finite or negative curves) are rejected
and counted by the simulator. Everything is a function of the catalogue, sasmodels'
table and ``rng``: the same seed gives the same bytes.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping
from dataclasses import replace
from functools import cache

import numpy as np

from sasnn.simulate.catalog import CATALOG, STRUCTURE_FACTORS
from sasnn.simulate.constraints import all_of
from sasnn.simulate.priors import MAX_DIM, SLD, ModelClass, Prior
from sasnn.simulate.sampling import _finish, _model_info, median_parameters, sample_parameters

# bump when the rule below changes: it is part of a wide dataset's spec. 2: the priors reach
# sasmodels' defaults (version 1's sets are reproduced by commit 9951912)
WIDE_VERSION = 2
N_TRAINING_DRAWS = 200  # seeded training draws whose extremes give the training ranges
LENGTH_FACTOR = 4.0  # lengths reach this far beyond the training range, on both sides
OTHER_FACTOR = 3.0  # other positive, log-spread numbers likewise
MIN_LENGTH = 1.0  # Å: no body is thinner than an atom
ORIENTED_MAX_LENGTH = 3 * MAX_DIM  # Å: cost cap of orientation-averaged classes
SLD_RANGE = (-1.0, 7.0)  # 1e-6 Å⁻²
ASPECT_RANGE = (1 / 50, 50.0)
COUNT_FACTOR = 4  # counts reach this many times the training high where sasmodels has no limit
MONODISPERSE_SHARE = 0.25
DEFAULT_ZERO_SHARE = MONODISPERSE_SHARE  # a disorder width at 0 as often as a size distribution
PD_MAX = 0.5
PD_TYPES = ("gaussian", "lognormal", "schulz")
MAX_DRAWS_PER_CURVE = 30  # simulator's bound on draws per kept wide curve (rejections included)
_MAX_TRIES = 1000
_S_TRIES = 20
_UNIT_POWER = {"Ang": 1, "Ang^2": 2, "Ang^3": 3, "1/Ang": -1}


# --------------------------------------------------------------- the physics table
def _order(small: str, large: str) -> Callable[[dict], dict]:
    """Name the smaller of two lengths ``small``: e.g. the raspberry's small spheres."""
    def swap(p: dict) -> dict:
        if p[small] > p[large]:
            p[small], p[large] = p[large], p[small]
        return p
    return swap


def _below(a: str, b: str | Callable[[dict], float], factor: float = 1.0) -> Callable[[dict], dict | None]:
    """Reject draws with ``p[a] > factor * b`` (b a parameter name or a function of p)."""
    def check(p: dict) -> dict | None:
        limit = p[b] if isinstance(b, str) else b(p)
        return p if p[a] <= factor * limit else None
    return check


def _polymer_micelle(p: dict) -> dict | None:
    # Pedersen's model holds for R >= 2.5 Rg; core volume per chain from the geometry
    # (packing 0.68) and corona volume of a Gaussian chain, as the catalogue derives them
    if p["radius_core"] < 2.5 * p["rg"]:
        return None
    p["v_core"] = 4 * math.pi / 3 * p["radius_core"] ** 3 * 0.68 / p["n_aggreg"]
    p["v_corona"] = math.pi * p["rg"] ** 3 * math.sqrt(6 / p.pop("_segments"))
    return p


def _unified(p: dict) -> dict:
    # levels grow outward (Rg ascending) and B_k = G_k P_k / Rg_k^P_k Γ(P_k/2) keeps each
    # level smooth (Beaucage 1995), as in the catalogue
    n = int(p["level"])
    rgs = sorted(p[f"rg{k}"] for k in range(1, n + 1))
    for k in range(1, n + 1):
        p[f"rg{k}"] = rgs[k - 1]
        power = p[f"power{k}"]
        p[f"B{k}"] = p[f"G{k}"] * power / p[f"rg{k}"] ** power * math.gamma(power / 2)
    return p


def _rpa(p: dict) -> dict:
    p["Phi4"] = 1.0 - p["Phi3"]  # the two components fill the volume
    return p


def _surface_fractal(p: dict) -> dict:
    # sasmodels clips S(q) < 0 to 0 below q·ξ = tan(π/(5-Ds)): keep that below the window
    p["cutoff_length"] = math.tan(math.pi / (5 - p["fractal_dim_surf"])) / p.pop("_q_cut")
    return p


AUXILIARY: Mapping[str, Mapping[str, Prior]] = {
    "polymer_micelle": {"_segments": Prior(2, 200, "log")},
    "surface_fractal": {"_q_cut": Prior(5e-6, 8e-4, "log")},
}
PHYSICS: Mapping[str, Callable[[dict], dict | None]] = {
    "binary_hard_sphere": all_of(_order("radius_sm", "radius_lg"),
                                 _below("volfraction_sm", lambda p: 0.6 - p["volfraction_lg"])),
    "raspberry": _order("radius_sm", "radius_lg"),
    "polymer_micelle": _polymer_micelle,
    "pearl_necklace": _below("thick_string", lambda p: 2 * p["radius"]),
    "capped_cylinder": _below("radius", "radius_cap"),
    "barbell": all_of(_below("radius", "radius_bell"), _below("radius_bell", lambda p: 120.0)),
    "hollow_rectangular_prism": _below("thickness", "length_a", 0.5),
    "lamellar_stack_caille": _below("thickness", "d_spacing"),
    "lamellar_stack_paracrystal": _below("thickness", "d_spacing"),
    "lamellar_hg_stack_caille": _below("length_tail", lambda p: p["d_spacing"] / 2 - p["length_head"]),
    "sc_paracrystal": _below("radius", "dnn", 0.5),
    "bcc_paracrystal": _below("radius", "dnn", 0.5),
    "fcc_paracrystal": _below("radius", "dnn", 0.5),
    "superball": _below("length_a", lambda p: 120.0),  # sasmodels' rules fail for q·a >~ 100
    "guinier_porod": all_of(_below("s", lambda p: min(p["porod_exp"], 3.0))),
    "power_law": lambda p: p if abs(p["power"] - 4.0) >= 0.15 else None,  # else porod
    "unified_power_Rg": _unified,
    "rpa": _rpa,
    "surface_fractal": _surface_fractal,
    "fractal": _below("radius", "cor_length"),
    "fractal_core_shell": _below("radius", "cor_length"),
    "mass_fractal": _below("radius", "cutoff_length"),
    "mass_surface_fractal": all_of(_below("rg_primary", "rg_cluster"),
                                   lambda p: p if p["fractal_dim_mass"] + p["fractal_dim_surf"] <= 5.5
                                   else None),
}


# ----------------------------------------------------------------- derive the priors
@cache
def training_ranges(name: str) -> Mapping[str, tuple[float, float]]:
    """[lo, hi] of every numeric parameter over the prior bounds and seeded training draws."""
    entry = CATALOG[name]
    rng = np.random.default_rng(0)
    draws = [median_parameters(entry)] + [sample_parameters(entry, rng) for _ in range(N_TRAINING_DRAWS)]
    ranges: dict[str, tuple[float, float]] = {}
    for par, prior in entry.priors.items():
        if not par.startswith("_"):
            ranges[par] = (prior.low, prior.high)
    for draw in draws:
        for par, value in draw.items():
            if par in ("scale", "background") or "_pd" in par or isinstance(value, str):
                continue
            lo, hi = ranges.get(par, (value, value))
            ranges[par] = (min(lo, value), max(hi, value))
    return ranges


def kernel_names(name: str) -> list[tuple[str, object]]:
    """(parameter name, sasmodels Parameter) for every kernel parameter, vectors expanded."""
    out = []
    for p in _model_info(name).parameters.kernel_parameters:
        if p.type in ("orientation", "magnetic"):
            continue
        names = [p.id] if p.length == 1 else [f"{p.id}{k}" for k in range(1, p.length + 1)]
        out += [(n, p) for n in names]
    return out


def _clip(prior: Prior, limits: tuple[float, float]) -> Prior:
    lo, hi = max(prior.low, limits[0]), min(prior.high, limits[1])
    if prior.scale == "log" and lo <= 0:
        lo = prior.low
    return replace(prior, low=lo, high=max(lo, hi))


@cache
def wide_priors(name: str) -> Mapping[str, Prior | float]:
    """The wide prior (a :class:`Prior`) or fixed value of every kernel parameter of ``name``."""
    entry, info = CATALOG[name], _model_info(name)
    ranges = training_ranges(name)
    controls = {p.length_control for p in info.parameters.kernel_parameters if p.length_control}
    oriented = any(p.type == "orientation" for p in info.parameters.kernel_parameters)
    out: dict[str, Prior | float] = {}
    for par, p in kernel_names(name):
        siblings = [ranges[n] for n, q in kernel_names(name) if q is p and n in ranges]
        if par in ranges:
            lo, hi = ranges[par]
        elif siblings:
            lo, hi = min(s[0] for s in siblings), max(s[1] for s in siblings)
        else:
            lo = hi = float(entry.fixed.get(par, p.default))
        trained = entry.priors.get(par)
        power = _UNIT_POWER.get(p.units)
        if p.type == "sld":
            prior = Prior(*SLD_RANGE, "linear", SLD)
        elif p.choices:  # a profile shape or a case: kept as trained
            prior = trained if trained is not None else Prior(lo, hi, "int")
        elif par in controls or (trained is not None and trained.scale == "int"):
            top = p.limits[1] if math.isfinite(p.limits[1]) else COUNT_FACTOR * hi
            prior = Prior(lo, max(lo, top), "int")
        elif power is not None and lo > 0:
            factor = LENGTH_FACTOR ** abs(power)
            low = max(lo / factor, MIN_LENGTH ** power) if power > 0 else lo / factor
            high = hi * factor
            if oriented and power == 1:
                high = min(high, ORIENTED_MAX_LENGTH)
            prior = Prior(low, max(low, high), "log", p.units)
        elif not p.units and re.search(r"ratio$|^x_", par):
            prior = Prior(*ASPECT_RANGE, "log")
        elif hi > lo:
            if lo > 0 and hi / lo >= 10:
                prior = Prior(lo / OTHER_FACTOR, hi * OTHER_FACTOR, "log", p.units)
            else:
                half = (hi - lo) / 2
                low = lo - half if lo < 0 or lo - half > 0 else 0.0
                prior = Prior(low, hi + half, "linear", p.units)
        else:
            out[par] = lo
            continue
        out[par] = _reach_default(_clip(prior, p.limits), par, p)
    return out


def is_amplitude(par: str) -> bool:
    """An amplitude (``scale``, ``lorentz_scale_2``): only its ratio to its pair's means anything."""
    return re.search(r"scale(_\d+)?$", par) is not None


def _reach_default(prior: Prior, par: str, p) -> Prior:
    """``prior`` widened to sasmodels' default of the parameter (see the module's rule)."""
    default = float(p.default)
    # SLDs, amplitudes and counts keep their rule; so do choices and tabulated steps
    if (p.type == "sld" or is_amplitude(par) or p.choices or prior.scale == "int" or prior.steps
            or prior.covers(default) or not p.limits[0] <= default <= p.limits[1]):
        return prior
    if prior.scale == "log" and default == 0:
        return replace(prior, zero_share=DEFAULT_ZERO_SHARE)
    if prior.scale == "log" and default < 0:
        magnitude = -default
        return replace(prior, low=min(prior.low, magnitude), high=max(prior.high, magnitude),
                       negative_share=0.5)
    return replace(prior, low=min(prior.low, default), high=max(prior.high, default))


def untrained_parameters(name: str, params: Mapping[str, object]) -> list[str]:
    """The parameters of a draw of ``name`` that no network trained on the narrow and wide
    priors has seen a value like: varied in the wide priors, and outside both the wide prior
    and the narrow training range. Amplitudes (``*scale``) are left out: the wide priors fix
    one of a pair and vary the other, so only their ratio means anything (:func:`is_amplitude`)."""
    priors, narrow = wide_priors(name), training_ranges(name)

    return [par for par, prior in priors.items()
            if isinstance(prior, Prior) and not is_amplitude(par) and par in params
            and isinstance(params[par], int | float) and not prior.covers(params[par])
            and (par not in narrow or not narrow[par][0] <= params[par] <= narrow[par][1])]


def describe(name: str) -> dict:
    """The wide priors of ``name`` as plain JSON-able data (for docs and manifests)."""
    def plain(v: Prior) -> dict:
        out = {"low": v.low, "high": v.high, "scale": v.scale, "unit": v.unit}
        out.update({k: getattr(v, k) for k in ("zero_share", "negative_share") if getattr(v, k)})
        return out

    return {par: (v if isinstance(v, float) else plain(v)) for par, v in wide_priors(name).items()}


# ----------------------------------------------------------------------- drawing
@cache
def _stub(name: str) -> ModelClass:
    """The class with no priors or constraint: what ``sampling._finish`` needs to add S(q)."""
    return replace(CATALOG[name], priors={}, constraint=None, tabulate=None, polydisperse={})


def _draw_form_factor(model_class: ModelClass, rng: np.random.Generator) -> dict:
    priors = wide_priors(model_class.name)
    return draw_with_physics(
        model_class.name, "wide",
        lambda: {par: prior.sample(rng) if isinstance(prior, Prior) else prior
                 for par, prior in priors.items()},
        rng)


def draw_with_physics(name: str, family: str, draw_kernel: Callable[[], dict],
                      rng: np.random.Generator) -> dict:
    """Kernel parameters from ``draw_kernel()``, auxiliary draws, then :data:`PHYSICS`,
    drawing again until the physics accepts; vector slots beyond their count dropped."""
    physics = PHYSICS.get(name)
    for _ in range(_MAX_TRIES):
        params: dict = {"scale": 1.0, "background": 0.0, **draw_kernel()}
        for par, prior in AUXILIARY.get(name, {}).items():
            params[par] = prior.sample(rng)
        if physics is not None:
            params = physics(params)
            if params is None:
                continue
        return trim_vectors(name, params)
    raise RuntimeError(f"{name}: the {family} priors' physics rejected {_MAX_TRIES} draws in a row")


def trim_vectors(name: str, params: dict) -> dict:
    """Drop the slots of vector parameters beyond their count (sasmodels ignores them)."""
    for p in _model_info(name).parameters.kernel_parameters:
        if p.length > 1 and p.length_control:
            n = int(params[p.length_control])
            for k in range(n + 1, p.length + 1):
                params.pop(f"{p.id}{k}", None)
    return params


def sample_wide(model_class: ModelClass, rng: np.random.Generator, *,
                structure_factor: str | None = None) -> dict | None:
    """One wide draw of ``model_class``: sasmodels keyword arguments as
    :func:`sasnn.simulate.sampling.sample_parameters` returns them, or None when no
    structure-factor draw fits this form factor (the simulator counts it and draws again).
    """
    params = _draw_form_factor(model_class, rng)
    return add_dispersion_and_s(model_class, params, rng, structure_factor,
                                monodisperse_share=MONODISPERSE_SHARE, pd_max=PD_MAX)


def add_dispersion_and_s(model_class: ModelClass, params: dict, rng: np.random.Generator,
                         structure_factor: str | None, *, monodisperse_share: float,
                         pd_max: float) -> dict | None:
    """Polydispersity (monodisperse for ``monodisperse_share`` of the draws, else a width
    uniform in (0, ``pd_max``] with one of :data:`PD_TYPES`) on the parameters the class is
    polydisperse on in training, then the structure factor as in training: the finishing
    steps every prior set drawn apart from the catalogue shares."""
    for par, dist in model_class.polydisperse.items():
        monodisperse = rng.random() < monodisperse_share
        params[f"{par}_pd"] = 0.0 if monodisperse else float(rng.uniform(0.0, pd_max))
        params[f"{par}_pd_type"] = PD_TYPES[int(rng.integers(len(PD_TYPES)))]
        params[f"{par}_pd_n"] = int(dist.npts)
        params[f"{par}_pd_nsigma"] = float(dist.nsigmas)
    if structure_factor is None:
        return params
    if structure_factor not in STRUCTURE_FACTORS or not model_class.structure_factor:
        raise ValueError(f"{model_class.name} cannot take structure factor {structure_factor!r}")
    s_entry = STRUCTURE_FACTORS[structure_factor]
    for _ in range(_S_TRIES):
        s_values = {par: prior.sample(rng) for par, prior in s_entry.priors.items()}
        out = _finish(_stub(model_class.name), dict(params), structure_factor, s_values)
        if out is not None:
            return out
    return None


__all__ = ["AUXILIARY", "DEFAULT_ZERO_SHARE", "MAX_DRAWS_PER_CURVE", "PHYSICS", "WIDE_VERSION",
           "add_dispersion_and_s", "describe", "draw_with_physics", "is_amplitude", "kernel_names",
           "sample_wide", "trim_vectors", "training_ranges", "untrained_parameters", "wide_priors"]
