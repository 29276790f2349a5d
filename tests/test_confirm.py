"""confirm() re-ranks a shortlist by BIC with the fits attached; combine() merges entries."""

from __future__ import annotations

import math

import numpy as np
import pytest
from sasmodels.resolution import Perfect1D

from sasnn.identify.confirm import BIC_TIE, POOR_FIT_CHI2, combine, confirm, fit_weights
from sasnn.identify.predictor import Candidate, Prediction
from sasnn.io.curve import Curve
from sasnn.simulate.kernels import model_intensity


def sphere_curve(relative_error: float = 0.03, seed: int = 3) -> Curve:
    q = np.geomspace(0.005, 0.3, 120)
    truth = {"radius": 60.0, "sld": 4.0, "sld_solvent": 1.0, "scale": 0.01, "background": 0.01}
    intensity = model_intensity("sphere", None, truth, Perfect1D(q))
    sigma = relative_error * intensity
    noisy = intensity + sigma * np.random.default_rng(seed).standard_normal(q.size)
    return Curve(q, noisy, sigma, source="sphere.txt")


def shortlist(*pairs) -> Prediction:
    p = 0.5
    candidates = []
    for model, sf in pairs:
        candidates.append(Candidate(model, sf, p))
        p /= 2
    return Prediction("sphere.txt", "", tuple(candidates), False, None, (0.005, 0.3))


def test_the_right_model_wins_the_fit_even_when_ranked_last():
    prediction = confirm(shortlist(("cylinder", None), ("sphere", None)), sphere_curve())
    best, other = prediction.candidates
    assert (best.model, other.model) == ("sphere", "cylinder")
    assert best.probability == 0.25  # the classifier's number is kept, only the order changes
    fit = prediction.fits[0]
    assert fit.parameters["radius"][0] == pytest.approx(60.0, rel=0.03)
    assert fit.chi2_red < 2 and prediction.fits[1].bic > fit.bic
    assert not prediction.unsure
    weights = fit_weights(prediction)
    assert weights.sum() == pytest.approx(1.0) and weights[0] > 0.99
    record = prediction.to_dict()["candidates"][0]
    assert record["parameters"]["radius"][0] == fit.parameters["radius"][0] and record["bic"] == fit.bic


def test_keep_shows_the_best_by_bic_of_a_longer_fitted_shortlist():
    # the classifier ranks the sphere third; fitting three and showing one must show it
    pairs = (("dab", None), ("cylinder", None), ("sphere", None))
    prediction = confirm(shortlist(*pairs), sphere_curve(), keep=1)
    assert [c.model for c in prediction.candidates] == ["sphere"] and len(prediction.fits) == 1
    assert prediction.fits[0].parameters["radius"][0] == pytest.approx(60.0, rel=0.03)
    # a pair the user asked for (--also) stays, in its BIC place, however badly it fits
    kept = confirm(shortlist(*pairs), sphere_curve(), keep=1, keep_pairs=[("dab", None)])
    assert [c.model for c in kept.candidates] == ["sphere", "dab"]
    assert kept.fits[0].bic < kept.fits[1].bic
    with pytest.raises(ValueError, match="keep must be a positive"):
        confirm(shortlist(*pairs), sphere_curve(), keep=0)


def test_fits_the_data_cannot_choose_between_are_named():
    # rectangular_prism and parallelepiped are one curve (catalog.TWINS) with as many
    # parameters: their fits tie; a cylinder on a sphere's fringes does not
    q = np.geomspace(0.005, 0.3, 80)
    box = {"length_a": 30.0, "length_b": 60.0, "length_c": 120.0, "sld": 4.0, "sld_solvent": 1.0,
           "scale": 0.01, "background": 0.01}
    intensity = model_intensity("parallelepiped", None, box, Perfect1D(q))
    sigma = 0.03 * intensity
    curve = Curve(q, intensity + sigma * np.random.default_rng(1).standard_normal(q.size), sigma)
    tied = confirm(shortlist(("rectangular_prism", None), ("parallelepiped", None)), curve)
    assert abs(tied.fits[0].bic - tied.fits[1].bic) <= BIC_TIE
    assert set(tied.ties) == {"rectangular_prism", "parallelepiped"}
    assert tied.to_dict()["ties"] == list(tied.ties)
    clear = confirm(shortlist(("cylinder", None), ("sphere", None)), sphere_curve())
    assert clear.ties == () and clear.to_dict()["ties"] == []
    assert "ties" not in shortlist(("sphere", None)).to_dict()  # no fits, no verdict


def test_a_shortlist_that_misses_the_physics_is_unsure():
    # 0.3 % errors: a cylinder cannot fake a sphere's fringes within them
    prediction = confirm(shortlist(("dab", None)), sphere_curve(relative_error=0.003))
    assert prediction.fits[0].chi2_red > POOR_FIT_CHI2
    assert prediction.unsure and "no candidate fits well" in prediction.reason


def test_combine_multiplies_entry_probabilities():
    a = Prediction("f.xml", "SANS", (Candidate("sphere", None, 0.6), Candidate("cylinder", None, 0.4)),
                   False, None, (0.01, 0.2))
    b = Prediction("f.xml", "USANS", (Candidate("sphere", None, 0.2), Candidate("cylinder", None, 0.8)),
                   True, "low confidence", (1e-4, 0.005))
    joint = combine([a, b], top_k=2)
    assert joint.entry == "SANS + USANS" and joint.q_range == (1e-4, 0.2)
    # 0.6·0.2 = 0.12 against 0.4·0.8 = 0.32
    assert [c.model for c in joint.candidates] == ["cylinder", "sphere"]
    assert joint.candidates[0].probability == pytest.approx(0.32 / 0.44)
    assert math.isclose(sum(c.probability for c in joint.candidates), 1.0)
    assert joint.unsure and joint.reason == "USANS: low confidence"


def test_combine_takes_no_evidence_from_a_slit_smeared_entry():
    a = Prediction("f.xml", "SANS", (Candidate("sphere", None, 0.6), Candidate("cylinder", None, 0.4)),
                   False, None, (0.01, 0.2))
    b = Prediction("f.xml", "USANS", (Candidate("sphere", None, 0.2), Candidate("cylinder", None, 0.8)),
                   True, "slit-smeared", (1e-4, 0.005), slit_smeared=True)
    joint = combine([a, b], top_k=2)
    assert [(c.model, c.probability) for c in joint.candidates] == [("sphere", 0.6), ("cylinder", 0.4)]
    assert joint.unsure and joint.reason == "USANS: slit-smeared"
    alone = combine([b], top_k=2)  # nothing else to go on: the slit entry's ranking is kept, flagged
    assert [c.model for c in alone.candidates] == ["cylinder", "sphere"] and alone.unsure
