"""Datasets: determinism across executors, resume after SIGKILL, refusal, streaming."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from sasnn.simulate import datasets
from sasnn.simulate.datasets import SimulationConfig, generate_dataset, iter_shards, read_manifest
from sasnn.simulate.shard import simulate_shard

CLASSES = ("sphere", "cylinder")


def tiny_config(seed: int = 7, **kwargs) -> SimulationConfig:
    return SimulationConfig(classes=CLASSES, per_class=6, seed=seed, shard_size=3, **kwargs)


def folder_bytes(directory: Path) -> dict[str, bytes]:
    files = sorted(p for p in directory.rglob("*") if p.is_file())
    return {str(p.relative_to(directory)): p.read_bytes() for p in files}


@pytest.fixture(scope="module")
def reference(tmp_path_factory) -> Path:
    directory = tmp_path_factory.mktemp("reference")
    generate_dataset(directory, tiny_config(), workers=1)
    return directory


def test_manifest_describes_the_dataset(reference):
    manifest = read_manifest(reference)
    assert manifest["classes"] == list(CLASSES)
    assert manifest["structure_factors"][0] == "none"
    assert manifest["complete"] and manifest["n_curves"] == 12
    assert [s["file"] for s in manifest["shards"]] == [
        "sphere-0000.npz",
        "sphere-0001.npz",
        "cylinder-0000.npz",
        "cylinder-0001.npz",
    ]
    assert set(manifest["rejections"]) == set(CLASSES)
    assert manifest["spec"]["versions"]["sasnn"]


def test_stored_curves_are_valid_and_complete(reference):
    shards = list(iter_shards(reference))
    assert sum(len(s) for s in shards) == 12
    for shard in shards:
        for i in range(len(shard)):
            curve = shard.curve(i)
            assert np.all(np.diff(curve.q) > 0) and np.all(curve.sigma > 0) and np.all(curve.dq > 0)
            assert np.all(np.isfinite(curve.intensity))
            params = curve.meta["parameters"]
            assert params["model"]["scale"] == 1.0 and params["instrument"]["background"] > 0
            assert curve.meta["model"] == shard.class_name


def test_same_seed_same_bytes_for_any_worker_count(reference, tmp_path):
    generate_dataset(tmp_path, tiny_config(), workers=2)
    assert folder_bytes(tmp_path) == folder_bytes(reference)


def test_other_seed_other_data(reference, tmp_path):
    generate_dataset(tmp_path, tiny_config(seed=8), workers=1)
    a = next(iter_shards(reference)).intensity
    b = next(iter_shards(tmp_path)).intensity
    assert a.shape != b.shape or not np.array_equal(a, b)


def test_class_subset_reproduces_the_same_curves(reference, tmp_path):
    config = SimulationConfig(classes=("cylinder",), per_class=6, seed=7, shard_size=3)
    generate_dataset(tmp_path, config, workers=1)
    assert (tmp_path / "shards/cylinder-0001.npz").read_bytes() == (
        reference / "shards/cylinder-0001.npz"
    ).read_bytes()


@pytest.mark.slow
def test_dask_local_cluster_gives_identical_bytes(reference, tmp_path):
    distributed = pytest.importorskip("distributed")
    with (
        distributed.LocalCluster(
            n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
        ) as cluster,
        distributed.Client(cluster) as client,
    ):
        generate_dataset(tmp_path, tiny_config(), scheduler=client)
    assert folder_bytes(tmp_path) == folder_bytes(reference)


def test_rerun_on_finished_folder_changes_nothing(reference, tmp_path):
    generate_dataset(tmp_path, tiny_config(), workers=1)
    before = {p: os.stat(tmp_path / p).st_mtime_ns for p in folder_bytes(tmp_path) if p.startswith("shards")}
    generate_dataset(tmp_path, tiny_config(), workers=1)
    after = {p: os.stat(tmp_path / p).st_mtime_ns for p in before}
    assert before == after


def test_damaged_shard_is_recomputed(reference, tmp_path):
    generate_dataset(tmp_path, tiny_config(), workers=1)
    (tmp_path / "shards/sphere-0001.npz").write_bytes(b"garbage")
    generate_dataset(tmp_path, tiny_config(), workers=1)
    assert folder_bytes(tmp_path) == folder_bytes(reference)


@pytest.mark.parametrize("priors", ["narrow", "wide", "scaled"])
@pytest.mark.parametrize("nuisances", ["none", "realistic"])
def test_every_spec_survives_its_manifest(priors, nuisances):
    # a resume compares the spec with the one read back from JSON: a tuple left in it
    # (as the nuisance ranges once were) made every half-finished realistic folder unresumable
    spec = datasets.dataset_spec(tiny_config(priors=priors, nuisances=nuisances))
    assert json.loads(json.dumps(spec)) == spec


def test_half_finished_realistic_wide_folder_resumes(tmp_path):
    config = tiny_config(priors="wide", nuisances="realistic")
    generate_dataset(tmp_path, config, workers=1)
    whole = folder_bytes(tmp_path)
    (tmp_path / "shards/cylinder-0001.npz").unlink()
    generate_dataset(tmp_path, config, workers=1)
    assert folder_bytes(tmp_path) == whole


def test_folder_with_other_dataset_is_refused_untouched(reference, tmp_path):
    generate_dataset(tmp_path, tiny_config(), workers=1)
    before = folder_bytes(tmp_path)
    with pytest.raises(FileExistsError, match="holds a different dataset .*config"):
        generate_dataset(tmp_path, tiny_config(seed=9), workers=1)
    assert folder_bytes(tmp_path) == before


def test_non_dataset_folder_is_refused(tmp_path):
    (tmp_path / "notes.txt").write_text("mine")
    with pytest.raises(FileExistsError, match="not empty and holds no sasnn dataset"):
        generate_dataset(tmp_path, tiny_config(), workers=1)
    assert (tmp_path / "notes.txt").read_text() == "mine"


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"classes": ("spheer",)}, "unknown class.*spheer.*valid: .*sphere"),
        ({"per_class": -3}, "--per-class must be a positive"),
        ({"seed": -1}, "--seed must be a non-negative"),
        ({"classes": ("sphere", "sphere")}, "listed twice"),
        ({"structure_factor_share": 1.5}, r"--sf-share \(structure_factor_share\) must be in \[0, 1\]"),
    ],
)
def test_bad_configuration_is_refused(kwargs, message):
    base = {"classes": CLASSES, "per_class": 2, "seed": 0}
    with pytest.raises(ValueError, match=message):
        SimulationConfig(**(base | kwargs))


def test_unfinished_dataset_cannot_be_read(tmp_path, monkeypatch):
    def stop_after_first(tasks, *args):
        yield simulate_shard(tasks[0], args[0])
        raise KeyboardInterrupt

    monkeypatch.setattr(datasets, "_run_tasks", stop_after_first)
    with pytest.raises(KeyboardInterrupt):
        generate_dataset(tmp_path, tiny_config(), workers=1)
    assert not read_manifest(tmp_path)["complete"]
    with pytest.raises(ValueError, match="unfinished dataset; rerun"):
        next(iter_shards(tmp_path))


@pytest.mark.slow
def test_sigkill_then_rerun_equals_uninterrupted_run(reference, tmp_path):
    """Kill the real CLI with SIGKILL mid-run; the same command resumes and matches."""
    out = tmp_path / "ds"
    cmd = [
        sys.executable,
        "-m",
        "sasnn",
        "simulate",
        "--out",
        str(out),
        "--per-class",
        "6",
        "--seed",
        "7",
        "--classes",
        ",".join(CLASSES),
        "--shard-size",
        "3",
        "--workers",
        "1",
    ]
    env = dict(os.environ, SAS_OPENCL="none")
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and proc.poll() is None:
        try:
            if json.loads((out / "manifest.json").read_text())["shards"]:
                break
        except (FileNotFoundError, json.JSONDecodeError, KeyError):
            pass
        time.sleep(0.01)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    manifest = read_manifest(out)
    assert not manifest["complete"] and 1 <= len(manifest["shards"]) < 4
    subprocess.run(cmd, env=env, check=True, capture_output=True)
    assert folder_bytes(out) == folder_bytes(reference)
