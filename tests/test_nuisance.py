"""Each nuisance term of sasnn.simulate.nuisance is visible in a simulated curve, and is
what it claims to be: an upturn's exponent is recovered by a fit, a sloped background
leaves negative points, merged configurations step by their drawn scales."""

from __future__ import annotations

import numpy as np
import pytest
from sasmodels.resolution import Perfect1D

from sasnn.simulate import instrument
from sasnn.simulate.kernels import model_intensity
from sasnn.simulate.nuisance import NuisanceConfig, add_upturn, reduce

ALL = NuisanceConfig(upturn=1.0, background_slope=1.0, scale_mismatch=1.0, arbitrary_units=1.0,
                     no_sigma=1.0, sparse=1.0)


def sans_curve(seed: int = 1):
    """A sphere measured on a 3-configuration SANS grid: (grid, measurement)."""
    config = instrument.InstrumentConfig(setups=("sans-3config",))
    rng = np.random.default_rng(seed)
    g = instrument.draw_setup(config, rng)
    model = model_intensity("sphere", None, {"radius": 60.0, "sld": 1.0, "sld_solvent": 6.36,
                                              "scale": 1.0, "background": 0.0}, Perfect1D(g.q))
    measured = instrument.measure(model, g, config, rng)
    assert measured is not None  # (seed 0 draws a crossing point the measurement refuses)
    return g, model, measured


def test_zero_shares_draw_nothing_and_change_nothing():
    g, model, m = sans_curve()
    rng = np.random.default_rng(1)
    state = rng.bit_generator.state
    same, record = add_upturn(model, g.q, NuisanceConfig(), rng)
    reduced = reduce(g.q, g.dq, m.intensity, m.sigma, g.configuration, m.background, NuisanceConfig(), rng)
    assert rng.bit_generator.state == state  # today's datasets stay reproducible bit for bit
    assert same is model and record == {} and reduced.record == {}
    np.testing.assert_array_equal(reduced.intensity, m.intensity)
    assert not NuisanceConfig().active and ALL.active


def test_upturn_exponent_is_recovered_by_a_power_law_fit():
    g, model, _ = sans_curve()
    curve, record = add_upturn(model, g.q, NuisanceConfig(upturn=1.0, upturn_strength=(50.0, 50.0)),
                               np.random.default_rng(3))
    low = slice(0, 8)  # the first points, where aggregates dominate
    slope = np.polyfit(np.log(g.q[low]), np.log(curve[low] - model[low]), 1)[0]
    assert slope == pytest.approx(-record["upturn_exponent"], abs=1e-9)
    # and it is visible: the upturn is 50x the particle's own scattering at the first point
    assert curve[0] / model[0] == pytest.approx(51.0)


def test_sloped_background_and_over_subtraction_leave_negative_points():
    g, _, m = sans_curve()
    config = NuisanceConfig(background_slope=1.0, over_subtraction=(0.04, 0.05))
    reduced = reduce(g.q, g.dq, m.intensity, m.sigma, g.configuration, m.background, config,
                     np.random.default_rng(0))
    assert {"background_power", "background_extra", "over_subtraction"} <= set(reduced.record)
    assert np.any(reduced.intensity < 0)  # as after a real subtraction, at high q
    assert np.all(reduced.intensity[: len(reduced.q) // 4] > 0)  # not where the particle dominates


def test_merged_configurations_step_by_their_scales():
    g, _, m = sans_curve()
    assert set(np.unique(g.configuration)) == {0, 1, 2}
    reduced = reduce(g.q, g.dq, m.intensity, m.sigma, g.configuration, m.background,
                     NuisanceConfig(scale_mismatch=1.0, mismatch=0.05), np.random.default_rng(2))
    factors = np.asarray(reduced.record["configuration_scales"])
    assert factors[0] == 1.0 and len(factors) == 3
    np.testing.assert_allclose(reduced.intensity / m.intensity, factors[g.configuration])


def test_units_sigma_and_sparsity():
    g, _, m = sans_curve()
    reduced = reduce(g.q, g.dq, m.intensity, m.sigma, g.configuration, m.background,
                     NuisanceConfig(arbitrary_units=1.0, no_sigma=1.0, sparse=1.0), np.random.default_rng(4))
    kept = reduced.record["points_kept"]
    assert 40 <= kept < len(g.q) == len(m.intensity)
    assert len(reduced.q) == kept and np.all(np.diff(reduced.q) > 0)
    assert np.all(np.isnan(reduced.sigma))
    index = np.searchsorted(g.q, reduced.q)
    np.testing.assert_allclose(reduced.intensity, m.intensity[index] * reduced.record["arbitrary_factor"])


def test_the_same_seed_gives_the_same_nuisances():
    g, model, m = sans_curve()

    def draw(seed):
        rng = np.random.default_rng(seed)
        curve, up = add_upturn(model, g.q, ALL, rng)
        r = reduce(g.q, g.dq, curve, m.sigma, g.configuration, m.background, ALL, rng)
        return up, r

    (a, ra), (b, rb) = draw(9), draw(9)
    assert a == b and ra.record == rb.record
    np.testing.assert_array_equal(ra.intensity, rb.intensity)


@pytest.mark.parametrize("bad", [dict(upturn=1.5), dict(sparse=-0.1), dict(upturn_exponent=(0, 3)),
                                 dict(over_subtraction=(0.1, 0.05)), dict(min_points=3)])
def test_invalid_settings_are_refused_with_their_name(bad):
    name = next(iter(bad))
    with pytest.raises(ValueError, match=name.split("_")[0]):
        NuisanceConfig(**bad)


def test_a_realistic_dataset_carries_every_term_as_a_reader_would_hand_it_over(tmp_path):
    import json

    from sasnn.simulate.datasets import SimulationConfig, generate_dataset, iter_shards, read_manifest

    config = SimulationConfig(classes=("sphere",), per_class=60, seed=5, nuisances="realistic")
    generate_dataset(tmp_path / "a", config, workers=1)
    generate_dataset(tmp_path / "b", config, workers=1)
    manifest = read_manifest(tmp_path / "a")
    assert manifest["nuisances"] == "realistic"
    assert manifest["shards"] == read_manifest(tmp_path / "b")["shards"]  # reproducible from the seed
    seen, shares = set(), []
    for shard in iter_shards(tmp_path / "a"):
        # what the network is taught on is what the reader hands over: positive I, finite σ
        assert np.all(shard.intensity > 0) and np.all(np.isfinite(shard.sigma)) and np.all(shard.sigma > 0)
        for record in map(json.loads, shard.parameters):
            seen |= set(record.get("nuisances", {}))
            shares.append(bool(record.get("nuisances")))
    assert {"upturn_exponent", "background_power", "configuration_scales", "arbitrary_factor", "no_sigma",
            "points_kept"} <= seen
    assert 0.2 < np.mean(shares) < 0.9  # a share of curves, not all of them


def test_a_dataset_without_nuisances_records_none_and_keeps_old_specs(tmp_path):
    from sasnn.simulate.datasets import SimulationConfig, dataset_spec

    plain = dataset_spec(SimulationConfig(classes=("sphere",), per_class=2, seed=0))
    assert "nuisances" not in plain["config"] and "nuisances" not in plain  # as before the option existed
    realistic = dataset_spec(SimulationConfig(classes=("sphere",), per_class=2, seed=0,
                                              nuisances="realistic"))
    assert realistic["nuisances"]["upturn"] > 0
    with pytest.raises(ValueError, match="--nuisances must be one of none, realistic"):
        SimulationConfig(classes=("sphere",), per_class=2, seed=0, nuisances="bogus")
