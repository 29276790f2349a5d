"""Parsimonious --fit: undetermined parameters, ties by fewest parameters, reference models."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest

from sasnn.fit.candidates import FitResult
from sasnn.fit.determined import UNDETERMINED_SPAN, shape_parameters, size_parameter, undetermined
from sasnn.identify import confirm as confirm_module
from sasnn.identify.api import predict_groups
from sasnn.identify.confirm import (
    BIC_TIE,
    REFERENCE_DRAWS,
    REFERENCE_MODELS,
    confirm,
    favoured_structure_factor,
    parsimonious_order,
    reference_pairs,
    size_only,
    with_references,
)
from sasnn.identify.predictor import Candidate, Prediction
from sasnn.io.curve import Curve
from sasnn.simulate.catalog import CATALOG


def fit(model="sphere", sf=None, bic=100.0, n_free=4, parameters=None) -> FitResult:
    parameters = parameters or {"scale": (1.0, 0.1), "background": (0.01, 0.001), "radius": (50.0, 1.0)}
    q = np.geomspace(0.01, 0.3, 20)
    return FitResult(model, sf, bic, bic / 20, bic, parameters, {}, q, np.ones_like(q), 20, n_free)


# ---------------------------------------------------------------- undetermined
def test_a_parameter_whose_error_bar_spans_the_prior_or_exceeds_it_is_undetermined():
    # sphere: radius prior log-uniform 15-600 Å (ln width ln 40 = 3.69), radius_pd width 0.05-0.3
    result = fit(parameters={
        "scale": (1.5, 2.4), "background": (0.02, 0.14),  # nuisance: never judged
        "radius": (28.0, 56.0),                           # σ > value
        "radius_pd": (0.1, 0.03),                         # [0.07, 0.13] of 0.25: 24 %
    })
    assert result.undetermined == ("radius",)
    assert result.to_dict()["undetermined"] == ["radius"]
    # ln(190/15)/ln(40) = 0.69 of the log prior: undetermined though σ < value
    assert undetermined("sphere", None, {"radius": (100.0, 90.0)}) == ("radius",)
    # ln(140/60)/ln(40) = 0.23: determined
    assert undetermined("sphere", None, {"radius": (100.0, 40.0)}) == ()
    assert math.log(190 / 15) / math.log(40) > UNDETERMINED_SPAN > math.log(140 / 60) / math.log(40)


def test_slds_are_judged_by_span_only_and_derived_lengths_by_their_value():
    # core_shell_sphere sld_core prior -0.5..6.5 (width 7): an SLD may be ~0, so σ > |value|
    # alone says nothing
    assert undetermined("core_shell_sphere", None, {"sld_core": (0.1, 0.5)}) == ()
    assert undetermined("core_shell_sphere", None, {"sld_core": (3.0, 4.0)}) == ("sld_core",)  # all of it
    # radius_polar is derived from a drawn ratio: no prior of its own, judged by σ against the value
    params = {"radius_equatorial": (26.8, 1.0), "radius_polar": (26.9, 353.0),
              "radius_equatorial_pd": (0.1, 0.2)}
    assert undetermined("ellipsoid", None, params) == ("radius_polar", "radius_equatorial_pd")
    # a structure factor's parameter against its own prior (hardsphere volfraction 0.03-0.45)
    assert undetermined("sphere", "hardsphere", {"volfraction": (0.1, 0.02)}) == ()
    assert undetermined("sphere", "hardsphere", {"volfraction": (0.2, 0.3)}) == ("volfraction",)
    assert undetermined("sphere", None, {"radius": (50.0, float("nan"))}) == ("radius",)


def test_size_and_shape_parameters_come_from_the_catalogue():
    assert size_parameter("sphere") == "radius" and size_parameter("mono_gauss_coil") == "rg"
    assert size_parameter("ellipsoid") == "radius_equatorial" and size_parameter("power_law") is None
    names = ["scale", "background", "radius", "thickness", "sld_core", "radius_pd", "volfraction"]
    assert shape_parameters("core_shell_sphere", "hardsphere", names) == ["thickness"]


# ------------------------------------------------------------------- ordering
def test_ties_are_ordered_by_fewest_parameters_then_fewest_undetermined():
    complex_ = fit("core_shell_bicelle", "hardsphere", bic=100.0, n_free=9)
    box = fit("parallelepiped", "hardsphere", bic=101.5, n_free=6)
    vague = fit("cylinder", "hardsphere", bic=101.0, n_free=6,
                parameters={"radius": (20.0, 30.0), "length": (80.0, 200.0)})
    worse = fit("sphere", None, bic=100.0 + BIC_TIE + 0.5, n_free=3)  # simplest, but out of the tie
    failed = fit("dab", None, bic=math.inf, n_free=0)
    fits = [failed, complex_, worse, vague, box]
    assert vague.undetermined == ("radius", "length")
    assert [fits[i].name for i in parsimonious_order(fits)] == [
        "parallelepiped@hardsphere", "cylinder@hardsphere", "core_shell_bicelle@hardsphere", "sphere", "dab"]
    assert parsimonious_order([failed]) == [0] and parsimonious_order([]) == []


def test_a_note_says_when_the_data_fix_a_size_but_not_a_shape():
    curve = Curve(np.geomspace(0.005, 0.05, 30), np.ones(30), np.full(30, 0.1))
    coil = fit("mono_gauss_coil", bic=50.0, parameters={"rg": (20.0, 0.5)})  # q_max·Rg = 1.0
    sphere = fit("sphere", bic=49.0)
    assert "Guinier regime" in size_only([sphere, coil], [curve])
    wide = Curve(np.geomspace(0.005, 0.3, 30), np.ones(30), np.full(30, 0.1))  # q_max·Rg = 6
    assert size_only([sphere, coil], [wide]) is None  # a sphere has no shape parameter to miss
    ellipsoid = fit("ellipsoid", parameters={"radius_equatorial": (30.0, 1.0), "radius_polar": (40.0, 90.0)})
    assert "none of its shape (radius_polar)" in size_only([ellipsoid], [wide])
    lost = fit("ellipsoid", parameters={"radius_equatorial": (30.0, 60.0), "radius_polar": (40.0, 2.0)})
    assert "do not determine the size (radius_equatorial)" in size_only([lost], [wide])


# ----------------------------------------------------------------- references
def prediction(*pairs, probabilities=None) -> Prediction:
    probabilities = probabilities or [0.1] * len(pairs)
    candidates = tuple(Candidate(m, s, p) for (m, s), p in zip(pairs, probabilities, strict=True))
    return Prediction("f.xml", "", candidates, False, None, (0.01, 0.3))


def test_the_references_follow_the_shortlist_with_the_structure_factor_the_classifier_is_sure_of():
    assert all(m in CATALOG for m in REFERENCE_MODELS)
    # the shortlist puts 0.4 + 0.2 on hardsphere: the references that take an S(Q) get it too
    shortlist = [("core_shell_bicelle", "hardsphere"), ("sphere", "hardsphere"), ("dab", None)]
    appended = [("guinier", None), *reference_pairs("hardsphere"), *reference_pairs("hayter_msa")]
    appended = [pair for pair in dict.fromkeys(appended) if pair not in shortlist]
    p = prediction(*shortlist, *appended, probabilities=[0.4, 0.2, 0.1] + [0.01] * len(appended))
    assert favoured_structure_factor(p) == "hardsphere"
    chosen = with_references(p, ranked=3, keep_pairs=[("guinier", None)])
    pairs = [(c.model, c.structure_factor) for c in chosen.candidates]
    expected = [*shortlist, ("guinier", None), *(pair for pair in reference_pairs("hardsphere")
                                                   if pair not in shortlist)]
    assert pairs == expected and len(set(pairs)) == len(pairs)
    assert ("sphere", "hayter_msa") not in pairs and ("power_law", None) in pairs
    # not sure of any S(Q): the references alone
    unsure = prediction(*shortlist, *appended, probabilities=[0.3, 0.15, 0.5] + [0.001] * len(appended))
    assert favoured_structure_factor(unsure) is None
    assert {(c.model, c.structure_factor) for c in with_references(unsure, 3).candidates} == \
        set(shortlist) | set(reference_pairs())


class FakePredictor:
    """Ranks a fixed list; knows only the pairs in it (as a checkpoint knows its classes)."""

    known = [("cylinder", "hardsphere"), ("sphere", "hardsphere"), ("ellipsoid", "hardsphere"),
             ("sphere", None), ("cylinder", None), ("mono_gauss_coil", None), ("sphere", "hayter_msa")]

    def _pair_index(self, model, structure_factor):
        if (model, structure_factor) not in self.known:
            raise ValueError(f"unknown pair {model}@{structure_factor}")
        return self.known.index((model, structure_factor)), 0

    def predict(self, curves, top_k=3, also=()):
        for pair in also:
            self._pair_index(*pair)
        top = [Candidate(m, s, 0.3 - 0.01 * i) for i, (m, s) in enumerate(self.known[:top_k])]
        extra = [Candidate(m, s, 0.001) for m, s in also if (m, s) not in self.known[:top_k]]
        return [Prediction(c.source, c.entry, tuple(top + extra), False, None, (0.01, 0.3)) for c in curves]


def test_predict_groups_ranks_the_references_the_checkpoint_knows_for_fitting():
    curve = Curve(np.geomspace(0.01, 0.3, 30), np.ones(30), np.full(30, 0.1), source="f.xml")
    ((p, _),) = predict_groups(FakePredictor(), [[curve]], top=2, references=True)
    # top 2 put 0.59 on hardsphere; the known references follow, alone and with it, each once
    assert [(c.model, c.structure_factor) for c in p.candidates] == [
        ("cylinder", "hardsphere"), ("sphere", "hardsphere"), ("sphere", None), ("cylinder", None),
        ("mono_gauss_coil", None), ("ellipsoid", "hardsphere")]
    assert p.candidates[2].probability == 0.001  # the classifier's own number, not a made-up one
    ((plain, _),) = predict_groups(FakePredictor(), [[curve]], top=2)
    assert len(plain.candidates) == 2


def test_confirm_fits_the_references_with_a_deeper_search(monkeypatch):
    calls = []

    scores = {"core_shell_bicelle": (100.0, 9), "sphere": (101.0, 4), "power_law": (110.0, 3)}  # BIC, k

    def fake_fit_candidates(curves, pairs, *, n_draws=96, **options):
        calls.append((list(pairs), n_draws))
        return [fit(m, s, *scores[m]) for m, s in pairs]

    monkeypatch.setattr(confirm_module, "fit_candidates", fake_fit_candidates)
    curve = Curve(np.geomspace(0.01, 0.3, 30), np.ones(30), np.full(30, 0.1))
    p = prediction(("core_shell_bicelle", "hardsphere"), ("sphere", None), ("power_law", None))
    confirmed = confirm(p, curve)
    assert calls == [([("core_shell_bicelle", "hardsphere")], 96),
                     ([("sphere", None), ("power_law", None)], REFERENCE_DRAWS)]
    assert [f.name for f in confirmed.fits] == ["sphere", "core_shell_bicelle@hardsphere", "power_law"]
    assert [c.model for c in confirmed.candidates] == [f.model for f in confirmed.fits]
    record = confirmed.to_dict()
    assert record["ties"] == ["sphere", "core_shell_bicelle@hardsphere"] and record["notes"] == []
    assert all("undetermined" in c for c in record["candidates"])


@pytest.mark.slow
def test_a_real_fit_compares_the_reference_models_on_a_polymer_blend():
    """ISIS_Polymer_Blend_RT2 (sasdata): the expert's Gaussian coil, Rg ≈ 57.5 Å (DESIGN.md
    §8), is a reference model: offered a shortlist without it, --fit still compares it, and
    it is first or tied-first with its Rg determined."""
    from sasnn.io.read import example_data_path, load_curves

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        curves = load_curves(example_data_path("ISIS_Polymer_Blend_RT2.xml"))
    shortlist = prediction(("dab", None), probabilities=[0.9])
    appended = prediction(("dab", None), *reference_pairs(),
                          probabilities=[0.9] + [0.01] * len(REFERENCE_MODELS))
    confirmed = confirm(with_references(appended, ranked=1), curves, workers=1)
    assert len(shortlist.candidates) == 1 and len(confirmed.fits) == 1 + len(REFERENCE_MODELS)
    names = [f.name for f in confirmed.fits]
    assert "mono_gauss_coil" in names and "sphere" in names
    coil = confirmed.fits[names.index("mono_gauss_coil")]
    assert coil.name in (confirmed.fits[0].name, *confirmed.ties)
    assert coil.parameters["rg"][0] == pytest.approx(57.5, rel=0.15) and "rg" not in coil.undetermined
