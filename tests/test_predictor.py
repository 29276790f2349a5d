"""The Predictor (ranked pairs, "unsure" and its reasons) and explain's saliency."""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import pytest
import torch
from _identify_data import make_tiny_dataset

from sasnn.identify import model_folder
from sasnn.identify import predictor as predict
from sasnn.identify.loading import load_predictor
from sasnn.identify.predictor import Predictor, has_feature
from sasnn.io.curve import Curve
from sasnn.learn.explain import explain_curve, integrated_gradients
from sasnn.learn.networks import CNNConfig, load_checkpoint
from sasnn.learn.preprocessing import default_grid, prepare_input
from sasnn.learn.training import TrainConfig, fit, load_training_arrays
from sasnn.simulate.datasets import iter_shards


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    root = tmp_path_factory.mktemp("predictor")
    data = make_tiny_dataset(root / "data")
    arrays = load_training_arrays(data, default_grid())
    config = TrainConfig(batch_size=16, lr=5e-3, epochs=3, crop_min_cells=32, num_threads=1)
    fit(arrays, CNNConfig(channels=(8, 16), kernel_sizes=(5, 3), hidden=32), config, root / "run")
    curves = [shard.curve(i) for shard in iter_shards(data) for i in range(2)]
    return root / "run", curves


def test_candidates_are_ranked_calibrated_pairs(run):
    run_dir, curves = run
    predictor = load_predictor(run_dir)
    predictions = predictor.predict(curves, top_k=4)
    assert len(predictions) == len(curves)
    for p in predictions:
        probabilities = [c.probability for c in p.candidates]
        assert len(p.candidates) == 4 and probabilities == sorted(probabilities, reverse=True)
        assert all(c.model in ("sphere", "cylinder", "dab") for c in p.candidates)
        assert all(c.structure_factor is None for c in p.candidates if c.model == "dab")  # never trained so
        assert p.unsure == (p.reason is not None)
    record = predictions[0].to_dict()
    assert set(record) == {"file", "entry", "candidates", "unsure", "reason", "q_units_read", "q_range",
                          "featureless"}
    assert record["q_units_read"] is None and len(record["q_range"]) == 2  # curves made in code
    assert set(record["candidates"][0]) == {"model", "structure_factor", "probability"}
    json.dumps(record)


def test_joint_probabilities_sum_to_one_and_respect_trained_pairs(run):
    run_dir, curves = run
    predictor = load_predictor(run_dir)
    x = np.stack([prepare_input(c.q, c.intensity, predictor.grid) for c in curves])
    joint = predictor.pair_probabilities(x)
    np.testing.assert_allclose(joint.sum(axis=(1, 2)), 1.0)
    dab = predictor.class_names.index("dab")
    assert np.all(joint[:, dab, 1:] == 0)
    p_ff, p_sf = predictor.probabilities(x)
    np.testing.assert_allclose(p_ff.sum(1), 1.0, rtol=1e-6)


def test_unsure_when_the_data_miss_the_grid(run):
    run_dir, curves = run
    predictor = load_predictor(run_dir)
    q = np.linspace(1.5, 4.0, 60)  # entirely above the grid
    outside = Curve(q, q**-2.0, source="wide.dat")
    narrow_q = np.linspace(0.05, 0.06, 30)  # 0.08 decades: a few grid points
    narrow = Curve(narrow_q, narrow_q**-2.0, source="narrow.dat")
    broken = Curve(np.array([0.01, 0.02]), np.array([-1.0, 0.0]), source="broken.dat")
    far, short, bad = predictor.predict([outside, narrow, broken])
    assert (
        far.unsure and "data cover q = 1.5–4 Å⁻¹ but the model was trained on 0.000794–1.26 Å⁻¹" in far.reason
    )
    assert short.unsure and "fewer than the 32 it needs" in short.reason
    assert bad.unsure and bad.candidates == () and "at least 2 points" in bad.reason


def test_low_confidence_is_judged_on_the_top_form_factors_at_the_models_level(run, monkeypatch):
    from types import MappingProxyType

    run_dir, curves = run
    trained = load_predictor(run_dir)
    levels = trained.meta["unsure"]
    assert levels["unsure_top3"] == 0.95 and set(levels["min_confidence_by_priors"]) == {"narrow"}
    assert levels["min_confidence"] == max(0.5, levels["min_confidence_by_priors"]["narrow"])
    predictor = dataclasses.replace(trained, meta=MappingProxyType(
        {**trained.meta, "unsure": {**levels, "min_confidence": 0.8}}))
    monkeypatch.setattr(predict, "SHORTLIST", 2)  # the tiny model knows 3 classes
    monkeypatch.setattr(Predictor, "feature_distance", lambda self, x: np.full(len(x), -np.inf))
    flat = np.zeros((1, len(predictor.class_names))), np.zeros((1, len(predictor.structure_factors)))
    monkeypatch.setattr(Predictor, "logits", lambda self, x: (np.repeat(flat[0], len(x), 0),
                                                              np.repeat(flat[1], len(x), 0)))
    (even,) = predictor.predict(curves[:1], top_k=1)  # every class equally likely
    assert even.unsure and ("top 2 models together have p = 0.67 < 0.80, the level above which 95 % "
                            "of validation predictions are right") in even.reason
    sharp = np.zeros_like(flat[0]), np.zeros_like(flat[1])
    sharp[0][0, :2], sharp[1][0, 0] = 50.0, 50.0  # two classes share the probability
    monkeypatch.setattr(Predictor, "logits", lambda self, x: sharp)
    (split,) = predictor.predict(curves[:1], top_k=1)
    assert split.candidates[0].probability == pytest.approx(0.5, abs=0.01)
    assert not split.unsure  # a 50:50 first place is not doubt about the shortlist
    older = dataclasses.replace(predictor, meta=MappingProxyType(
        {**trained.meta, "unsure": {k: v for k, v in levels.items() if "confidence" not in k}}))
    monkeypatch.setattr(Predictor, "logits", lambda self, x: (np.repeat(flat[0], len(x), 0),
                                                              np.repeat(flat[1], len(x), 0)))
    monkeypatch.setattr(predict, "SHORTLIST", 1)
    (before,) = older.predict(curves[:1], top_k=1)  # a checkpoint from before the level: 0.5
    assert before.unsure and "top 1 models together have p = 0.33 < 0.50" in before.reason


def test_the_predictor_is_immutable(run):
    predictor = load_predictor(run[0])
    with pytest.raises(dataclasses.FrozenInstanceError):
        predictor.grid = None
    with pytest.raises(ValueError):
        predictor.grid[0] = 1.0
    with pytest.raises(TypeError):
        predictor.meta["temperatures"] = {}
    assert not any(p.requires_grad for p in predictor.model.parameters())


def test_model_paths_and_their_errors(run, tmp_path, monkeypatch):
    run_dir, _ = run
    assert model_folder.resolve_model_path(run_dir) == run_dir / "model"
    assert model_folder.resolve_model_path(run_dir / "model") == run_dir / "model"
    monkeypatch.setattr(model_folder, "shipped_model_path", lambda: run_dir / "model")
    assert load_predictor(None).path == run_dir / "model"  # --model's default
    monkeypatch.setattr(model_folder, "shipped_model_path", lambda: tmp_path / "absent")
    with pytest.raises(FileNotFoundError, match="this installation has no shipped model"):
        load_predictor(None)
    with pytest.raises(ValueError, match="intermediate checkpoint"):
        load_predictor(run_dir / "best")
    meta = json.loads((run_dir / "model" / "meta.json").read_text())
    meta["preprocessing"]["version"] = 0
    other = tmp_path / "old"
    other.mkdir()
    (other / "meta.json").write_text(json.dumps(meta))
    (other / "model.safetensors").write_bytes((run_dir / "model" / "model.safetensors").read_bytes())
    with pytest.raises(ValueError, match="trained with preprocessing version 0.*retrain it"):
        load_predictor(other)


def test_saliency_attributions_add_up_to_the_logit_change(run):
    run_dir, curves = run
    model, meta = load_checkpoint(run_dir / "model")
    expl = explain_curve(model, meta, curves[0].q, curves[0].intensity)
    assert expl.saliency.shape == (256,) and expl.filters.shape == (8, 2, 5)
    assert [m.shape for m in expl.feature_maps] == [(8, 128), (16, 64)]
    assert expl.feature_q[0][0] < expl.feature_q[0][-1] and len(expl.feature_q[1]) == 64
    assert np.all(expl.saliency[expl.x[1] == 0] == 0)  # nothing is attributed to uncovered q
    # completeness of integrated gradients (up to the Riemann sum's error)
    attribution, gap = integrated_gradients(model, expl.x, 0, steps=128)
    assert attribution.sum() == pytest.approx(gap, rel=0.05, abs=0.02)
    assert torch.is_grad_enabled()


def test_a_featureless_window_is_flagged_whatever_the_network_says(run):
    # a smeared q^-4 plus background carries no size; a sphere's fringes do (the rule itself
    # is tested in test_wide.py); the flag and its reason reach the JSON, with and without σ
    from sasmodels.core import load_model
    from sasmodels.data import Data1D
    from sasmodels.direct_model import DirectModel
    from sasmodels.resolution import Pinhole1D

    run_dir, _ = run
    predictor = load_predictor(run_dir)
    q = np.geomspace(0.02, 0.4, 150)
    dq = 0.05 * q
    rng = np.random.default_rng(4)
    smearing = Pinhole1D(q, dq)
    porod = smearing.apply(1e-6 * smearing.q_calc ** -4) + 0.05
    data = Data1D(x=q, y=np.ones_like(q), dy=np.ones_like(q), dx=dq)
    sphere = DirectModel(data, load_model("sphere"))(radius=60.0, scale=0.01, background=0.05)
    curves = []
    for name, clean in (("porod", porod), ("sphere", sphere)):
        sigma = 0.02 * clean
        curves.append(Curve(q, clean + sigma * rng.standard_normal(len(q)), sigma, dq, source=name))
    curves.append(dataclasses.replace(curves[0], sigma=None, source="porod without sigma"))
    flat, fringes, bare = predictor.predict(curves)
    assert flat.featureless and flat.unsure and flat.reason.startswith("the window shows no size")
    assert "q^-4.0" in flat.reason and flat.to_dict()["featureless"] is True
    assert bare.featureless and bare.unsure
    assert not fringes.featureless and "no size" not in (fringes.reason or "")
    # the benches' has_feature is the same rule
    assert [has_feature(c) for c in curves] == [False, True, False]
