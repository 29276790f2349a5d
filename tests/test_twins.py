"""Catalogue twins: class pairs that sasmodels computes as the *same* curve somewhere inside
both classes' priors.

The shipped model's most-confused pairs (docs/benchmarks.md, "What limits top-1") include these. Where
two classes give one I(q), no classifier that reads only I(q) can name the right one, so
these confusions bound top-1 from above. Each case is checked with sasmodels alone, and
the shared parameters are checked to lie inside both catalogue priors.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from sasmodels.core import load_model
from sasmodels.data import empty_data1D
from sasmodels.direct_model import DirectModel

from sasnn.simulate.catalog import CATALOG, TWINS, twins_among

Q = np.geomspace(1e-3, 0.5, 200)
SLDS = {"sld": 1.0, "sld_solvent": 6.36}  # the catalogue's fixed contrast for the bricks

# (class a, its parameters, class b, its parameters, why they are one curve): one
# numerical case for each entry of catalog.TWINS
CASES = [
    ("lorentz", {"cor_length": 60 / math.sqrt(3)},
     "poly_gauss_coil", {"rg": 60.0, "polydispersity": 2.0, "i_zero": 1.0},
     "Zimm-Schulz coils with Mw/Mn = 2: P = 1/(1 + q²Rg²/3), an Ornstein-Zernike Lorentzian "
     "with ξ = Rg/√3"),
    ("gel_fit", {"rg": 120.0, "fractal_dim": 2.0, "cor_length": 20.0, "guinier_scale": 1.0,
                 "lorentz_scale": 0.1},
     "gauss_lorentz_gel", {"cor_length_static": 120.0 * math.sqrt(2 / 3), "cor_length_dynamic": 20.0,
                           "gauss_scale": 1.0, "lorentz_scale": 0.1},
     "at fractal dimension 2 the gel_fit Lorentzian is 1/(1 + q²ξ²), and exp(-q²Rg²/3) is the "
     "Gaussian exp(-q²Ξ²/2) with Ξ = Rg·√(2/3)"),
    ("rectangular_prism", {"length_a": 30.0, "b2a_ratio": 1.5, "c2a_ratio": 3.0, **SLDS},
     "parallelepiped", {"length_a": 30.0, "length_b": 45.0, "length_c": 90.0, **SLDS},
     "both are the orientation-averaged brick, one named by its sides, the other by ratios"),
    ("onion", {"radius_core": 50.0, "n_shells": 2, "sld_core": 1.0, "sld_solvent": 6.36,
               "thickness1": 20.0, "sld_in1": 4.0, "sld_out1": 5.0, "A1": 0.0,
               "thickness2": 30.0, "sld_in2": 2.0, "sld_out2": 3.0, "A2": 0.0},
     "core_multi_shell", {"radius": 50.0, "n": 2, "sld_core": 1.0, "sld_solvent": 6.36,
                          "thickness1": 20.0, "sld1": 4.0, "thickness2": 30.0, "sld2": 2.0},
     "an onion shell with A = 0 is flat at sld_in: a step-profile multi-shell sphere"),
]


def intensity(model: str, params: dict) -> np.ndarray:
    kernel = load_model(model, dtype="double", platform="dll")
    return DirectModel(empty_data1D(Q), kernel)(scale=1.0, background=0.0, **params)


def inside_prior(name: str, params: dict) -> list[str]:
    """The parameters of ``params`` that the catalogue varies for ``name`` but outside its range."""
    priors = CATALOG[name].priors
    return [f"{p}={v:g} not in [{priors[p].low:g}, {priors[p].high:g}]"
            for p, v in params.items() if p in priors and not priors[p].low <= v <= priors[p].high]


@pytest.mark.parametrize("a, params_a, b, params_b, why", CASES, ids=[f"{t[0]}={t[2]}" for t in CASES])
def test_twin_classes_give_the_same_curve(a, params_a, b, params_b, why):
    ia, ib = intensity(a, params_a), intensity(b, params_b)
    assert np.all(ia > 0)
    np.testing.assert_allclose(ia / ia[0], ib / ib[0], rtol=1e-6, err_msg=why)
    assert inside_prior(a, params_a) == [] and inside_prior(b, params_b) == []


def test_twins_are_not_the_same_everywhere():
    """Away from the shared point the classes differ: the identity above is not a bug."""
    lorentz = intensity("lorentz", CASES[0][1])
    coil = intensity("poly_gauss_coil", CASES[0][3] | {"polydispersity": 1.1})
    assert np.max(np.abs(np.log((coil / coil[0]) / (lorentz / lorentz[0])))) > 0.2  # > 20 %


def test_every_catalogue_twin_has_a_numerical_case():
    assert [(t.a, t.b) for t in TWINS] == [(case[0], case[2]) for case in CASES]


def test_twins_among_a_shortlist():
    assert twins_among(["sphere", "poly_gauss_coil", "lorentz"]) == [TWINS[0]]
    assert twins_among(["sphere", "lorentz"]) == []
