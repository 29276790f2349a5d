"""The scaled-defaults priors (sasnn.simulate.scaled): a test family of their own."""

from __future__ import annotations

import json
import math

import numpy as np

from sasnn.cli import main
from sasnn.simulate import scaled
from sasnn.simulate.catalog import CATALOG
from sasnn.simulate.config import ShardTask, SimulationConfig
from sasnn.simulate.datasets import dataset_priors, read_manifest
from sasnn.simulate.sampling import _model_info
from sasnn.simulate.shard import simulate_shard
from sasnn.simulate.shards import save_shard


def _default(name: str, par: str) -> float:
    return next(p.default for p in _model_info(name).parameters.kernel_parameters if p.id == par)


def test_scaled_draws_are_reproducible_byte_for_byte(tmp_path):
    config = SimulationConfig(classes=("cylinder",), per_class=3, seed=7, priors="scaled")
    digests = [save_shard(tmp_path / f"{k}.npz", simulate_shard(ShardTask("cylinder", 0, 3), config))
               for k in range(2)]
    assert digests[0] == digests[1]
    other = SimulationConfig(classes=("cylinder",), per_class=3, seed=8, priors="scaled")
    assert save_shard(tmp_path / "o.npz", simulate_shard(ShardTask("cylinder", 0, 3), other)) != digests[0]
    draws = [json.dumps(scaled.sample_scaled(CATALOG["core_multi_shell"], np.random.default_rng(5)),
                        sort_keys=True) for _ in range(2)]
    assert draws[0] == draws[1]


def test_sizes_span_a_decade_either_side_of_the_default_with_its_proportions():
    rng = np.random.default_rng(0)
    draws = [scaled.sample_scaled(CATALOG["cylinder"], rng) for _ in range(2000)]
    radius = np.array([d["radius"] for d in draws]) / _default("cylinder", "radius")
    length = np.array([d["length"] for d in draws]) / _default("cylinder", "length")
    # one size factor, log-uniform over two decades, each length jittered by σ = 0.3 in ln
    assert np.quantile(np.log10(radius), 0.05) < -0.8 and np.quantile(np.log10(radius), 0.95) > 0.8
    free = np.array([d["length"] for d in draws]) < 0.9 * scaled.ORIENTED_MAX_LENGTH  # not capped
    spread = np.log(length / radius)[free]
    assert abs(np.std(spread) - math.sqrt(2) * scaled.LENGTH_JITTER) < 0.03
    assert abs(np.median(spread)) < 0.05
    # a fifth monodisperse, the rest up to 0.35 with all three distribution types
    pd = np.array([d["radius_pd"] for d in draws])
    assert abs(np.mean(pd == 0) - scaled.MONODISPERSE_SHARE) < 0.03 and pd.max() <= scaled.PD_MAX
    assert {d["radius_pd_type"] for d in draws} == {"gaussian", "lognormal", "schulz"}


def test_slds_scatter_about_the_default_and_counts_stay_in_range():
    rng = np.random.default_rng(1)
    draws = [scaled.sample_scaled(CATALOG["core_multi_shell"], rng) for _ in range(500)]
    core = np.array([d["sld_core"] for d in draws])
    assert abs(np.median(core) - _default("core_multi_shell", "sld_core")) < 0.3
    assert core.min() >= -1.0 and core.max() <= 7.0
    counts = {int(d["n"]) for d in draws}
    assert min(counts) == 1 and max(counts) >= 4
    for d in draws:  # vector slots beyond the count are dropped
        assert f"thickness{int(d['n']) + 1}" not in d


def test_scaled_dataset_says_so_in_its_manifest(tmp_path, capsys):
    out = tmp_path / "scaled"
    code = main(["simulate", "--priors", "scaled", "--out", str(out), "--per-class", "2",
                 "--classes", "sphere,power_law", "--workers", "1", "--seed", "3"])
    assert code == 0, capsys.readouterr().err
    manifest = read_manifest(out)
    assert manifest["priors"] == "scaled" and dataset_priors(manifest) == "scaled"
    assert manifest["spec"]["scaled"]["version"] == scaled.SCALED_VERSION
    assert manifest["spec"]["scaled"]["priors"]["sphere"]["radius"]["rule"] == "length"
    assert "wide" not in manifest["spec"]
