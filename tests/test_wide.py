"""The wide priors (sasnn.simulate.wide), the --priors option and the featureless rule."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from sasnn.cli import main
from sasnn.learn.featureless import GENERIC_MODELS, MIN_DEVIANT, feature_test
from sasnn.simulate import wide
from sasnn.simulate.catalog import CATALOG
from sasnn.simulate.config import PRIORS, ShardTask, SimulationConfig
from sasnn.simulate.datasets import dataset_priors, dataset_spec, read_manifest
from sasnn.simulate.priors import Prior
from sasnn.simulate.shard import simulate_shard
from sasnn.simulate.shards import save_shard


# ------------------------------------------------------------------ featureless rule
def _noisy(q, intensity, relative, rng):
    sigma = relative * intensity
    return intensity + sigma * rng.standard_normal(q.size), sigma


@pytest.mark.parametrize("exponent", [1.0, 2.0, 3.0, 4.0, 5.5])
@pytest.mark.parametrize("background", [0.0, 1e-4])
def test_power_law_plus_background_is_featureless(exponent, background):
    rng = np.random.default_rng(int(10 * exponent) + int(100 * background))
    q = np.geomspace(0.004, 0.4, 250)
    intensity, sigma = _noisy(q, 1e-3 * (q / 0.1) ** -exponent + background, 0.02, rng)
    result = feature_test(q, intensity, sigma)
    assert result.featureless, result
    assert result.exponent == pytest.approx(exponent, abs=0.1)


@pytest.mark.parametrize("radius", [25.0, 60.0, 150.0])
def test_sphere_with_fringes_has_a_feature(radius):
    rng = np.random.default_rng(int(radius))
    q = np.geomspace(0.004, 0.4, 250)
    x = q * radius
    form = (3 * (np.sin(x) - x * np.cos(x)) / x**3) ** 2
    intensity, sigma = _noisy(q, 100 * form + 1e-3, 0.03, rng)
    result = feature_test(q, intensity, sigma)
    assert not result.featureless
    assert result.n_deviant > 10 * MIN_DEVIANT


def test_a_knee_at_the_noise_level_is_no_feature_but_above_it_is():
    # Lorentzian 1/(1 + q²ξ²) with its knee at the window's lower edge (q ξ = 1 at q_min)
    # reads as a q^-2 power law; with the knee in mid-window it is a feature.
    rng = np.random.default_rng(3)
    q = np.geomspace(0.01, 0.4, 200)
    for xi, featureless in ((2000.0, True), (50.0, False)):
        intensity, sigma = _noisy(q, 1 / (1 + (q * xi) ** 2), 0.02, rng)
        assert feature_test(q, intensity, sigma).featureless is featureless


def test_simulated_power_laws_are_featureless_once_smeared_with_their_own_dq():
    # the instrument's smearing bends a steep power law upward where dQ/Q is large:
    # the rule fits the smeared power law, so that is not taken for a feature
    from sasnn.simulate.datasets import simulate_examples

    for name in ("porod", "power_law"):
        for curve in simulate_examples(name, 4, seed=1, structure_factor_share=0.0):
            assert feature_test(curve.q, curve.intensity, curve.sigma, curve.dq).featureless, name


def test_too_few_points_are_featureless_and_generic_models_are_classes():
    q = np.array([0.01, 0.02, 0.03])
    assert feature_test(q, np.ones(3), 0.1 * np.ones(3)).featureless
    assert set(GENERIC_MODELS) <= set(CATALOG)


# ------------------------------------------------------------------------ wide priors
def test_wide_draws_are_reproducible_byte_for_byte(tmp_path):
    config = SimulationConfig(classes=("sphere",), per_class=4, seed=7, priors="wide")
    digests = [save_shard(tmp_path / f"{k}.npz", simulate_shard(ShardTask("sphere", 0, 4), config))
               for k in range(2)]
    assert digests[0] == digests[1]
    other = SimulationConfig(classes=("sphere",), per_class=4, seed=8, priors="wide")
    assert save_shard(tmp_path / "other.npz", simulate_shard(ShardTask("sphere", 0, 4), other)) != digests[0]
    draws = [json.dumps(wide.sample_wide(CATALOG["core_multi_shell"], np.random.default_rng(5)),
                        sort_keys=True) for _ in range(2)]
    assert draws[0] == draws[1]


def _draws(name: str, n: int, seed: int = 0) -> list[dict]:
    rng = np.random.default_rng(seed)
    return [wide.sample_wide(CATALOG[name], rng) for _ in range(n)]


def test_wide_draws_go_beyond_three_times_the_training_range():
    radius = np.array([d["radius"] for d in _draws("sphere", 3000)])
    lo, hi = CATALOG["sphere"].priors["radius"].low, CATALOG["sphere"].priors["radius"].high
    assert np.sum(radius > 3 * hi) > 30 and np.sum(radius < lo / 3) > 30
    assert radius.max() <= 4 * hi and radius.min() >= lo / 4
    thickness = np.array([d["thickness"] for d in _draws("lamellar", 2000)])
    assert np.sum(thickness > 3 * CATALOG["lamellar"].priors["thickness"].high) > 10
    # contrast of either sign, SLDs anywhere in -1..7
    sld = np.array([d["sld"] - d["sld_solvent"] for d in _draws("sphere", 500, seed=1)])
    assert (sld > 3).any() and (sld < -3).any()
    # counts up to the model's limit (core_multi_shell: n <= 10; training 2-4), never below
    # the catalogue's 2: one shell is a core_shell_sphere, sasmodels' default or not
    shells = {d["n"] for d in _draws("core_multi_shell", 400)}
    assert max(shells) == 10 and min(shells) == 2


def test_every_length_prior_is_widened_at_least_threefold_unless_clipped():
    for name, entry in CATALOG.items():
        priors = wide.wide_priors(name)
        for par, trained in entry.priors.items():
            if trained.unit != "Å" or par not in priors:
                continue
            w = priors[par]
            assert w.low <= trained.low / 3 or w.low == wide.MIN_LENGTH, (name, par, w)
            assert w.high >= 3 * trained.high or w.high == wide.ORIENTED_MAX_LENGTH, (name, par, w)


def test_untrained_parameters_are_those_outside_both_trained_ranges():
    # every wide draw is inside its own priors
    for name in ("sphere", "core_shell_bicelle_elliptical_belt_rough", "lamellar_stack_paracrystal"):
        assert all(wide.untrained_parameters(name, d) == [] for d in _draws(name, 50) if d)
    draw = _draws("lamellar_stack_paracrystal", 1)[0]
    assert wide.untrained_parameters("lamellar_stack_paracrystal", {**draw, "sigma_d": 0.0}) == []
    assert wide.untrained_parameters("lamellar_stack_paracrystal", {**draw, "sigma_d": 0.5}) == ["sigma_d"]
    # below the wide prior's 1 Å floor but inside the narrow range: trained, on narrow curves
    disks = _draws("stacked_disks", 1)[0]
    assert wide.wide_priors("stacked_disks")["sigma_d"].low == 1.0
    assert wide.untrained_parameters("stacked_disks", {**disks, "sigma_d": 0.5}) == []
    assert wide.untrained_parameters("stacked_disks", {**disks, "sigma_d": 0.0}) == []
    # either sign of RPA's interaction; a magnitude beyond both ranges is still a hole
    rpa = _draws("rpa", 1)[0]
    assert wide.untrained_parameters("rpa", {**rpa, "K34": -1e-4}) == []
    assert wide.untrained_parameters("rpa", {**rpa, "K34": -1.0}) == ["K34"]
    low = CATALOG["sphere"].priors["radius"].low
    sphere = {"radius": low / 10, "sld": 1.0, "sld_solvent": 6.0}
    assert wide.untrained_parameters("sphere", sphere) == ["radius"]
    # amplitudes are ratios: a gel's Lorentzian amplitude at sasmodels' default (50) is no hole
    assert wide.is_amplitude("lorentz_scale_2") and not wide.is_amplitude("scale_ratio")
    gel = _draws("gauss_lorentz_gel", 1)[0]
    assert wide.untrained_parameters("gauss_lorentz_gel", {**gel, "lorentz_scale": 50.0}) == []


def test_every_prior_reaches_sasmodels_default_but_slds_amplitudes_and_counts():
    # the particle sasmodels documents is a member of every class's wide priors (version 2)
    for name in CATALOG:
        priors = wide.wide_priors(name)
        for par, p in wide.kernel_names(name):
            prior = priors[par]
            if (isinstance(prior, Prior) and p.type != "sld" and not wide.is_amplitude(par)
                    and not p.choices and prior.scale != "int"):
                assert prior.covers(float(p.default)), (name, par, p.default, prior)
    # a stack of one disk is no stack: the count keeps the catalogue's low
    disks = CATALOG["stacked_disks"].priors["n_stacking"]
    assert wide.wide_priors("stacked_disks")["n_stacking"].low == disks.low


def test_defaults_a_log_scale_cannot_reach_are_drawn_with_their_share():
    # a perfect stack (sigma_d = 0, sasmodels' default) for a quarter of the stacks; the
    # other widths log-spread from the 1 Å floor
    sigma = np.array([d["sigma_d"] for d in _draws("lamellar_stack_paracrystal", 800, seed=3)])
    zero = np.mean(sigma == 0)
    assert abs(zero - wide.DEFAULT_ZERO_SHARE) < 0.05 and sigma[sigma > 0].min() >= wide.MIN_LENGTH
    # RPA's K34: sasmodels' default is negative, the catalogue's range positive: both signs
    k34 = np.array([d["K34"] for d in _draws("rpa", 400, seed=4)])
    assert 0.4 < np.mean(k34 < 0) < 0.6
    prior = wide.wide_priors("rpa")["K34"]
    assert prior.low <= 4e-4 <= prior.high and np.abs(k34).max() <= prior.high
    # the manifest records the shares
    assert wide.describe("rpa")["K34"]["negative_share"] == 0.5
    assert "zero_share" not in wide.describe("sphere")["radius"]


def test_prior_shares_leave_catalogue_draws_unchanged_and_hit_their_rates():
    plain, shared = Prior(1.0, 100.0, "log"), Prior(1.0, 100.0, "log", zero_share=0.3, negative_share=0.2)
    a, b = np.random.default_rng(5), np.random.default_rng(5)
    # a plain prior draws one uniform per value, exactly as the log formula says
    u = b.uniform(0.0, math.log(100.0), 100)
    assert np.allclose([plain.sample(a) for _ in range(100)], np.exp(u))
    rng = np.random.default_rng(7)
    draws = np.array([shared.sample(rng) for _ in range(4000)])
    assert abs(np.mean(draws == 0) - 0.3) < 0.03
    assert abs(np.mean(draws < 0) - 0.7 * 0.2) < 0.03
    assert np.all((np.abs(draws[draws != 0]) >= 1.0) & (np.abs(draws[draws != 0]) <= 100.0))
    assert shared.covers(0.0) and shared.covers(-50.0) and not shared.covers(-500.0)
    assert not plain.covers(0.0) and not plain.covers(-50.0) and plain.covers(50.0)


def test_a_monodisperse_share_and_three_distributions():
    draws = _draws("sphere", 800, seed=2)
    width = np.array([d["radius_pd"] for d in draws])
    assert 0.18 < np.mean(width == 0) < 0.32
    assert width.max() <= wide.PD_MAX and width.max() > 0.45
    assert {d["radius_pd_type"] for d in draws} == set(wide.PD_TYPES)


def test_every_class_draws_and_the_physics_holds():
    rng = np.random.default_rng(11)
    for name, entry in CATALOG.items():
        for _ in range(3):
            params = wide.sample_wide(entry, rng)
            assert all(not k.startswith("_") for k in params), name
    for d in _draws("raspberry", 50):
        assert d["radius_sm"] <= d["radius_lg"]
    for d in _draws("lamellar_stack_caille", 50):
        assert d["thickness"] <= d["d_spacing"]


# ---------------------------------------------------------------- --priors plumbing
def test_unknown_priors_is_one_line_and_exit_2(tmp_path, capsys):
    code = main(["simulate", "--out", str(tmp_path / "d"), "--per-class", "1", "--priors", "bogus"])
    err = capsys.readouterr().err
    assert code == 2
    assert err.count("\n") == 1 and "--priors" in err and "bogus" in err
    assert not (tmp_path / "d").exists()
    with pytest.raises(ValueError, match="--priors must be one of narrow, wide"):
        SimulationConfig(classes=("sphere",), per_class=1, seed=0, priors="bogus")


def test_wide_dataset_says_so_in_its_manifest(tmp_path, capsys):
    out = tmp_path / "wide"
    code = main(["simulate", "--priors", "wide", "--out", str(out), "--per-class", "2",
                 "--classes", "lamellar,power_law", "--workers", "1", "--seed", "3"])
    assert code == 0, capsys.readouterr().err
    manifest = read_manifest(out)
    assert manifest["priors"] == "wide" and dataset_priors(manifest) == "wide"
    assert manifest["spec"]["wide"]["version"] == wide.WIDE_VERSION
    assert set(manifest["spec"]["wide"]["priors"]) == {"lamellar", "power_law"}
    assert manifest["nuisances"] == "none"
    assert PRIORS == ("narrow", "wide", "scaled")


def test_narrow_spec_is_unchanged_by_the_field():
    # folders simulated before --priors existed keep their spec, so they still resume
    spec = dataset_spec(SimulationConfig(classes=("sphere",), per_class=1, seed=0))
    assert "priors" not in spec["config"] and "wide" not in spec


def test_monodisperse_draws_show_the_deep_minima_a_size_distribution_fills():
    # the sphere's first zero, qR = 4.493: sharp for the monodisperse draws the wide priors
    # make, filled in by a 0.3 size distribution, whatever its type
    from sasmodels.resolution import Perfect1D

    from sasnn.simulate.kernels import model_intensity

    rng = np.random.default_rng(5)
    depths = {"mono": [], "poly": []}
    while min(len(v) for v in depths.values()) < 4:
        params = wide.sample_wide(CATALOG["sphere"], rng)
        width = params["radius_pd"]
        if 0 < width < 0.3:
            continue
        q = np.linspace(0.8, 1.2, 201) * 4.493 / params["radius"]
        curve = model_intensity("sphere", None, {**params, "background": 0.0}, Perfect1D(q), tabulate=False)
        depths["mono" if width == 0 else "poly"].append(curve.min() / curve.max())
    assert max(depths["mono"]) < 1e-3 < 0.05 < min(depths["poly"]), depths
