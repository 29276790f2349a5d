"""The sasmodels wrapper against sasmodels' own DirectModel (an independent path)."""

from __future__ import annotations

import numpy as np
import pytest
from sasmodels.core import load_model
from sasmodels.data import Data1D, empty_data1D
from sasmodels.direct_model import DirectModel
from sasmodels.resolution import Perfect1D, Pinhole1D

from sasnn.simulate import kernels as simulate
from sasnn.simulate.catalog import CATALOG, STRUCTURE_FACTORS
from sasnn.simulate.sampling import median_parameters, sample_parameters

Q = np.geomspace(0.003, 0.4, 80)


def _direct(model, params, data):
    return DirectModel(data, load_model(model, dtype="double", platform="dll"))(**params)


@pytest.mark.parametrize("sf", list(STRUCTURE_FACTORS))
def test_product_with_each_structure_factor(sf):
    params = median_parameters(CATALOG["sphere"], structure_factor=sf)
    got = simulate.model_intensity("sphere", sf, params, Perfect1D(Q))
    expected = _direct(simulate.model_name("sphere", sf), params, empty_data1D(Q))
    np.testing.assert_allclose(got, expected, rtol=1e-10)
    assert np.all(np.isfinite(got)) and np.all(got > 0)
    bare = {k: v for k, v in params.items() if k in median_parameters(CATALOG["sphere"])}
    alone = simulate.model_intensity("sphere", None, bare, Perfect1D(Q))
    assert not np.allclose(got, alone, rtol=1e-3)  # S(q) changes the curve


def test_pinhole_smearing_matches_direct_model():
    params = sample_parameters(CATALOG["core_shell_sphere"], np.random.default_rng(4))
    dq = 0.08 * Q
    got = simulate.model_intensity("core_shell_sphere", None, params, Pinhole1D(Q, dq))
    data = Data1D(x=Q, y=np.ones_like(Q), dx=dq, dy=np.ones_like(Q))
    np.testing.assert_allclose(got, _direct("core_shell_sphere", params, data), rtol=1e-10)
    perfect = simulate.model_intensity("core_shell_sphere", None, params, Perfect1D(Q))
    assert not np.allclose(got, perfect, rtol=1e-3)


def test_kernel_cache_is_keyed_by_grid():
    simulate.compile_kernels([("sphere", None), ("sphere", "hardsphere")])
    params = median_parameters(CATALOG["sphere"])
    a = simulate.model_intensity("sphere", None, params, Perfect1D(Q))
    b = simulate.model_intensity("sphere", None, params, Perfect1D(Q[::2]))
    c = simulate.model_intensity("sphere", None, params, Perfect1D(Q[::2]), grid_key="half")
    np.testing.assert_array_equal(a[::2], b)
    np.testing.assert_array_equal(b, c)


def test_bare_kernel_loop_is_the_same_computation():
    rng = np.random.default_rng(0)
    sets = [sample_parameters(CATALOG["cylinder"], rng) for _ in range(3)]
    bare = simulate.bare_kernel_loop("cylinder", None, sets, Q)
    for row, params in zip(bare, sets, strict=True):
        np.testing.assert_array_equal(
            row, simulate.model_intensity("cylinder", None, params, Perfect1D(Q)))


@pytest.mark.parametrize("name", ["tetrahedron", "truncated_tetrahedron"])
def test_tabulated_classes_match_direct_evaluation(name):
    """I(q; L) = L³ I(qL; 1): the table reproduces the kernel after smearing."""
    rng = np.random.default_rng(5)
    res = Pinhole1D(Q, 0.05 * Q)
    for _ in range(3):
        params = sample_parameters(CATALOG[name], rng)
        tabulated = simulate.model_intensity(name, None, params, res)
        direct = simulate.model_intensity(name, None, params, res, tabulate=False)
        np.testing.assert_allclose(tabulated, direct, rtol=1e-2)


def test_tabulation_falls_back_beyond_its_grid():
    params = median_parameters(CATALOG["tetrahedron"])
    q = np.geomspace(0.01, 20.0, 30)  # q·R far beyond the tabulated x_max
    tabulated = simulate.model_intensity("tetrahedron", None, params, Perfect1D(q))
    direct = simulate.model_intensity("tetrahedron", None, params, Perfect1D(q), tabulate=False)
    np.testing.assert_array_equal(tabulated, direct)


@pytest.mark.slow
@pytest.mark.parametrize("name", [n for n in CATALOG if CATALOG[n].tabulate])
def test_every_tabulated_class_matches_direct_evaluation(name):
    params = sample_parameters(CATALOG[name], np.random.default_rng(11))
    res = Pinhole1D(Q, 0.05 * Q)
    tabulated = simulate.model_intensity(name, None, params, res)
    direct = simulate.model_intensity(name, None, params, res, tabulate=False)
    np.testing.assert_allclose(tabulated, direct, rtol=2e-2)
