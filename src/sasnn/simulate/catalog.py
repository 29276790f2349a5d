"""THE table of scattering-model classes and the priors that sample them.

Every sasmodels 1D form-factor and shape-independent model is a class here,
except the few in :data:`EXCLUDED` (each with its reason). The class label is
the sasmodels model name; :data:`CATALOG` is ordered and its order is the class
order. :data:`STRUCTURE_FACTORS` holds the interparticle structure factors that
may multiply a form factor (sasmodels' ``P@S`` product).

No other module spells out a model name: adding a class means adding one
``ModelClass`` entry to ``_FORM_FACTORS`` below, nothing else. This module is the table
and nothing but the table; the entry types are :mod:`sasnn.simulate.priors`, drawing
from it :mod:`sasnn.simulate.sampling`, and its check against sasmodels
:mod:`sasnn.simulate.validate`.

Conventions of the table
------------------------
* Lengths in Å, SLDs in 1e-6 Å⁻², q in Å⁻¹.
* ``priors`` are the parameters that vary, each drawn independently (uniform,
  log-uniform, integer, or one of a few ``steps``), then ``constraint``
  derives dependent values or rejects the draw (returns ``None``; the sampler
  draws again). Prior names starting with ``_`` are auxiliary draws (an aspect
  ratio, a fill fraction) that only the constraint reads; they never reach
  sasmodels.
* Classes are ordered by sasmodels category (spheres, cylinders, ellipsoids,
  parallelepipeds, lamellae, paracrystals, polyhedra, shape-independent), so
  that similar shapes sit together in a confusion matrix.
* Slow classes say in ``cost`` what was cut; seven of them (superball, the
  paracrystals, pringle, the tetrahedra) are ``tabulate``-d: evaluated by
  rescaling a per-process table of the curve at unit size (see ``Tabulation``).
* ``fixed`` pins parameters away from sasmodels' defaults; everything else takes
  the sasmodels default.
* ``scale`` = 1 and ``background`` = 0 always: the instrument sets absolute
  scale and flat background. With scale = 1 the intensity of a particle model
  is that of volume fraction 1 (cm⁻¹), i.e. Δρ² V P(q) S(q).
* Priors are chosen so that each class's distinguishing feature (Guinier knee,
  form-factor minima, Bragg/correlation peak, power-law slope) falls inside
  q ≈ 0.005–0.3 Å⁻¹, the window common to our instruments. ``reason`` says
  which feature sits where.

Each entry is checked for structure when it is constructed (bounds ordered,
log priors positive, known distributions, the constraint accepts the prior
median) and the table against sasmodels itself by
:func:`sasnn.simulate.validate.validate_catalog`
(names exist, parameters and derived values exist and stay inside the model's
own limits, P@S is supported, every sasmodels model is accounted for), which
the tests and the simulator call.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

from sasnn.simulate.constraints import (
    all_of,
    baxter,
    contrast,
    derive,
    ellipsoid_axes,
    hayter_msa,
    polymer_micelle,
    require,
    rpa,
    shells,
    unified_levels,
)
from sasnn.simulate.priors import (
    MAX_DIM,
    SLD,
    A,
    ModelClass,
    Prior,
    StructureFactorClass,
    Tabulation,
    integer,
    lin,
    log,
    pd,
)

__all__ = ["CATALOG", "EXCLUDED", "EXCLUDED_STRUCTURE_FACTORS", "STRUCTURE_FACTORS", "TWINS", "Twin",
           "twins_among"]


# ======================================================================= the table
# SLDs (1e-6 Å⁻²) used below: D2O 6.36, H2O -0.56, hydrocarbon tails -0.4..0.4,
# lipid/surfactant heads 1.5..4, polystyrene 1.4, PEO 0.6, silica 3.5, proteins ~2.5,
# deuterated organics 5..7. Solvents are D2O-rich mixtures (4-6.36), as in most SANS work;
# only contrast differences matter and flipping every sign leaves I unchanged, so the
# ranges below also cover SAXS (particle denser than solvent). Where two SLDs must
# differ, their priors have different medians so the prior median is a valid draw.
# Names starting with "_" are auxiliary draws: only the constraint reads them, and
# they never reach sasmodels (e.g. an aspect ratio from which a length is derived).
_SOLVENT = lin(4.0, 6.36, SLD)
_MAX_DIM = MAX_DIM  # the largest dimension any class draws (priors.MAX_DIM says why)
_ADAPTIVE_COST = "largest dimension <= 700 Å (q·D < 750: at most 500-point orientation rule)"
_LOW, _ANY = lin(-0.5, 4.0, SLD), lin(-0.5, 6.5, SLD)


# Paracrystals: a 150x150-point orientation integral per q (~1.5 ms). Tabulated over
# x = q·dnn for 4 fill fractions x 5 distortions; a log grid of 0.4 % steps resolves the
# Bragg peaks (0.9 % max deviation from direct evaluation after 3 % pinhole smearing).
_PARACRYSTAL_PRIORS = {"dnn": log(100, 350, A), "_fill": Prior(0.3, 0.48, steps=4),
                       "d_factor": Prior(0.06, 0.2, "log", steps=5)}
_PARACRYSTAL_TABLE = Tabulation("dnn", x_max=450.0, scaled={"radius": 1}, x_min=0.05,
                                log_step=0.004)
_PARACRYSTAL_COST = ("2-D 150x150 orientation integral, ~0.45 s per 300-q curve: tabulated "
                     "per process over q·dnn for 4 fills x 5 d_factors; monodisperse")


_FORM_FACTORS: list[ModelClass] = [
    # ------------------------------------------------------------ shape: sphere
    ModelClass(
        "sphere",
        priors={"radius": log(15, 600, A)},
        fixed={"sld": 1.0, "sld_solvent": 6.36},
        polydisperse={"radius": pd(0.05, 0.3, npts=35)},
        structure_factor=True, radius_effective="radius",
        reason="R 15-600 Å puts the Guinier knee (q≈1.3/R) and first minimum (4.49/R) in "
        "0.005-0.3 Å⁻¹; single contrast only scales I",
    ),
    ModelClass(
        "core_shell_sphere",
        priors={"radius": log(15, 300, A), "thickness": log(5, 80, A),
                "sld_core": _ANY, "sld_shell": _LOW,
                "sld_solvent": _SOLVENT},
        polydisperse={"radius": pd(0.05, 0.25, npts=25)},
        constraint=contrast(("sld_core", "sld_shell"), ("sld_shell", "sld_solvent")),
        structure_factor=True, radius_effective="outer radius",
        reason="micelles/AOT droplets: core 15-300 Å, shell 5-80 Å; core and shell contrasts "
        "differ so the minima shift away from a plain sphere's",
    ),
    ModelClass(
        "core_multi_shell",
        priors={"radius": log(15, 200, A), "n": integer(2, 4),
                "thickness1": log(8, 60, A), "thickness2": log(8, 60, A),
                "thickness3": log(8, 60, A), "thickness4": log(8, 60, A),
                "sld_core": _LOW, "sld1": _ANY, "sld2": _LOW, "sld3": _ANY, "sld4": _LOW,
                "sld_solvent": _SOLVENT},
        polydisperse={"radius": pd(0.05, 0.2, npts=15)},
        constraint=all_of(contrast(("sld_core", "sld1"), ("sld1", "sld2")),
                        shells("n", "sld", "thickness", maximum=4)),
        structure_factor=True, radius_effective="outer radius",
        reason="2-4 distinct shells of 8-60 Å on a 15-200 Å core: outer radius 30-440 Å keeps "
        "the first minima in window; n=1 would be core_shell_sphere",
    ),
    ModelClass(
        "onion",
        priors={"radius_core": log(15, 200, A), "n_shells": integer(1, 3),
                "thickness1": log(10, 80, A), "thickness2": log(10, 80, A),
                "thickness3": log(10, 80, A),
                "sld_core": _LOW, "sld_in1": _LOW, "sld_out1": _ANY,
                "sld_in2": _ANY, "sld_out2": _LOW, "sld_in3": _LOW, "sld_out3": _ANY,
                "A1": lin(-4, 4), "A2": lin(-4, 4), "A3": lin(-4, 4),
                "sld_solvent": _SOLVENT},
        polydisperse={"radius_core": pd(0.05, 0.2, npts=15)},
        constraint=all_of(contrast(("sld_in1", "sld_out1"), ("sld_core", "sld_solvent")),
                        shells("n_shells", "sld_in", "sld_out", "thickness", "A",
                                maximum=3)),
        structure_factor=True, radius_effective="outer radius",
        reason="1-3 graded shells (exponential profiles, A in -4..4) on a 15-200 Å core: "
        "smeared minima distinguish it from step profiles",
    ),
    ModelClass(
        "spherical_sld",
        priors={"n_shells": integer(1, 3),
                "thickness1": log(20, 200, A), "thickness2": log(10, 80, A),
                "thickness3": log(10, 80, A),
                "interface1": log(5, 40, A), "interface2": log(5, 40, A),
                "interface3": log(5, 40, A),
                "sld1": _LOW, "sld2": _ANY, "sld3": _LOW,
                "shape1": integer(0, 4), "shape2": integer(0, 4), "shape3": integer(0, 4),
                "nu1": lin(1.5, 4), "nu2": lin(1.5, 4), "nu3": lin(1.5, 4),
                "sld_solvent": _SOLVENT},
        fixed={"n_steps": 15},
        polydisperse={"thickness1": pd(0.05, 0.2, npts=11)},
        constraint=all_of(contrast(("sld1", "sld_solvent")),
                        shells("n_shells", "sld", "thickness", "interface", "shape", "nu",
                                maximum=3)),
        structure_factor=True, radius_effective="outer radius",
        reason="core 20-200 Å plus up to two shells, each with a 5-40 Å graded interface "
        "(erf/power/exp): soft minima and faster-than-Porod decay",
        cost="n_steps 15 (default 35) sub-shells per interface and 11-point polydispersity",
    ),
    ModelClass(
        "fuzzy_sphere",
        priors={"radius": log(20, 400, A), "_fuzz": lin(0.05, 0.25)},
        fixed={"sld": 1.0, "sld_solvent": 6.36},
        polydisperse={"radius": pd(0.05, 0.25, npts=25)},
        constraint=derive(fuzziness=lambda p: p["radius"] * p.pop("_fuzz")),
        structure_factor=True, radius_effective="radius + fuzziness",
        reason="microgels: R 20-400 Å with fuzziness 5-25 % of R, which damps the sphere "
        "minima and steepens the high-q decay",
    ),
    ModelClass(
        "vesicle",
        priors={"radius": log(50, 800, A), "thickness": log(20, 80, A)},
        fixed={"sld": 0.5, "sld_solvent": 6.36, "volfraction": 1.0},
        polydisperse={"radius": pd(0.1, 0.3, npts=25)},
        structure_factor=True, radius_effective="outer radius",
        reason="liposomes/polymersomes: core 50-800 Å, bilayer 20-80 Å; q^-2 mid-range with "
        "the bilayer minimum near 2π/t in 0.08-0.3 Å⁻¹",
    ),
    ModelClass(
        "multilayer_vesicle",
        priors={"radius": log(50, 500, A), "thick_shell": log(25, 60, A),
                "thick_solvent": log(20, 150, A), "n_shells": integer(2, 6)},
        fixed={"sld": 0.4, "sld_solvent": 6.36, "volfraction": 1.0},
        polydisperse={"radius": pd(0.1, 0.3, npts=15)},
        structure_factor=True, radius_effective="outer radius",
        reason="onion vesicles: 2-6 bilayers of 25-60 Å with 20-150 Å water gaps give a "
        "quasi-Bragg peak at 2π/(t_shell+t_solvent) = 0.03-0.15 Å⁻¹",
    ),
    ModelClass(
        "binary_hard_sphere",
        priors={"radius_lg": log(40, 300, A), "_size_ratio": lin(0.15, 0.6),
                "volfraction_lg": lin(0.03, 0.3), "volfraction_sm": lin(0.03, 0.3),
                "sld_sm": lin(0.5, 5, SLD)},
        fixed={"sld_lg": 3.5, "sld_solvent": 6.36},
        constraint=all_of(
            require(lambda p: p["volfraction_lg"] + p["volfraction_sm"] <= 0.45),
            derive(radius_sm=lambda p: p["radius_lg"] * p.pop("_size_ratio"))),
        reason="two hard-sphere populations (size ratio 0.15-0.6, total φ <= 0.45): two "
        "Guinier regions and a correlation peak from the larger spheres",
    ),
    ModelClass(
        "raspberry",
        priors={"radius_lg": log(200, 1500, A), "_size_ratio": log(0.03, 0.25),
                "volfraction_lg": lin(0.01, 0.1), "_sm_per_lg": lin(0.05, 0.5),
                "surface_fraction": lin(0.3, 0.9), "penetration": lin(0.0, 0.3)},
        fixed={"sld_lg": -0.4, "sld_sm": 3.5, "sld_solvent": 6.36},
        constraint=derive(radius_sm=lambda p: p["radius_lg"] * p.pop("_size_ratio"),
                           volfraction_sm=lambda p: p["volfraction_lg"] * p.pop("_sm_per_lg")),
        structure_factor=True, radius_effective="radius_outer",
        reason="Pickering emulsion: oil droplet 200-1500 Å (knee below 0.01 Å⁻¹) covered by "
        "silica 3-25 % of its size, whose own knee and minima sit at 0.02-0.3 Å⁻¹",
    ),
    ModelClass(
        "adsorbed_layer",
        priors={"second_moment": log(10, 120, A), "adsorbed_amount": lin(0.5, 3.0, "mg/m²")},
        reason="polymer layer on large particles: q^-2 decay cut off by exp(-(σq)²) at "
        "q≈1/σ, σ 10-120 Å puts the cutoff at 0.008-0.1 Å⁻¹",
    ),
    ModelClass(
        "linear_pearls",
        priors={"radius": log(20, 150, A), "edge_sep": log(10, 400, A),
                "num_pearls": integer(2, 10)},
        fixed={"sld": 1.0, "sld_solvent": 6.36},
        reason="2-10 spheres of 20-150 Å in a line: sphere minima plus interference "
        "oscillations at 2π/(2R+sep) in window",
    ),
    ModelClass(
        "pearl_necklace",
        priors={"radius": log(20, 120, A), "edge_sep": log(20, 400, A),
                "_string_ratio": lin(0.05, 0.3), "num_pearls": integer(2, 10),
                "sld_string": lin(0.5, 3, SLD)},
        fixed={"sld": 1.0, "sld_solvent": 6.36},
        polydisperse={"radius": pd(0.05, 0.2, npts=11)},
        constraint=derive(thick_string=lambda p: p["radius"] * p.pop("_string_ratio")),
        reason="polyelectrolyte-surfactant necklaces: pearls 20-120 Å joined by strings "
        "5-30 % of R thick; pearl-pearl interference at 2π/(2R+sep)",
    ),
    ModelClass(
        "polymer_micelle",
        priors={"radius_core": log(30, 150, A), "rg": log(8, 40, A),
                "n_aggreg": lin(20, 150), "_segments": lin(6, 40),
                "d_penetration": lin(0.8, 1.3), "sld_corona": lin(0.4, 1.5, SLD)},
        fixed={"sld_core": 0.34, "sld_solvent": 6.36, "ndensity": 1.0},
        constraint=polymer_micelle,
        reason="block-copolymer micelles: core 30-150 Å with Gaussian corona chains of Rg "
        "8-40 Å and R >= 2.5 Rg (the model's validity condition); core minima in window",
    ),
    # ---------------------------------------------------------- shape: cylinder
    ModelClass(
        "cylinder",
        priors={"radius": log(10, 150, A), "length": log(20, _MAX_DIM, A)},
        fixed={"sld": 1.0, "sld_solvent": 6.36},
        polydisperse={"radius": pd(0.05, 0.25, npts=11)},
        constraint=require(lambda p: abs(math.log(p["length"] / (2 * p["radius"])))
                            >= math.log(1.5)),
        structure_factor=True,
        reason="rods (L/D >= 1.5) and discs (L/D <= 2/3): R 10-150 Å puts the cross-section "
        "minimum 3.83/R in window, L 20-700 Å the length knee",
        cost=_ADAPTIVE_COST + "; 11-point polydispersity on the radius",
    ),
    ModelClass(
        "core_shell_cylinder",
        priors={"radius": log(10, 100, A), "thickness": log(5, 40, A),
                "length": log(60, _MAX_DIM, A),
                "sld_core": _ANY, "sld_shell": _LOW,
                "sld_solvent": _SOLVENT},
        polydisperse={"radius": pd(0.05, 0.2, npts=7)},
        constraint=all_of(
            contrast(("sld_core", "sld_shell"), ("sld_shell", "sld_solvent")),
            require(lambda p: p["length"] >= 4 * (p["radius"] + p["thickness"]))),
        structure_factor=True,
        reason="core-shell rods (cylindrical micelles): core 10-100 Å, shell 5-40 Å, L 60-700 "
        "Å and L/D >= 2; the shell contrast moves the cross-section minima",
        cost=_ADAPTIVE_COST + "; 7-point polydispersity on the core radius",
    ),
    ModelClass(
        "hollow_cylinder",
        priors={"radius": log(10, 120, A), "thickness": log(5, 40, A),
                "length": log(20, _MAX_DIM, A)},
        fixed={"sld": 1.0, "sld_solvent": 6.36},
        polydisperse={"radius": pd(0.05, 0.2, npts=7)},
        structure_factor=True, radius_effective="equivalent outer volume sphere",
        reason="nanotubes and rings: bore 10-120 Å, wall 5-40 Å, L 20-700 Å; the wall gives "
        "minima distinct from a solid rod's",
        cost=_ADAPTIVE_COST + "; 7-point polydispersity on the bore radius",
    ),
    ModelClass(
        "capped_cylinder",
        priors={"radius": log(10, 60, A), "_cap_ratio": lin(1.0, 2.0),
                "length": log(20, 500, A)},
        fixed={"sld": 1.0, "sld_solvent": 6.36},
        constraint=derive(radius_cap=lambda p: p["radius"] * p.pop("_cap_ratio")),
        structure_factor=True,
        reason="spherocylinders: R 10-60 Å, cap radius 1-2 R, bar 20-500 Å; caps smear the "
        "cylinder minima",
        cost=_ADAPTIVE_COST + "; monodisperse",
    ),
    ModelClass(
        "barbell",
        priors={"radius": log(10, 40, A), "_bell_ratio": lin(1.3, 3.0),
                "length": log(20, 500, A)},
        fixed={"sld": 1.0, "sld_solvent": 6.36},
        constraint=derive(radius_bell=lambda p: p["radius"] * p.pop("_bell_ratio")),
        structure_factor=True,
        reason="dumbbells: bar R 10-40 Å, bells 1.3-3 R (<= 120 Å, where sasmodels is "
        "accurate), bar 20-500 Å; bell and bar features both in window",
        cost=_ADAPTIVE_COST + "; monodisperse",
    ),
    ModelClass(
        "elliptical_cylinder",
        priors={"radius_minor": log(10, 60, A), "axis_ratio": log(1.5, 4),
                "length": log(40, 600, A)},
        fixed={"sld": 1.0, "sld_solvent": 6.36},
        constraint=require(lambda p: p["length"] >= 4 * p["radius_minor"]),
        structure_factor=True,
        reason="ribbons: minor radius 10-60 Å, axis ratio 1.5-4, L 40-600 Å (>= 2 minor "
        "diameters); two cross-section lengths smear the minima",
        cost=_ADAPTIVE_COST + "; monodisperse (2-D orientation average)",
    ),
    ModelClass(
        "flexible_cylinder",
        priors={"length": log(300, 5000, A), "kuhn_length": log(40, 600, A),
                "radius": log(8, 60, A)},
        fixed={"sld": 1.0, "sld_solvent": 6.36},
        polydisperse={"radius": pd(0.05, 0.2, npts=11)},
        constraint=require(lambda p: p["length"] >= 3 * p["kuhn_length"]),
        reason="wormlike micelles/polymers: contour 300-5000 Å >= 3 Kuhn lengths (40-600 Å) "
        "so the q^-2 → q^-1 crossover near 6/b is in window, cross-section R 8-60 Å",
    ),
    ModelClass(
        "flexible_cylinder_elliptical",
        priors={"length": log(300, 5000, A), "kuhn_length": log(40, 600, A),
                "radius": log(8, 50, A), "axis_ratio": log(1.5, 5)},
        fixed={"sld": 1.0, "sld_solvent": 6.36},
        polydisperse={"radius": pd(0.05, 0.2, npts=7)},
        constraint=require(lambda p: p["length"] >= 3 * p["kuhn_length"]),
        reason="as flexible_cylinder with an elliptical cross-section (axis ratio 1.5-5), "
        "which changes the high-q cross-section decay",
        cost="7-point polydispersity on the minor radius",
    ),
    ModelClass(
        "core_shell_bicelle",
        priors={"radius": log(30, 300, A), "thick_rim": log(5, 30, A),
                "thick_face": log(5, 30, A), "length": log(15, 80, A),
                "sld_core": lin(-0.5, 1.0, SLD), "sld_face": lin(1.0, 5.0, SLD),
                "sld_rim": lin(1.0, 5.0, SLD), "sld_solvent": _SOLVENT},
        polydisperse={"radius": pd(0.05, 0.25, npts=7)},
        constraint=contrast(("sld_core", "sld_face"), ("sld_face", "sld_solvent"),
                             minimum=0.5),
        structure_factor=True,
        reason="lipid bicelles: tail core 15-80 Å thick, disc radius 30-300 Å, head rims and "
        "faces 5-30 Å; q^-2 disc regime then the bilayer minimum",
        cost="7-point polydispersity on the radius",
    ),
    ModelClass(
        "core_shell_bicelle_elliptical",
        priors={"radius": log(30, 150, A), "x_core": log(1.5, 4), "thick_rim": log(5, 30, A),
                "thick_face": log(5, 30, A), "length": log(15, 80, A),
                "sld_core": lin(-0.5, 1.0, SLD), "sld_face": lin(1.0, 5.0, SLD),
                "sld_rim": lin(1.0, 5.0, SLD), "sld_solvent": _SOLVENT},
        constraint=all_of(contrast(("sld_core", "sld_face"), ("sld_face", "sld_solvent"),
                                  minimum=0.5),
                        require(lambda p: p["radius"] * p["x_core"] <= 300)),
        structure_factor=True,
        reason="elliptical bicelles: minor radius 30-150 Å, ellipticity 1.5-4 (major radius "
        "<= 300 Å), bilayer 15-80 Å; features as core_shell_bicelle with a smeared disc knee",
        cost=_ADAPTIVE_COST + "; monodisperse (3-D integral)",
    ),
    ModelClass(
        "core_shell_bicelle_elliptical_belt_rough",
        priors={"radius": log(30, 150, A), "x_core": log(1.5, 4), "thick_rim": log(5, 30, A),
                "thick_face": log(5, 30, A), "length": log(15, 80, A),
                "sld_core": lin(-0.5, 1.0, SLD), "sld_face": lin(1.0, 5.0, SLD),
                "sld_rim": lin(1.0, 5.0, SLD), "sld_solvent": _SOLVENT,
                "sigma": lin(2, 12, A)},
        constraint=all_of(contrast(("sld_core", "sld_face"), ("sld_face", "sld_solvent"),
                                  minimum=0.5),
                        require(lambda p: p["radius"] * p["x_core"] <= 300)),
        structure_factor=True,
        reason="as core_shell_bicelle_elliptical with a belt rim and interfacial roughness "
        "2-12 Å that damps the high-q minima",
        cost=_ADAPTIVE_COST + "; monodisperse (3-D integral)",
    ),
    ModelClass(
        "stacked_disks",
        priors={"thick_core": log(10, 60, A), "thick_layer": log(5, 25, A),
                "radius": log(40, 300, A), "n_stacking": integer(2, 15),
                "_sigma_rel": lin(0.0, 0.15), "sld_core": _ANY,
                "sld_layer": _LOW, "sld_solvent": _SOLVENT},
        polydisperse={"radius": pd(0.05, 0.2, npts=7)},
        constraint=all_of(
            contrast(("sld_core", "sld_layer")),
            derive(sigma_d=lambda p: p.pop("_sigma_rel")
                    * (p["thick_core"] + 2 * p["thick_layer"]))),
        reason="clay/lamellar tactoids: 2-15 disks of radius 40-300 Å with repeat 20-110 Å: "
        "a stacking peak at 2π/d = 0.06-0.3 Å⁻¹ on a q^-2 disc decay",
        cost="7-point polydispersity on the radius",
    ),
    ModelClass(
        "pringle",
        priors={"radius": log(30, 120, A), "_thick": Prior(0.08, 0.4, "log", steps=3),
                "_alpha_rel": Prior(-0.3, 0.3, steps=3), "_beta_rel": Prior(0.2, 1.5, "log", steps=3)},
        fixed={"sld": 1.0, "sld_solvent": 6.36},
        constraint=derive(thickness=lambda p: p.pop("_thick") * p["radius"],
                           alpha=lambda p: p.pop("_alpha_rel") / p["radius"],
                           beta=lambda p: p.pop("_beta_rel") / p["radius"]),
        tabulate=Tabulation("radius", x_max=150.0,
                            scaled={"thickness": 1, "alpha": -1, "beta": -1},
                            log_step=0.04, step=0.4),
        reason="saddle-shaped discs: radius 30-120 Å, thickness 8-40 % of R; curvatures "
        "scale with 1/R so the saddle height (β R²) is 0.2-1.5 R (flat discs are "
        "other classes)",
        cost="2-D Bessel-series integral, ~0.4 s per 300-q curve: tabulated per process "
        "over q·R for 3x3x3 shapes; monodisperse, no structure factor",
    ),
    # --------------------------------------------------------- shape: ellipsoid
    ModelClass(
        "ellipsoid",
        priors={"radius_equatorial": log(15, 200, A), "_ratio": log(1.5, 6),
                "_prolate": lin(0, 1)},
        fixed={"sld": 1.0, "sld_solvent": 6.36},
        polydisperse={"radius_equatorial": pd(0.05, 0.25, npts=15)},
        constraint=ellipsoid_axes,
        structure_factor=True,
        reason="prolate and oblate (50/50) with axis ratio 1.5-6 (never a near-sphere); "
        "equatorial radius 15-200 Å and semi-axes <= 700 Å keep both knees in window",
    ),
    ModelClass(
        "core_shell_ellipsoid",
        priors={"radius_equat_core": log(15, 150, A), "x_core": log(0.2, 5),
                "thick_shell": log(5, 40, A), "x_polar_shell": log(0.5, 2),
                "sld_core": _ANY, "sld_shell": _LOW,
                "sld_solvent": _SOLVENT},
        polydisperse={"radius_equat_core": pd(0.05, 0.2, npts=15)},
        constraint=contrast(("sld_core", "sld_shell"), ("sld_shell", "sld_solvent")),
        structure_factor=True,
        reason="swollen micelles: core 15-150 Å with polar/equatorial ratio 0.2-5, shell "
        "5-40 Å; core-shell contrast as in core_shell_sphere",
    ),
    ModelClass(
        "triaxial_ellipsoid",
        priors={"radius_equat_minor": log(15, 80, A), "_b_ratio": log(1.3, 3),
                "_c_ratio": log(1.3, 3)},
        fixed={"sld": 1.0, "sld_solvent": 6.36},
        constraint=derive(radius_equat_major=lambda p: p["radius_equat_minor"] * p.pop("_b_ratio"),
                           radius_polar=lambda p: p["radius_equat_major"] * p.pop("_c_ratio")),
        structure_factor=True,
        reason="three different semi-axes: minor 15-80 Å, each next axis 1.3-3 times the "
        "previous, so all three lengths leave a trace in 0.005-0.3 Å⁻¹",
        cost=_ADAPTIVE_COST + "; monodisperse (2-D orientation average)",
    ),
    # ---------------------------------------------------- shape: parallelepiped
    ModelClass(
        "parallelepiped",
        priors={"length_a": log(15, 80, A), "_b_ratio": log(1.2, 3), "_c_ratio": log(1.2, 5)},
        fixed={"sld": 1.0, "sld_solvent": 6.36},
        constraint=derive(length_b=lambda p: p["length_a"] * p.pop("_b_ratio"),
                           length_c=lambda p: p["length_b"] * p.pop("_c_ratio")),
        structure_factor=True,
        reason="bricks with a < b < c (a 15-80 Å, b/a 1.2-3, c/b 1.2-5): three "
        "crossovers in window",
        cost=_ADAPTIVE_COST + "; monodisperse (2-D orientation average)",
    ),
    ModelClass(
        "rectangular_prism",
        priors={"length_a": log(15, 120, A), "b2a_ratio": log(1, 3), "c2a_ratio": log(1, 6)},
        fixed={"sld": 1.0, "sld_solvent": 6.36},
        structure_factor=True,
        reason="prisms and cubes (ratios 1-3 and 1-6, cubes included): a 15-120 Å puts the "
        "edge minima in window",
        cost=_ADAPTIVE_COST + "; monodisperse (2-D orientation average)",
    ),
    ModelClass(
        "hollow_rectangular_prism",
        priors={"length_a": log(30, 150, A), "b2a_ratio": log(1, 3), "c2a_ratio": log(1, 5),
                "_wall": lin(0.05, 0.35)},
        fixed={"sld": 1.0, "sld_solvent": 6.36},
        constraint=all_of(require(lambda p: p["length_a"] * p["c2a_ratio"] <= 400),
                        derive(thickness=lambda p: p.pop("_wall") * p["length_a"])),
        structure_factor=True, radius_effective="equivalent outer volume sphere",
        reason="hollow boxes: outer a 30-150 Å, b/a 1-3, c/a 1-5 (c <= 400 Å), wall 5-35 % of a (< a/2 "
        "as the model requires); wall minimum near 2π/t",
        cost=_ADAPTIVE_COST + "; monodisperse (2-D orientation average)",
    ),
    ModelClass(
        "hollow_rectangular_prism_thin_walls",
        priors={"length_a": log(30, 150, A), "b2a_ratio": log(1, 3), "c2a_ratio": log(1, 5)},
        fixed={"sld": 1.0, "sld_solvent": 6.36},
        constraint=require(lambda p: p["length_a"] * p["c2a_ratio"] <= 400),
        structure_factor=True, radius_effective="equivalent outer volume sphere",
        reason="infinitely thin-walled boxes, a 30-150 Å: shell-like minima with no wall "
        "cutoff at high q",
        cost=_ADAPTIVE_COST + "; monodisperse (2-D orientation average)",
    ),
    ModelClass(
        "core_shell_parallelepiped",
        priors={"length_a": log(15, 60, A), "_b_ratio": log(1.2, 3), "_c_ratio": log(1.2, 5),
                "thick_rim_a": log(4, 25, A), "thick_rim_b": log(4, 25, A),
                "thick_rim_c": log(4, 25, A),
                "sld_core": _LOW, "sld_a": _ANY, "sld_b": _ANY, "sld_c": _ANY,
                "sld_solvent": _SOLVENT},
        constraint=all_of(
            contrast(("sld_core", "sld_a"), ("sld_core", "sld_solvent")),
            derive(length_b=lambda p: p["length_a"] * p.pop("_b_ratio"),
                    length_c=lambda p: p["length_b"] * p.pop("_c_ratio"))),
        structure_factor=True,
        reason="bricks a < b < c (a 15-60 Å) with 4-25 Å rims of their own contrast on each "
        "face pair",
        cost=_ADAPTIVE_COST + "; monodisperse (2-D orientation average)",
    ),
    # ------------------------------------------------------------ shape: lamellae
    ModelClass(
        "lamellar",
        priors={"thickness": log(15, 300, A)},
        fixed={"sld": 1.0, "sld_solvent": 6.36},
        polydisperse={"thickness": pd(0.05, 0.25, npts=25)},
        reason="isolated sheets 15-300 Å thick: q^-2 with the sheet minimum 2π/t in "
        "0.02-0.4 Å⁻¹",
    ),
    ModelClass(
        "lamellar_hg",
        priors={"length_tail": log(8, 25, A), "length_head": log(4, 15, A),
                "sld": lin(-0.5, 1.0, SLD), "sld_head": lin(1.0, 5.0, SLD),
                "sld_solvent": _SOLVENT},
        polydisperse={"length_tail": pd(0.05, 0.2, npts=15)},
        constraint=contrast(("sld", "sld_head"), ("sld_head", "sld_solvent"), minimum=0.5),
        reason="lipid bilayers: tails 8-25 Å, heads 4-15 Å with their own contrast: "
        "a broad bilayer hump at 0.1-0.3 Å⁻¹",
    ),
    ModelClass(
        "lamellar_stack_caille",
        priors={"d_spacing": log(50, 400, A), "_fill": lin(0.15, 0.6),
                "Nlayers": integer(5, 60), "Caille_parameter": lin(0.01, 0.3)},
        fixed={"sld": 1.0, "sld_solvent": 6.36},
        polydisperse={"thickness": pd(0.05, 0.2, npts=7)},
        constraint=derive(thickness=lambda p: p["d_spacing"] * p.pop("_fill")),
        reason="smectic/lamellar phases: d 50-400 Å puts the first Bragg peak 2π/d at "
        "0.016-0.13 Å⁻¹; Caillé η 0.01-0.3 shapes the peak tails",
    ),
    ModelClass(
        "lamellar_hg_stack_caille",
        priors={"length_tail": log(8, 25, A), "length_head": log(4, 15, A),
                "_water": log(5, 150, A), "Nlayers": integer(5, 60),
                "Caille_parameter": lin(0.01, 0.3),
                "sld": lin(-0.5, 1.0, SLD), "sld_head": lin(1.0, 5.0, SLD),
                "sld_solvent": _SOLVENT},
        constraint=all_of(
            contrast(("sld", "sld_head"), ("sld_head", "sld_solvent"), minimum=0.5),
            derive(d_spacing=lambda p: 2 * (p["length_tail"] + p["length_head"])
                    + p.pop("_water"))),
        reason="multilamellar lipid stacks: bilayer 24-80 Å plus 5-150 Å water, d 30-230 Å "
        "puts Bragg orders at 0.03-0.2 Å⁻¹ on the bilayer form factor",
    ),
    ModelClass(
        "lamellar_stack_paracrystal",
        priors={"d_spacing": log(50, 400, A), "_fill": lin(0.15, 0.6),
                "Nlayers": integer(5, 60), "_sigma_rel": lin(0.03, 0.2)},
        fixed={"sld": 1.0, "sld_solvent": 6.36},
        polydisperse={"thickness": pd(0.05, 0.2, npts=7)},
        constraint=derive(thickness=lambda p: p["d_spacing"] * p.pop("_fill"),
                           sigma_d=lambda p: p["d_spacing"] * p.pop("_sigma_rel")),
        reason="paracrystalline stacks: d 50-400 Å with spacing disorder 3-20 %, which "
        "broadens higher orders faster than Caillé",
    ),
    # ------------------------------------------------------- shape: paracrystal
    ModelClass(
        "sc_paracrystal",
        priors=_PARACRYSTAL_PRIORS,
        fixed={"sld": 1.0, "sld_solvent": 6.36},
        constraint=derive(radius=lambda p: p["dnn"] * p.pop("_fill")),
        tabulate=_PARACRYSTAL_TABLE,
        reason="ordered micelles: dnn 100-350 Å puts the (100) peak 2π/dnn at 0.018-0.063 Å⁻¹; "
        "R 30-48 % of dnn (touching at 50 %); d_factor >= 0.06 avoids NaN",
        cost=_PARACRYSTAL_COST,
    ),
    ModelClass(
        "bcc_paracrystal",
        priors=_PARACRYSTAL_PRIORS,
        fixed={"sld": 1.0, "sld_solvent": 6.36},
        constraint=derive(radius=lambda p: p["dnn"] * p.pop("_fill")),
        tabulate=_PARACRYSTAL_TABLE,
        reason="P123-like bcc micelle crystals: (110) peak 7.7/dnn at 0.022-0.077 Å⁻¹; "
        "R 30-48 % of dnn; d_factor >= 0.06 avoids NaN",
        cost=_PARACRYSTAL_COST,
    ),
    ModelClass(
        "fcc_paracrystal",
        priors=_PARACRYSTAL_PRIORS,
        fixed={"sld": 1.0, "sld_solvent": 6.36},
        constraint=derive(radius=lambda p: p["dnn"] * p.pop("_fill")),
        tabulate=_PARACRYSTAL_TABLE,
        reason="P123-like fcc micelle crystals: (111) peak 7.7/dnn at 0.022-0.077 Å⁻¹; "
        "R 30-48 % of dnn; d_factor >= 0.06 avoids NaN",
        cost=_PARACRYSTAL_COST,
    ),
    # --------------------------------------------------------- shape: polyhedron
    ModelClass(
        "superball",
        priors={"length_a": log(25, 120, A), "exponent_p": Prior(1.5, 10, "log", steps=12)},
        fixed={"sld": 1.0, "sld_solvent": 6.36},
        tabulate=Tabulation("length_a", x_max=150.0, log_step=0.05, step=0.2),
        reason="rounded nanocubes: edge 25-120 Å, roundness p 1.5 (near sphere) to 10 "
        "(sharp cube); knee and minima near 2π/a in window. sasmodels' 20-point rules "
        "are accurate only for q·a <~ 100 (600x off at q·a = 200), so a <= 120 Å",
        cost="4-D integral, 2.5 s per 300-q curve: tabulated per process (12 shapes p, "
        "x = q·a <= 150) and rescaled; monodisperse, no structure factor",
    ),
    ModelClass(
        "tetrahedron",
        priors={"radius": log(30, 400, A)},
        fixed={"sld": 1.0, "sld_solvent": 6.36},
        tabulate=Tabulation("radius", x_max=600.0, step=0.5),
        reason="tetrahedra with circumradius 30-400 Å: knee and the first polyhedral "
        "minima in window",
        cost="Python orientation average (~30 ms): tabulated once per process; monodisperse",
    ),
    ModelClass(
        "truncated_tetrahedron",
        priors={"radius": log(30, 400, A), "truncation": Prior(0.05, 0.45, steps=9)},
        fixed={"sld": 1.0, "sld_solvent": 6.36},
        tabulate=Tabulation("radius", x_max=600.0, step=0.5),
        reason="truncated tetrahedra, circumradius 30-400 Å, truncation 0.05-0.45 (0 is "
        "the tetrahedron class, 0.5 an octahedron)",
        cost="Python orientation average (~60 ms): tabulated per process for 9 truncations; "
        "monodisperse",
    ),
    ModelClass(
        "truncated_octahedron",
        priors={"radius_a": log(20, 150, A), "b2a_ratio": lin(0.8, 1.25),
                "c2a_ratio": lin(0.8, 1.25), "truncation": lin(0.0, 0.5)},
        fixed={"sld": 1.0, "sld_solvent": 6.36},
        reason="octahedra to cuboctahedra (truncation 0-0.5), half-height 20-150 Å, mildly "
        "distorted (ratios 0.8-1.25)",
        cost=_ADAPTIVE_COST + "; monodisperse (2-D orientation integral)",
    ),
    ModelClass(
        "prism",
        priors={"n_sides": integer(3, 8), "radius_average": log(15, 150, A),
                "_aspect": log(1, 30)},
        fixed={"sld": 1.0, "sld_solvent": 6.36},
        constraint=derive(length=lambda p: 2 * p["radius_average"] * p.pop("_aspect")),
        reason="polygonal rods with 3-8 sides: cross-section radius 15-150 Å, L/D 1-30; "
        "facets modify the cylinder's cross-section minima",
        cost="monodisperse (Python orientation average)",
    ),
    # ------------------------------------------------------ shape-independent
    ModelClass(
        "guinier",
        priors={"rg": log(10, 300, A)},
        reason="pure Guinier exp(-q²Rg²/3): Rg 10-300 Å puts the knee 1/Rg at 0.003-0.1 Å⁻¹",
    ),
    ModelClass(
        "guinier_porod",
        priors={"rg": log(15, 400, A), "s": lin(0.0, 2.0), "_extra": lin(0.5, 3.0)},
        constraint=derive(porod_exp=lambda p: min(p["s"] + p.pop("_extra"), 4.5)),
        reason="Hammouda's generalised Guinier-Porod: spheres (s=0), rods (1), platelets (2), "
        "Rg 15-400 Å and a Porod slope above s",
    ),
    ModelClass(
        "unified_power_Rg",
        priors={"level": integer(1, 3),
                "rg1": log(15, 150, A), "power1": lin(1.5, 4.0), "G1": log(1, 100),
                "_step2": log(5, 20), "power2": lin(1.5, 4.0), "G2": log(0.3, 3),
                "_step3": log(5, 20), "power3": lin(1.5, 4.0), "G3": log(0.3, 3)},
        constraint=unified_levels,
        reason="Beaucage unified fits with 1-3 levels: Rg 15-150 Å, each next level 5-20x "
        "larger, power 1.5-4 after each knee (consistent B from G, Rg and P)",
    ),
    ModelClass(
        "porod",
        priors={},
        reason="sharp interfaces, I ∝ q^-4; no shape parameter",
    ),
    ModelClass(
        "power_law",
        priors={"power": lin(1.0, 5.0)},
        constraint=require(lambda p: abs(p["power"] - 4.0) >= 0.15),
        reason="fractal/rough objects with I ∝ q^-n, n 1-5; n within 0.15 of 4 is left to "
        "the porod class",
    ),
    ModelClass(
        "two_power_law",
        priors={"crossover": log(0.008, 0.15, "1/Å"), "power_1": lin(1.0, 3.5),
                "_delta": lin(0.7, 3.0)},
        constraint=derive(power_2=lambda p: p["power_1"] + p.pop("_delta")),
        reason="two slopes meeting at a kink: crossover 0.008-0.15 Å⁻¹, high-q slope "
        "steeper by 0.7-3",
    ),
    ModelClass(
        "correlation_length",
        priors={"cor_length": log(10, 300, A), "porod_exp": lin(2.0, 4.0),
                "lorentz_exp": lin(1.5, 3.0), "_low_q": log(0.1, 10)},
        fixed={"lorentz_scale": 1.0},
        constraint=derive(porod_scale=lambda p: p.pop("_low_q") * (0.5 / p["cor_length"])
                           ** p["porod_exp"]),
        reason="polymer solutions with clusters: Lorentzian knee at 1/ξ (ξ 10-300 Å) plus a "
        "low-q power law whose weight at q=0.5/ξ is 0.1-10x the Lorentzian",
    ),
    ModelClass(
        "lorentz",
        priors={"cor_length": log(10, 300, A)},
        reason="Ornstein-Zernike 1/(1+q²ξ²): ξ 10-300 Å puts the knee in window",
    ),
    ModelClass(
        "dab",
        priors={"cor_length": log(10, 300, A)},
        reason="Debye-Anderson-Brumberger random two-phase media 1/(1+q²ξ²)²: ξ 10-300 Å",
    ),
    ModelClass(
        "two_lorentzian",
        priors={"lorentz_length_1": log(100, 1000, A), "lorentz_exp_1": lin(1.5, 4.0),
                "lorentz_length_2": log(5, 60, A), "lorentz_exp_2": lin(1.5, 3.0),
                "_ratio": log(0.003, 0.3)},
        fixed={"lorentz_scale_1": 1.0},
        constraint=derive(lorentz_scale_2=lambda p: p.pop("_ratio")),
        reason="gels/blends with two length scales: 100-1000 Å and 5-60 Å, second amplitude "
        "0.3-30 % of the first so both knees show",
    ),
    ModelClass(
        "gauss_lorentz_gel",
        priors={"cor_length_static": log(30, 500, A), "cor_length_dynamic": log(5, 60, A),
                "_ratio": log(0.01, 1)},
        fixed={"gauss_scale": 1.0},
        constraint=derive(lorentz_scale=lambda p: p.pop("_ratio")),
        reason="gels: Gaussian frozen inhomogeneities 30-500 Å plus Lorentzian mesh 5-60 Å "
        "at 1-100 % of the Gaussian amplitude",
    ),
    ModelClass(
        "gel_fit",
        priors={"rg": log(30, 400, A), "fractal_dim": lin(1.5, 3.0), "cor_length": log(5, 60, A),
                "_ratio": log(0.01, 1)},
        fixed={"guinier_scale": 1.0},
        constraint=derive(lorentz_scale=lambda p: p.pop("_ratio")),
        reason="gels: Guinier clusters Rg 30-400 Å plus a fractal-exponent Lorentzian "
        "(mesh 5-60 Å, exponent 1.5-3)",
    ),
    ModelClass(
        "peak_lorentz",
        priors={"peak_pos": log(0.01, 0.25, "1/Å"), "_width": log(0.03, 0.3)},
        constraint=derive(peak_hwhm=lambda p: p["peak_pos"] * p.pop("_width")),
        reason="Lorentzian peak at 0.01-0.25 Å⁻¹, HWHM 3-30 % of its position",
    ),
    ModelClass(
        "gaussian_peak",
        priors={"peak_pos": log(0.01, 0.25, "1/Å"), "_width": log(0.03, 0.3)},
        constraint=derive(sigma=lambda p: p["peak_pos"] * p.pop("_width")),
        reason="Gaussian peak at 0.01-0.25 Å⁻¹, σ 3-30 % of its position",
    ),
    ModelClass(
        "broad_peak",
        priors={"peak_pos": log(0.01, 0.2, "1/Å"), "_xi": log(3, 30), "porod_exp": lin(2.0, 4.0),
                "width_exp": lin(1.5, 3.0), "shape_exp": lin(1.0, 2.0), "_low_q": log(0.01, 0.5)},
        fixed={"peak_scale": 1.0},
        constraint=derive(correlation_length=lambda p: p.pop("_xi") / p["peak_pos"],
                           porod_scale=lambda p: p.pop("_low_q") * p["peak_pos"]
                           ** p["porod_exp"]),
        reason="polyelectrolytes/ionomers: peak at 0.01-0.2 Å⁻¹ of width 1/ξ (ξ·q0 3-30) on "
        "a low-q power law worth 1-50 % of the peak at q0",
    ),
    ModelClass(
        "teubner_strey",
        priors={"d": log(50, 500, A), "_xi": lin(0.2, 1.2), "volfraction_a": lin(0.2, 0.8)},
        fixed={"sld_a": 0.3, "sld_b": 6.3},
        constraint=derive(xi=lambda p: p["d"] * p.pop("_xi")),
        reason="bicontinuous microemulsions: domain period 50-500 Å, peak near 2π/d at "
        "0.013-0.13 Å⁻¹, ξ 0.2-1.2 d (amphiphilicity factor spans good to poor)",
    ),
    ModelClass(
        "spinodal",
        priors={"q_0": log(0.01, 0.15, "1/Å"), "gamma": lin(2.5, 6.0)},
        reason="spinodal decomposition: peak at q0 0.01-0.15 Å⁻¹, high-q exponent 2.5-6 "
        "(early stage to Porod-like late stage)",
    ),
    ModelClass(
        "mono_gauss_coil",
        priors={"rg": log(15, 300, A)},
        fixed={"i_zero": 1.0},
        polydisperse={"rg": pd(0.05, 0.2, npts=15)},
        reason="Debye Gaussian coil: Rg 15-300 Å puts the knee and the q^-2 tail in window",
    ),
    ModelClass(
        "poly_gauss_coil",
        priors={"rg": log(15, 300, A), "polydispersity": log(1.1, 4)},
        fixed={"i_zero": 1.0},
        reason="Zimm-Schulz polydisperse coils: Rg 15-300 Å, Mw/Mn 1.1-4",
    ),
    ModelClass(
        "polymer_excl_volume",
        priors={"rg": log(15, 300, A), "porod_exp": lin(1.67, 3.0)},
        reason="swollen to collapsed chains: Flory exponent ν 0.33-0.6 (porod_exp = 1/ν), "
        "Rg 15-300 Å",
    ),
    ModelClass(
        "star_polymer",
        priors={"_rg": log(20, 200, A), "arms": integer(3, 6)},
        constraint=derive(rg_squared=lambda p: p.pop("_rg") ** 2),
        reason="Gaussian stars with 3-6 arms (1-2 arms are linear chains), Rg 20-200 Å",
    ),
    ModelClass(
        "be_polyelectrolyte",
        priors={"polymer_concentration": log(0.02, 1.0, "mol/L"),
                "ionization_degree": lin(0.05, 0.5),
                "salt_concentration": log(1e-5, 3e-3, "mol/L"),
                "monomer_length": lin(2.5, 10, A), "virial_param": lin(-50, 0, "Å³")},
        reason="salt-free polyelectrolytes (Borue-Erukhimovich): monomer 0.02-1 M, charge "
        "fraction 0.05-0.5; virial <= 0 keeps I positive; peak at 0.02-0.3 Å⁻¹",
    ),
    ModelClass(
        "rpa",
        priors={"case_num": integer(0, 1), "_n_c": log(100, 3000), "_n_d": log(100, 3000),
                "Phi3": lin(0.2, 0.8), "b3": lin(5, 9, A), "b4": lin(5, 9, A),
                "_chi": lin(0.0, 0.9)},
        fixed={"v3": 100.0, "v4": 100.0, "L3": 10.0, "L4": 1.0},
        constraint=rpa,
        reason="polymer blends (case 0: Debye-like knee at 1/Rg) and diblocks (case 1: the "
        "correlation-hole peak near 1.9/Rg), N 100-3000, χ kept below the spinodal",
    ),
    ModelClass(
        "fractal",
        priors={"radius": log(5, 60, A), "_xi": log(5, 60), "fractal_dim": lin(1.6, 3.0)},
        fixed={"volfraction": 0.05, "sld_block": 2.0, "sld_solvent": 6.36},
        polydisperse={"radius": pd(0.05, 0.2, npts=15)},
        constraint=derive(cor_length=lambda p: p["radius"] * p.pop("_xi")),
        reason="colloidal aggregates: primary spheres 5-60 Å, cluster size 5-60 primaries, "
        "mass-fractal slope D 1.6-3 between the two knees",
    ),
    ModelClass(
        "fractal_core_shell",
        priors={"radius": log(10, 60, A), "thickness": log(5, 30, A), "_xi": log(5, 60),
                "fractal_dim": lin(1.6, 3.0), "sld_core": _ANY,
                "sld_shell": _LOW, "sld_solvent": _SOLVENT},
        fixed={"volfraction": 0.05},
        polydisperse={"radius": pd(0.05, 0.2, npts=15)},
        constraint=all_of(
            contrast(("sld_core", "sld_shell"), ("sld_shell", "sld_solvent")),
            derive(cor_length=lambda p: (p["radius"] + p["thickness"]) * p.pop("_xi"))),
        reason="aggregates of core-shell primaries (core 10-60 Å, shell 5-30 Å), cluster "
        "5-60 primaries, D 1.6-3",
    ),
    ModelClass(
        "mass_fractal",
        priors={"radius": log(5, 60, A), "fractal_dim_mass": lin(1.6, 3.0), "_xi": log(5, 60)},
        constraint=derive(cutoff_length=lambda p: p["radius"] * p.pop("_xi")),
        reason="Mildner-Hall mass fractal: building blocks 5-60 Å, cutoff 5-60 blocks, "
        "slope D 1.6-3",
    ),
    ModelClass(
        "surface_fractal",
        priors={"radius": log(10, 100, A), "fractal_dim_surf": lin(2.05, 2.95),
                "_q_cut": log(2e-5, 2e-4, "1/Å")},
        # sasmodels clips S(q) < 0 to 0, which happens for q·ξ < tan(π/(5-Ds)); put that
        # cutoff below 2e-4 Å⁻¹, as sasmodels' own random() does with ξ = 1e6 Å
        constraint=derive(cutoff_length=lambda p: math.tan(math.pi / (5 - p["fractal_dim_surf"]))
                           / p.pop("_q_cut")),
        reason="rough surfaces: power law q^-(6-Ds), Ds 2.05-2.95, from below the window "
        "down to the 10-100 Å building blocks (knee 0.01-0.1 Å⁻¹)",
    ),
    ModelClass(
        "mass_surface_fractal",
        priors={"fractal_dim_mass": lin(1.6, 3.0), "fractal_dim_surf": lin(2.0, 3.0),
                "rg_primary": log(10, 80, A), "_xi": log(10, 60)},
        constraint=all_of(
            require(lambda p: p["fractal_dim_mass"] + p["fractal_dim_surf"] <= 5.5),
            derive(rg_cluster=lambda p: p["rg_primary"] * p.pop("_xi"))),
        reason="aggregates of rough primaries: Rg primary 10-80 Å, cluster 10-60x larger, "
        "Dm 1.6-3 and Ds 2-3 with Dm+Ds <= 5.5 (positive high-q exponent)",
    ),
]


_STRUCTURE_FACTORS: list[StructureFactorClass] = [
    StructureFactorClass(
        "hardsphere",
        priors={"volfraction": lin(0.03, 0.45)},
        reason="Percus-Yevick hard spheres: φ 0.03 (barely visible) to 0.45 (strong "
        "correlation peak near 2π/(2 R_eff))",
    ),
    StructureFactorClass(
        "hayter_msa",
        # φ is drawn in log: ionic micelles and charged colloids are mostly measured dilute
        # (SasView's hSDS fit: φ 0.017, salt-free, Z 21), where the peak sits at the number
        # density's spacing rather than at 2 R_eff. A linear 0.01-0.25 put 3 % of draws below 0.017,
        # and the shipped network read such curves (simulated) as spinodal or barbell.
        priors={"volfraction": log(0.005, 0.25), "temperature": lin(283, 333, "K"),
                "_kappa_salt_sigma": log(0.05, 10), "_gamma": log(1, 100)},
        constraint=hayter_msa,
        reason="charged particles in water at 10-60 °C, φ 0.5-25 % (log: dilute micelles and "
        "colloids as often as concentrated ones): contact potential 1-100 kT (SasView's "
        "SDS micelle example sits at 25) and salt screening κ_s σ 0.05-10 (salt-free to "
        "0.5 M), converted to salt and a charge (<= 200 e) solved with the counterions' own "
        "screening; from a weak to a dominant correlation peak",
    ),
    StructureFactorClass(
        "stickyhardsphere",
        priors={"volfraction": lin(0.05, 0.3), "perturb": lin(0.02, 0.1),
                "stickiness": lin(0.05, 0.4)},
        constraint=baxter,
        reason="Baxter adhesive spheres: φ 0.05-0.3, well width 0.02-0.1 of the diameter, "
        "stickiness τ 0.05-0.4 where the Percus-Yevick solution exists (low-q upturn)",
    ),
    StructureFactorClass(
        "squarewell",
        priors={"volfraction": lin(0.01, 0.08), "welldepth": lin(0.2, 1.5, "kT"),
                "wellwidth": lin(1.05, 1.5)},
        # near the MSA spinodal S(0) diverges; φ ε (λ³ - 1) is the attraction's strength
        constraint=require(lambda p: p["volfraction"] * p["welldepth"]
                            * (p["wellwidth"] ** 3 - 1) <= 0.1),
        reason="attractive square well (MSA): φ up to the model's 0.08 limit, depth "
        "0.2-1.5 kT, width 1.05-1.5 diameters, away from the MSA spinodal",
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


def _index(entries, kind: str) -> Mapping:
    table: dict = {}
    for entry in entries:
        if entry.name in table:
            raise ValueError(f"{entry.name}: two {kind} entries with the same name")
        table[entry.name] = entry
    return MappingProxyType(table)


STRUCTURE_FACTORS: Mapping[str, StructureFactorClass] = _index(_STRUCTURE_FACTORS,
                                                               "structure-factor")
CATALOG: Mapping[str, ModelClass] = _index(_FORM_FACTORS, "form-factor")
for _name in EXCLUDED:
    if _name in CATALOG:
        raise ValueError(f"{_name}: both a class and excluded")


@dataclass(frozen=True)
class Twin:
    """Two classes that sasmodels computes as one curve at some parameters inside both
    priors (tests/test_twins.py checks each with sasmodels). There, no classifier that
    reads only I(q) can tell them apart; what is known about the sample has to."""

    a: str
    b: str
    when: str  # the condition under which the two curves coincide, in the classes' parameters

    def __str__(self) -> str:
        return f"{self.a} and {self.b} are one curve when {self.when}"


TWINS: tuple[Twin, ...] = (
    Twin("lorentz", "poly_gauss_coil", "poly_gauss_coil has Mw/Mn = 2 and ξ = Rg/√3"),
    Twin("gel_fit", "gauss_lorentz_gel", "gel_fit has fractal_dim = 2 and cor_length_static = Rg·√(2/3)"),
    Twin("rectangular_prism", "parallelepiped", "their sides match: both are the orientation-averaged "
         "brick"),
    Twin("onion", "core_multi_shell", "onion's shells are flat (A = 0)"),
)
for _twin in TWINS:
    if _twin.a not in CATALOG or _twin.b not in CATALOG:
        raise ValueError(f"twin {_twin.a}/{_twin.b}: both must be catalogue classes")


def twins_among(models) -> list[Twin]:
    """The :data:`TWINS` whose two classes both appear in ``models`` (form-factor names)."""
    present = set(models)
    return [t for t in TWINS if t.a in present and t.b in present]
