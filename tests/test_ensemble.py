"""Ensembles: the mean of the members' calibrated probabilities at the ensemble's own
temperatures, checked against torch, and the CLI that builds them, with one-line refusals."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest
import torch
from _identify_data import CLASSES, TINY_TOML, make_tiny_dataset

from sasnn.cli import main
from sasnn.identify.ensemble import EnsemblePredictor, build_ensemble
from sasnn.identify.loading import load_predictor
from sasnn.learn.evaluation import MIN_CONFIDENCE
from sasnn.learn.networks import load_checkpoint
from sasnn.learn.preprocessing import prepare_input
from sasnn.learn.training import load_training_arrays
from sasnn.simulate.datasets import iter_shards


@pytest.fixture(scope="module")
def members(tmp_path_factory):
    """Two tiny runs on the same curves that differ only in their seed."""
    root = tmp_path_factory.mktemp("ensemble")
    data = make_tiny_dataset(root / "data")
    runs = []
    for seed in (0, 1):
        config = root / f"run{seed}.toml"
        config.write_text(TINY_TOML.replace("[train]\n", f"[train]\nseed = {seed}\n"))
        run_dir = root / f"run{seed}"
        assert main(["train", "--data", str(data), "--out", str(run_dir), "--epochs", "2",
                     "--config", str(config)]) == 0
        runs.append(run_dir)
    curves = [shard.curve(i) for shard in iter_shards(data) for i in range(3)]
    return root, data, runs, curves


@pytest.fixture(scope="module")
def calibration(members):
    return make_tiny_dataset(members[0] / "calibration", seed=9)  # a seed neither member saw


@pytest.fixture(scope="module")
def ensemble_dir(members, calibration):
    root, _, runs, _ = members
    build_ensemble(runs, root / "ensemble", [calibration])
    return root / "ensemble"


def member_probabilities(runs, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Each member's calibrated probabilities, (members, N, K) per head, from the bare
    networks and torch's softmax (independent of Predictor)."""
    heads = ([], [])
    for run_dir in runs:
        network, meta = load_checkpoint(run_dir / "model")
        with torch.no_grad():
            logits = network(torch.from_numpy(x))
        for head, z, name in zip(heads, logits, ("form_factor", "structure_factor"), strict=True):
            head.append(torch.softmax(z / meta["temperatures"][name], 1).numpy())
    return np.array(heads[0]), np.array(heads[1])


def one_line_error(capsys, *args: str) -> str:
    assert main(list(args)) == 1
    lines = [line for line in capsys.readouterr().err.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("sasnn: error: "), lines
    return lines[0]


def test_probabilities_are_the_tempered_mean_of_the_members_calibrated_ones(members, ensemble_dir):
    _, _, runs, curves = members
    ensemble = load_predictor(ensemble_dir)
    assert isinstance(ensemble, EnsemblePredictor) and len(ensemble.networks) == 2
    x = np.stack([prepare_input(c.q, c.intensity, ensemble.grid) for c in curves])
    p_ff, p_sf = ensemble.probabilities(x)
    for got, per_member, name in zip((p_ff, p_sf), member_probabilities(runs, x),
                                     ("form_factor", "structure_factor"), strict=True):
        t = ensemble.meta["temperatures"][name]
        expected = torch.softmax(torch.log(torch.from_numpy(per_member.mean(0))) / t, 1).numpy()
        np.testing.assert_allclose(got, expected, rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(ensemble.pair_probabilities(x).sum(axis=(1, 2)), 1.0)
    # the members genuinely differ, so the mean is not one of them
    assert not np.allclose(*member_probabilities(runs, x)[0], atol=1e-3)


def test_the_temperature_minimises_the_nll_on_the_calibration_set(members, calibration, ensemble_dir):
    _, _, runs, _ = members
    ensemble = load_predictor(ensemble_dir)
    data = load_training_arrays(calibration, ensemble.grid, class_names=ensemble.class_names,
                                structure_factors=ensemble.structure_factors)
    log_mean = torch.log(torch.from_numpy(member_probabilities(runs, data.x)[0].mean(0)))
    labels = torch.from_numpy(data.form_factor)
    t = ensemble.meta["temperatures"]["form_factor"]
    nll = {f: float(torch.nn.functional.cross_entropy(log_mean / (t * f), labels)) for f in (0.8, 1.0, 1.25)}
    assert nll[1.0] <= min(nll[0.8], nll[1.25]) + 1e-9
    calibration_record = ensemble.meta["calibration"]
    assert calibration_record["n"] == len(data) and len(calibration_record["dataset_sha256"]) == 64


def test_novelty_is_the_first_members_test(members, ensemble_dir):
    _, _, runs, curves = members
    ensemble = load_predictor(ensemble_dir)
    first = load_predictor(runs[0])
    x = np.stack([prepare_input(c.q, c.intensity, ensemble.grid) for c in curves])
    np.testing.assert_array_equal(ensemble.feature_distance(x), first.feature_distance(x))
    for key in ("feature_distance_threshold", "energy_threshold"):
        assert ensemble.meta["unsure"][key] == first.meta["unsure"][key]
    predictions = ensemble.predict(curves, top_k=3)
    assert all(p.candidates[0].model in CLASSES for p in predictions)


def test_the_unsure_level_is_the_ensembles_own_set_on_the_calibration_curves(members, calibration,
                                                                            ensemble_dir):
    """The level is set on the calibration curves from the ensemble's own tempered mean
    (recomputed here from torch's softmax of the members), not taken from the first member.
    With three classes every top 3 is right, so the level is the least top-3 confidence
    among the calibration curves (or the 0.5 floor): every curve left unflagged."""
    _, _, runs, _ = members
    ensemble = load_predictor(ensemble_dir)
    data = load_training_arrays(calibration, ensemble.grid, class_names=ensemble.class_names,
                                structure_factors=ensemble.structure_factors)
    log_mean = torch.log(torch.from_numpy(member_probabilities(runs, data.x)[0].mean(0)))
    p = torch.softmax(log_mean / ensemble.meta["temperatures"]["form_factor"], 1).numpy()
    confidence = np.sort(p, axis=1)[:, -3:].sum(1)
    levels = ensemble.meta["unsure"]
    assert levels["min_confidence"] == pytest.approx(max(MIN_CONFIDENCE, confidence.min()), rel=1e-6)
    assert set(levels["min_confidence_by_priors"]) == {"narrow"} and levels["unsure_top3"] == 0.95


def test_build_refuses_an_existing_folder_one_model_and_mismatched_members(members, ensemble_dir, capsys,
                                                                           tmp_path):
    root, _, runs, _ = members
    before = sorted(p.name for p in ensemble_dir.rglob("*"))
    line = one_line_error(capsys, "ensemble", str(runs[0]), str(runs[1]), "--out", str(ensemble_dir))
    assert "already exists" in line
    assert sorted(p.name for p in ensemble_dir.rglob("*")) == before  # nothing overwritten
    assert "two or more" in one_line_error(capsys, "ensemble", str(runs[0]), "--out", str(tmp_path / "e1"))
    other = tmp_path / "other"
    shutil.copytree(runs[1] / "model", other)
    meta = json.loads((other / "meta.json").read_text())
    meta["grid"] = [2 * q for q in meta["grid"]]
    (other / "meta.json").write_text(json.dumps(meta))
    line = one_line_error(capsys, "ensemble", str(runs[0]), str(other), "--out", str(tmp_path / "e2"))
    assert "differ in grid" in line
    assert not (tmp_path / "e2").exists() and not (tmp_path / "e2.part").exists()
    line = one_line_error(capsys, "ensemble", str(runs[0]), str(ensemble_dir), "--out", str(tmp_path / "e3"))
    assert "is an ensemble already" in line


@pytest.mark.parametrize("members_field", [["member-0"], ["member-0", "../run0"], "member-0", [1, 2]])
def test_a_damaged_description_is_one_line(ensemble_dir, tmp_path, capsys, members_field):
    broken = tmp_path / "broken"
    shutil.copytree(ensemble_dir, broken)
    description = json.loads((broken / "ensemble.json").read_text())
    (broken / "ensemble.json").write_text(json.dumps({**description, "members": members_field}))
    line = one_line_error(capsys, "predict", "--model", str(broken), "nothing.dat")
    assert str(broken / "ensemble.json") in line


def test_the_cli_predicts_evaluates_and_explains_with_an_ensemble(members, ensemble_dir, capsys, tmp_path):
    _, data, _, curves = members
    sample = tmp_path / "curve.dat"
    np.savetxt(sample, np.column_stack([curves[0].q, curves[0].intensity, curves[0].sigma]))
    assert main(["predict", str(sample), "--model", str(ensemble_dir), "--json"]) == 0
    record = json.loads(capsys.readouterr().out)
    assert record[0]["candidates"][0]["model"] in CLASSES
    assert main(["evaluate", "--data", str(data), "--model", str(ensemble_dir), "--json"]) == 0
    metrics = json.loads(capsys.readouterr().out)
    assert metrics["temperatures"] == load_predictor(ensemble_dir).meta["temperatures"]
    assert metrics["ece_before_calibration"] != metrics["ece"]  # the plain mean, then tempered
    assert main(["explain", str(sample), "--model", str(ensemble_dir), "--out", str(tmp_path / "x")]) == 0
    assert "network 1 of the ensemble's 2" in capsys.readouterr().err
    assert (tmp_path / "x" / "filters.png").read_bytes().startswith(b"\x89PNG")


def test_the_cli_builds_with_and_without_a_calibration_set(members, calibration, capsys, tmp_path):
    _, _, runs, _ = members
    assert main(["ensemble", str(runs[0]), str(runs[1]), "--out", str(tmp_path / "plain")]) == 0
    assert "to " + str(tmp_path / "plain") in capsys.readouterr().err
    plain = load_predictor(tmp_path / "plain")
    assert plain.meta["temperatures"] == {"form_factor": 1.0, "structure_factor": 1.0}
    assert plain.meta["calibration"] is None
    assert main(["ensemble", str(runs[0]), str(runs[1]), "--out", str(tmp_path / "tempered"),
                 "--calibrate", str(calibration)]) == 0
    assert "ECE on 72 curves" in capsys.readouterr().err
    line = one_line_error(capsys, "ensemble", str(runs[0]), str(runs[1]), "--out", str(tmp_path / "e"),
                          "--calibrate", str(tmp_path))
    assert "is not a sasnn dataset" in line and not (tmp_path / "e").exists()


def test_damaged_temperatures_are_one_line(ensemble_dir, tmp_path, capsys):
    broken = tmp_path / "broken"
    shutil.copytree(ensemble_dir, broken)
    description = json.loads((broken / "ensemble.json").read_text())
    description["temperatures"]["form_factor"] = -1
    (broken / "ensemble.json").write_text(json.dumps(description))
    assert "temperatures must be two positive numbers" in one_line_error(
        capsys, "predict", "--model", str(broken), "nothing.dat")


def test_a_damaged_unsure_level_is_one_line(ensemble_dir, tmp_path, capsys):
    broken = tmp_path / "broken"
    shutil.copytree(ensemble_dir, broken)
    description = json.loads((broken / "ensemble.json").read_text())
    description["unsure"]["min_confidence"] = 1.7
    (broken / "ensemble.json").write_text(json.dumps(description))
    assert "unsure must hold a min_confidence in (0, 1]" in one_line_error(
        capsys, "predict", "--model", str(broken), "nothing.dat")
