"""The feature-space novelty density: Mahalanobis distances against scipy and sklearn,
storage without pickle, and its place in a finished run."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest
from scipy.spatial.distance import mahalanobis
from sklearn.discriminant_analysis import LinearDiscriminantAnalysis

from sasnn.learn.novelty import FILE, RIDGE, FeatureDensity


@pytest.fixture(scope="module")
def clusters():
    """Three Gaussian classes in 6-d with one shared, correlated covariance."""
    rng = np.random.default_rng(0)
    mixing = rng.normal(size=(6, 6))
    means = 4 * rng.normal(size=(3, 6))
    labels = rng.integers(0, 3, 3000)
    x = means[labels] + rng.normal(size=(3000, 6)) @ mixing
    return x, labels, means, mixing.T @ mixing


def test_the_tied_covariance_is_the_within_class_one(clusters):
    x, labels, _, _ = clusters
    density = FeatureDensity.fit(x, labels, 3)
    lda = LinearDiscriminantAnalysis(solver="lsqr", store_covariance=True).fit(x, labels)
    np.testing.assert_allclose(density.means, lda.means_, rtol=1e-10)
    within = lda.covariance_  # sum over classes of prior · class covariance (biased)
    ridge = RIDGE * np.trace(within) / 6 * np.eye(6)
    np.testing.assert_allclose(np.linalg.inv(density.precision), within + ridge, rtol=1e-8, atol=1e-10)


def test_the_score_is_the_distance_to_the_nearest_class(clusters):
    x, labels, _, _ = clusters
    density = FeatureDensity.fit(x, labels, 3, relative=False)
    points = np.vstack([x[:20], 30 * np.ones((1, 6))])
    expected = [min(mahalanobis(p, m, density.precision) ** 2 for m in density.means) for p in points]
    np.testing.assert_allclose(density.score(points), expected, rtol=1e-9)
    # in-class points follow chi² with 6 degrees of freedom (mean 6); the far one does not
    assert np.mean(density.score(x)) == pytest.approx(6, rel=0.1)
    assert density.score(points)[-1] > 100 * np.median(density.score(x))


def test_the_relative_score_subtracts_the_distance_to_all_features(clusters):
    # Ren et al. 2021: class distance minus the distance to one Gaussian fitted to
    # every feature; the background checked against sklearn's covariance estimate
    from sklearn.covariance import EmpiricalCovariance

    x, labels, _, _ = clusters
    density = FeatureDensity.fit(x, labels, 3)
    assert density.relative
    background = EmpiricalCovariance().fit(x)
    ridge = RIDGE * np.trace(background.covariance_) / 6 * np.eye(6)
    np.testing.assert_allclose(density.background_mean, background.location_, rtol=1e-10)
    np.testing.assert_allclose(np.linalg.inv(density.background_precision), background.covariance_ + ridge,
                               rtol=1e-8, atol=1e-10)
    points = np.vstack([x[:20], 30 * np.ones((1, 6))])
    plain = FeatureDensity.fit(x, labels, 3, relative=False).score(points)
    to_all = [mahalanobis(p, density.background_mean, density.background_precision) ** 2 for p in points]
    np.testing.assert_allclose(density.score(points), plain - to_all, rtol=1e-8, atol=1e-8)


def test_a_density_without_background_scores_the_plain_distance(clusters, tmp_path):
    # checkpoints saved before the relative score keep the score their threshold was set on
    x, labels, _, _ = clusters
    FeatureDensity.fit(x, labels, 3, relative=False).save(tmp_path)
    old = FeatureDensity.load(tmp_path)
    assert not old.relative
    expected = FeatureDensity.fit(x, labels, 3, relative=False).score(x[:30])
    np.testing.assert_allclose(old.score(x[:30]), expected, rtol=1e-4)


def test_a_class_without_curves_is_never_the_nearest(clusters):
    x, labels, _, _ = clusters
    keep = labels != 1
    density = FeatureDensity.fit(x[keep], labels[keep], 3, relative=False)
    assert not np.isfinite(density.means[1]).any()
    assert np.all(np.isfinite(density.score(x)))
    # points of the missing class are far from both others
    assert np.median(density.score(x[labels == 1])) > 10 * np.median(density.score(x[keep]))


def test_it_round_trips_through_safetensors(clusters, tmp_path):
    x, labels, _, _ = clusters
    density = FeatureDensity.fit(x, labels, 3)
    density.save(tmp_path)
    loaded = FeatureDensity.load(tmp_path)
    assert loaded.relative
    np.testing.assert_allclose(loaded.score(x[:50]), density.score(x[:50]), rtol=1e-3, atol=1e-3)
    assert FeatureDensity.load(tmp_path / "elsewhere") is None
    assert (tmp_path / FILE).read_bytes()[8:9] == b"{"  # a safetensors JSON header, not a pickle
    assert loaded.layer == "shared"
    np.testing.assert_allclose(loaded.precision, density.precision, rtol=1e-5)  # rebuilt from a triangle
    np.testing.assert_array_equal(loaded.precision, loaded.precision.T)


def test_a_file_with_whole_precisions_still_loads(clusters, tmp_path):
    from safetensors.numpy import save_file

    x, labels, _, _ = clusters
    density = FeatureDensity.fit(x, labels, 3)
    save_file({"means": density.means.astype(np.float32), "precision": density.precision.astype(np.float32),
               "background_mean": density.background_mean.astype(np.float32),
               "background_precision": density.background_precision.astype(np.float32)}, str(tmp_path / FILE))
    np.testing.assert_allclose(FeatureDensity.load(tmp_path).score(x[:20]), density.score(x[:20]), rtol=1e-3)


def test_the_feature_layer_travels_with_the_file(clusters, tmp_path):
    from safetensors.numpy import load_file, save_file

    x, labels, _, _ = clusters
    FeatureDensity.fit(x, labels, 3, layer="pooled+shared").save(tmp_path)
    assert FeatureDensity.load(tmp_path).layer == "pooled+shared"
    # a file written before the layer was stored (no metadata) read the shared layer
    save_file(load_file(str(tmp_path / FILE)), str(tmp_path / FILE))
    assert FeatureDensity.load(tmp_path).layer == "shared"
    save_file(load_file(str(tmp_path / FILE)), str(tmp_path / FILE), metadata={"layer": "logits"})
    with pytest.raises(ValueError, match="is damaged .*unknown feature layer 'logits'"):
        FeatureDensity.load(tmp_path)


def test_the_wider_features_are_the_pooled_maps_next_to_the_shared_layer():
    import torch

    from sasnn.learn.networks import CNNConfig, IdentifyCNN
    from sasnn.learn.novelty import features, layer_for

    torch.manual_seed(0)
    config = CNNConfig(channels=(8, 16), kernel_sizes=(5, 3), hidden=12, pooling="global")
    model = IdentifyCNN(config, 4, 2).eval()
    x = np.random.default_rng(1).normal(size=(5, 2, 256)).astype(np.float32)
    with torch.no_grad():
        maps = model.feature_maps(torch.as_tensor(x))[-1].numpy()  # (5, 16, 64)
        shared = model.embed(torch.as_tensor(x)).numpy()
    wide = features(model, x, layer="pooled+shared")
    expected = np.concatenate([maps.mean(axis=2), maps.max(axis=2), shared], axis=1)
    np.testing.assert_allclose(wide, expected, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(features(model, x), shared, rtol=1e-6)
    assert layer_for(model) == "pooled+shared"
    assert layer_for(IdentifyCNN(CNNConfig(channels=(8, 16), kernel_sizes=(5, 3)), 4, 2)) == "shared"


def test_a_finished_run_holds_it_and_an_older_run_gains_it(tmp_path, monkeypatch):
    from _identify_data import make_tiny_dataset

    from sasnn.identify.loading import load_predictor
    from sasnn.io.curve import Curve
    from sasnn.learn.networks import CNNConfig
    from sasnn.learn.preprocessing import default_grid
    from sasnn.learn.training import TrainConfig, fit, load_training_arrays

    arrays = load_training_arrays(make_tiny_dataset(tmp_path / "data"), default_grid())
    cnn = CNNConfig(channels=(8, 16), kernel_sizes=(5, 3), hidden=32)
    config = TrainConfig(batch_size=16, lr=5e-3, epochs=2, crop_min_cells=32, num_threads=1)
    model_dir = tmp_path / "run" / "model"
    fit(arrays, cnn, config, tmp_path / "run")
    meta = json.loads((model_dir / "meta.json").read_text())
    threshold = meta["unsure"]["feature_distance_threshold"]
    assert threshold > 0 and (model_dir / FILE).is_file()
    predictor = load_predictor(tmp_path / "run")
    assert predictor.density is not None and predictor.density.means.shape == (3, 32)
    assert np.all(np.isfinite(predictor.feature_distance(arrays.x[:5])))

    # a curve far from every class in feature space is flagged, with both numbers
    q = np.logspace(-2.5, -0.5, 120)
    curve = Curve(q, 1e-3 + q**-4.0, source="far.dat")
    with monkeypatch.context() as m:
        m.setattr(FeatureDensity, "score", lambda self, f: np.full(len(f), 1e9))
        (far,) = predictor.predict([curve], top_k=1)
    assert far.unsure and f"feature distance 1e+09 > {threshold:.3g}" in far.reason
    assert "energy score" not in far.reason and "only 5 % of validation curves reach" in far.reason

    # a run finished before the density existed: rerunning its command adds it, unchanged
    shutil.copytree(tmp_path / "run", tmp_path / "old")
    (tmp_path / "old" / "model" / FILE).unlink()
    del meta["unsure"]["feature_distance_threshold"]
    (tmp_path / "old" / "model" / "meta.json").write_text(json.dumps(meta))
    old = load_predictor(tmp_path / "old")
    assert old.density is None and np.isnan(old.feature_distance(arrays.x[:2])).all()
    old.predict([], top_k=1)  # no feature test without a density, and no error
    fit(arrays, cnn, config, tmp_path / "old")
    upgraded = json.loads((tmp_path / "old" / "model" / "meta.json").read_text())
    assert upgraded["unsure"]["feature_distance_threshold"] == pytest.approx(threshold, rel=1e-6)
    assert upgraded["temperatures"] == pytest.approx(meta["temperatures"])


def test_a_damaged_model_folder_is_one_clear_error(tmp_path):
    from sasnn.identify.loading import load_predictor
    from sasnn.identify.model_folder import shipped_model_path

    root = shipped_model_path()
    names = sorted(str(p.relative_to(root)) for p in root.rglob("*.safetensors"))
    assert "novelty.safetensors" in {n.rsplit("/", 1)[-1] for n in names}
    for name in names:  # weights and novelty density, of every network
        broken = tmp_path / name.replace("/", "-").split(".")[0]
        shutil.copytree(shipped_model_path(), broken)
        (broken / name).write_bytes((broken / name).read_bytes()[:100])  # truncated
        with pytest.raises(ValueError, match=f"{name} is damaged"):
            load_predictor(broken)
