"""Training: one epoch lowers the loss, seeds reproduce, runs resume, folders are safe."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from dataclasses import replace

import numpy as np
import pytest
import torch
from _identify_data import TINY_TOML, make_tiny_dataset

from sasnn.learn import training
from sasnn.learn.networks import CNNConfig, build_model, load_checkpoint
from sasnn.learn.preprocessing import default_grid
from sasnn.learn.training import (
    TrainConfig,
    calibrate_temperature,
    fit,
    load_datasets,
    load_run_config,
    load_training_arrays,
)

TINY_CNN = CNNConfig(channels=(8, 16), kernel_sizes=(5, 3), hidden=32)
TINY_TRAIN = TrainConfig(batch_size=16, lr=5e-3, patience=50, crop_min_cells=32, epochs=3, num_threads=1)


@pytest.fixture(scope="module")
def dataset_dir(tmp_path_factory):
    return make_tiny_dataset(tmp_path_factory.mktemp("tiny"))


@pytest.fixture(scope="module")
def arrays(dataset_dir):
    return load_training_arrays(dataset_dir, default_grid())


def weights(run_dir):
    return load_checkpoint(run_dir / "model")[0].state_dict()


def test_arrays_hold_prepared_curves_and_labels(arrays):
    assert arrays.x.shape == (72, 2, 256) and arrays.x.dtype == np.float32
    assert arrays.class_names == ("sphere", "cylinder", "dab") and arrays.structure_factors[0] == "none"
    assert np.bincount(arrays.form_factor).tolist() == [24, 24, 24]
    assert len(arrays.manifest_sha256) == 64 and len(arrays.setup) == 72


def test_labels_follow_a_given_logit_order(dataset_dir):
    reordered = load_training_arrays(
        dataset_dir, default_grid(), class_names=["dab", "sphere", "cylinder", "vesicle"]
    )
    assert np.bincount(reordered.form_factor, minlength=4).tolist() == [24, 24, 24, 0]
    with pytest.raises(ValueError, match="classes the model was not trained on: cylinder"):
        load_training_arrays(dataset_dir, default_grid(), class_names=["sphere", "dab"])


def test_several_folders_train_as_one(dataset_dir, arrays, tmp_path):
    other = load_training_arrays(make_tiny_dataset(tmp_path / "seed6", per_class=12, seed=6), default_grid())
    both = load_datasets([dataset_dir, tmp_path / "seed6"], default_grid())
    assert len(both) == len(arrays) + len(other) == 108
    np.testing.assert_array_equal(both.x[72:], other.x)
    np.testing.assert_array_equal(both.form_factor, np.concatenate([arrays.form_factor, other.form_factor]))
    assert both.manifest_sha256 not in (arrays.manifest_sha256, other.manifest_sha256)
    assert load_datasets([dataset_dir], default_grid()).manifest_sha256 == arrays.manifest_sha256


def test_folders_of_one_seed_or_other_classes_are_refused(dataset_dir, tmp_path):
    make_tiny_dataset(tmp_path / "again", per_class=12, seed=5)
    with pytest.raises(ValueError, match="same seed \\(5\\)"):
        load_datasets([dataset_dir, tmp_path / "again"], default_grid())
    from sasnn.simulate.datasets import SimulationConfig, generate_dataset

    beyond = SimulationConfig(classes=("sphere", "vesicle"), per_class=4, seed=7)
    generate_dataset(tmp_path / "beyond", beyond, workers=1)
    with pytest.raises(ValueError, match="lacks \\(vesicle\\)"):
        load_datasets([dataset_dir, tmp_path / "beyond"], default_grid())


def test_a_folder_of_fewer_classes_joins_with_the_labels_of_the_widest(dataset_dir, arrays, tmp_path):
    # an expensive class simulated apart, with fewer curves
    from sasnn.simulate.datasets import SimulationConfig, generate_dataset

    generate_dataset(tmp_path / "dab", SimulationConfig(classes=("dab",), per_class=4, seed=6), workers=1)
    both = load_datasets([tmp_path / "dab", dataset_dir], default_grid())
    assert both.class_names == arrays.class_names  # the widest folder's order, though it comes second
    assert both.form_factor[:4].tolist() == [2, 2, 2, 2]
    np.testing.assert_array_equal(both.x[4:], arrays.x)


def test_a_dataset_from_before_the_prior_and_nuisance_fields_is_refused_with_its_rebuild(tmp_path):
    from sasnn.simulate.shards import read_manifest, write_manifest

    old = make_tiny_dataset(tmp_path / "old", per_class=6, seed=8)
    manifest = read_manifest(old)
    del manifest["priors"], manifest["nuisances"]
    write_manifest(old, manifest)
    rebuild = (f"sasnn simulate --out {tmp_path / 'old-rebuilt'} --per-class 6 --seed 8 --priors narrow "
               "--classes sphere,cylinder,dab")
    with pytest.raises(ValueError, match="does not record priors or nuisances") as info:
        load_training_arrays(old, default_grid())
    assert rebuild in str(info.value)
    with pytest.raises(ValueError, match="older sasnn"):
        load_datasets([old, make_tiny_dataset(tmp_path / "new", per_class=6, seed=9)], default_grid())
    proc = subprocess.run([sys.executable, "-m", "sasnn", "train", "--data", str(old), "--out",
                           str(tmp_path / "run")], capture_output=True, text=True, timeout=120)
    lines = proc.stderr.strip().splitlines()
    assert proc.returncode != 0 and len(lines) == 1 and rebuild in lines[0], proc.stderr
    assert not (tmp_path / "run").exists()


def test_a_warm_start_copies_the_weights_and_refuses_another_network(arrays, tmp_path):
    fit(arrays, TINY_CNN, replace(TINY_TRAIN, epochs=1), tmp_path / "a")
    source = tmp_path / "a" / "model"
    model = build_model("cnn", TINY_CNN, 3, len(arrays.structure_factors))
    training.warm_start(model, source, arrays, "cnn", TINY_CNN)
    for name, tensor in weights(tmp_path / "a").items():
        assert torch.equal(model.state_dict()[name], tensor), name
    other = replace(TINY_CNN, kernel_sizes=(3, 3))
    with pytest.raises(ValueError, match="not a narrower one: only channels and hidden may change"):
        training.warm_start(build_model("cnn", other, 3, 5), source, arrays, "cnn", other)
    narrower = replace(TINY_CNN, hidden=16)
    with pytest.raises(ValueError, match="every width must grow"):
        training.warm_start(build_model("cnn", narrower, 3, 5), source, arrays, "cnn", narrower)
    with pytest.raises(ValueError, match="differs from this run in class_names"):
        training.warm_start(model, source, arrays.without_classes(["dab"]), "cnn", TINY_CNN)
    fit(arrays, TINY_CNN, replace(TINY_TRAIN, epochs=1, init_from=str(source)), tmp_path / "b")
    meta = json.loads((tmp_path / "b" / "model" / "meta.json").read_text())
    assert meta["train_config"]["init_from"] == str(source)  # the run says where it started
    with pytest.raises(ValueError, match="holds no sasnn model"):
        fit(arrays, TINY_CNN, replace(TINY_TRAIN, init_from=str(tmp_path)), tmp_path / "c")


def test_a_class_can_be_left_out(arrays):
    fewer = arrays.without_classes(["cylinder"])
    assert fewer.class_names == ("sphere", "dab") and len(fewer) == len(arrays) - 24
    kept = arrays.form_factor != arrays.class_names.index("cylinder")
    np.testing.assert_array_equal(fewer.x, arrays.x[kept])
    names = [fewer.class_names[i] for i in fewer.form_factor]
    assert names == [arrays.class_names[i] for i in arrays.form_factor[kept]]
    with pytest.raises(ValueError, match="not classes of this dataset: cube"):
        arrays.without_classes(["cube"])


def test_one_epoch_lowers_the_loss(arrays):
    torch.manual_seed(0)
    config = replace(TINY_TRAIN, crop_probability=0.0)
    model = build_model("cnn", replace(TINY_CNN, dropout=0.0), 3, len(arrays.structure_factors))
    x = torch.from_numpy(arrays.x)
    ff, sf = torch.from_numpy(arrays.form_factor), torch.from_numpy(arrays.structure_factor)

    def loss() -> float:  # on the whole training set, batch statistics as in training
        model.train()
        with torch.no_grad():
            return float(training.loss_fn(*model(x), ff, sf))

    before = loss()
    optimizer = torch.optim.AdamW(model.parameters(), lr=config.lr)
    mean = training.train_one_epoch(
        model, arrays, optimizer, config, np.random.default_rng(0), torch.device("cpu")
    )
    assert np.isfinite(mean)
    assert loss() < 0.9 * before


def test_same_seed_same_weights_and_resume_equals_uninterrupted(arrays, tmp_path):
    fit(arrays, TINY_CNN, TINY_TRAIN, tmp_path / "a")
    fit(arrays, TINY_CNN, TINY_TRAIN, tmp_path / "b")
    a, b = weights(tmp_path / "a"), weights(tmp_path / "b")
    for name in a:
        torch.testing.assert_close(a[name], b[name], rtol=0, atol=0)

    class Killed(Exception):
        pass

    def kill_after_first_epoch(event):
        if event["event"] == "epoch" and event["epoch"] == 0:
            raise Killed  # after the epoch's checkpoint is written, like a SIGKILL then

    with pytest.raises(Killed):
        fit(arrays, TINY_CNN, TINY_TRAIN, tmp_path / "c", progress=kill_after_first_epoch)
    assert not (tmp_path / "c" / "model").exists() and (tmp_path / "c" / "last").is_dir()
    _, history = fit(arrays, TINY_CNN, TINY_TRAIN, tmp_path / "c")
    assert [row["epoch"] for row in history] == [0, 1, 2]
    c = weights(tmp_path / "c")
    for name in a:
        torch.testing.assert_close(a[name], c[name], rtol=0, atol=0)
    # a finished run is not trained again
    _, again = fit(arrays, TINY_CNN, TINY_TRAIN, tmp_path / "c")
    assert again == history
    # another seed gives other weights
    fit(arrays, TINY_CNN, replace(TINY_TRAIN, seed=1, epochs=1), tmp_path / "d")
    d = weights(tmp_path / "d")
    assert any(not torch.equal(a[n], d[n]) for n in a if a[n].dtype.is_floating_point)


def test_the_finished_model_is_calibrated_and_described(arrays, tmp_path):
    fit(arrays, TINY_CNN, replace(TINY_TRAIN, epochs=2), tmp_path / "run")
    meta = json.loads((tmp_path / "run" / "model" / "meta.json").read_text())
    assert meta["class_names"] == list(arrays.class_names)
    assert meta["preprocessing"]["version"] == 1 and len(meta["grid"]) == 256
    assert meta["dataset_sha256"] == arrays.manifest_sha256
    assert set(meta["temperatures"]) == {"form_factor", "structure_factor"}
    assert np.isfinite(meta["unsure"]["energy_threshold"])
    assert meta["pairs"][2] == [0]  # dab takes no structure factor
    assert meta["metrics"]["validation"]["n"] == 7
    history = json.loads((tmp_path / "run" / "history.json").read_text())
    assert len(history) == 2 and history[0]["curves_per_s"] > 0


def test_temperature_scaling_recovers_a_known_temperature():
    rng = np.random.default_rng(0)
    logits = 3 * rng.standard_normal((4000, 5))
    p = np.exp(logits / 2.0)
    p /= p.sum(1, keepdims=True)
    labels = np.array([rng.choice(5, p=row) for row in p])
    assert calibrate_temperature(logits, labels) == pytest.approx(2.0, rel=0.1)


def test_the_unsure_level_is_the_strictest_of_the_prior_sets(arrays):
    """Each prior set's level is the lowest top-3 confidence at which its unflagged curves
    are right 95 % of the time (brute force over every threshold here); the model's level is
    the strictest, so the harder set's curves left unflagged still meet the target."""
    rng = np.random.default_rng(3)
    n, k = 3000, 12
    labels = rng.integers(0, k, n)
    priors = np.where(np.arange(n) < n // 2, "narrow", "wide")
    signal = np.where(priors == "narrow", 4.0, 1.5)[:, None] * rng.random((n, 1))  # wide: less evidence
    logits = rng.standard_normal((n, k))
    logits[np.arange(n), labels] += 3 * signal[:, 0]
    val = replace(arrays.subset(np.zeros(n, int)), form_factor=labels, priors=priors)
    levels = training.confidence_levels(logits, 1.0, val, 0.95)
    p = np.exp(logits - logits.max(1, keepdims=True))
    p /= p.sum(1, keepdims=True)
    top3 = np.argsort(-p, axis=1)[:, :3]
    confidence = np.take_along_axis(p, top3, 1).sum(1)
    right = (top3 == labels[:, None]).any(1)
    for name in ("narrow", "wide"):
        group = priors == name
        meets = [t for t in confidence[group] if right[group & (confidence >= t)].mean() >= 0.95]
        assert levels["min_confidence_by_priors"][name] == pytest.approx(min(meets), rel=1e-9)
    by_priors = levels["min_confidence_by_priors"]
    assert by_priors["wide"] > by_priors["narrow"]
    assert levels["min_confidence"] == max(0.5, by_priors["wide"])


def test_run_folders_are_never_clobbered(arrays, tmp_path):
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "notes.txt").write_text("keep me")
    with pytest.raises(FileExistsError, match=r"not part of a sasnn run \(notes.txt\)"):
        fit(arrays, TINY_CNN, TINY_TRAIN, tmp_path / "mine")
    fit(arrays, TINY_CNN, replace(TINY_TRAIN, epochs=1), tmp_path / "run")
    with pytest.raises(FileExistsError, match=r"holds a different training run \(differs in: train_config\)"):
        fit(arrays, TINY_CNN, replace(TINY_TRAIN, epochs=2), tmp_path / "run")


def test_run_toml_overrides_and_refuses_unknown_keys(tmp_path):
    path = tmp_path / "run.toml"
    path.write_text(TINY_TOML)
    train, cnn = load_run_config(path, epochs=7)
    assert train.epochs == 7 and train.batch_size == 16 and cnn.channels == (8, 16)
    path.write_text("[train]\nepochz = 3\n")
    with pytest.raises(
        ValueError, match=r"unknown \[train\] key\(s\) epochz; valid: seed, epochs, batch_size"
    ):
        load_run_config(path)
    path.write_text("[trian]\nepochs = 3\n")
    with pytest.raises(ValueError, match=r"unknown or malformed table\(s\) trian; valid: \[train\], \[cnn\]"):
        load_run_config(path)
    with pytest.raises(ValueError, match="TrainConfig.val_fraction must be in"):
        load_run_config(None, val_fraction=1.5)


@pytest.mark.slow
def test_sigkill_then_rerun_completes_the_run(dataset_dir, tmp_path):
    config = tmp_path / "run.toml"
    config.write_text(TINY_TOML)
    run = tmp_path / "run"
    command = [
        sys.executable,
        "-m",
        "sasnn",
        "train",
        "--data",
        str(dataset_dir),
        "--out",
        str(run),
        "--epochs",
        "12",
        "--config",
        str(config),
    ]
    env = {**os.environ, "SAS_OPENCL": "none"}
    process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 120
    while (
        not (run / "last" / "meta.json").exists() and process.poll() is None and time.monotonic() < deadline
    ):
        time.sleep(0.01)
    os.kill(process.pid, signal.SIGKILL)
    process.wait()
    assert process.returncode == -signal.SIGKILL
    assert not (run / "model").exists(), "the run finished before it could be killed"
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    history = json.loads((run / "history.json").read_text())
    assert [row["epoch"] for row in history] == list(range(12))
    # the resumed run ends exactly where an uninterrupted one does
    train, cnn = load_run_config(config, epochs=12)
    fit(load_training_arrays(dataset_dir, default_grid()), cnn, train, tmp_path / "straight")
    a, b = weights(run), weights(tmp_path / "straight")
    for name in a:
        torch.testing.assert_close(a[name], b[name], rtol=0, atol=0)


def test_noise_augmentation_trains_on_the_gridded_uncertainties(dataset_dir, arrays):
    noisy = load_training_arrays(dataset_dir, default_grid(), with_sigma=True)
    assert noisy.log_sigma.shape == (72, 256) and noisy.log_sigma.dtype == np.float16
    np.testing.assert_array_equal(noisy.x, arrays.x)  # the inputs themselves do not change
    assert np.all((noisy.log_sigma > 0) == (noisy.x[:, 1] > 0))
    assert noisy.subset(np.arange(5)).log_sigma.shape == (5, 256)
    config = replace(TINY_TRAIN, noise_augment=1.0)
    torch.manual_seed(0)
    model = build_model("cnn", TINY_CNN, 3, len(arrays.structure_factors))
    optimizer = torch.optim.AdamW(model.parameters(), lr=config.lr)
    cpu = torch.device("cpu")
    loss = training.train_one_epoch(model, noisy, optimizer, config, np.random.default_rng(0), cpu)
    assert np.isfinite(loss)
    with pytest.raises(ValueError, match="noise_augment needs the curves' uncertainties"):
        training.train_one_epoch(model, arrays, optimizer, config, np.random.default_rng(0), cpu)
    with pytest.raises(ValueError, match=r"noise_augment must be in \[0, 3\]"):
        TrainConfig(noise_augment=-1)


def test_shift_augmentation_trains_and_is_bounded(arrays, tmp_path):
    config = replace(TINY_TRAIN, shift_augment=0.3, epochs=1)
    torch.manual_seed(0)
    model = build_model("cnn", TINY_CNN, 3, len(arrays.structure_factors))
    optimizer = torch.optim.AdamW(model.parameters(), lr=config.lr)
    loss = training.train_one_epoch(model, arrays, optimizer, config, np.random.default_rng(0),
                                    torch.device("cpu"))
    assert np.isfinite(loss)
    with pytest.raises(ValueError, match=r"shift_augment must be in \[0, 1\]"):
        TrainConfig(shift_augment=1.5)
    # a run without the shift keeps the spec it had before the option existed
    from sasnn.learn.runs import run_spec

    assert "shift_augment" not in run_spec(arrays, "cnn", TINY_CNN, TINY_TRAIN)["train_config"]
    assert run_spec(arrays, "cnn", TINY_CNN, config)["train_config"]["shift_augment"] == 0.3


def test_a_network_reading_sigma_trains_and_predicts_from_it(dataset_dir, arrays, tmp_path):
    from sasnn.identify.loading import load_predictor
    from sasnn.learn.preprocessing import channels_for

    sigma_cnn = replace(TINY_CNN, in_channels=3)
    with pytest.raises(ValueError, match="reads 3 input channels but the curves were prepared with 2"):
        fit(arrays, sigma_cnn, TINY_TRAIN, tmp_path / "mismatch")
    three = load_training_arrays(dataset_dir, default_grid(), with_sigma=True, channels=channels_for(3))
    assert three.x.shape == (72, 3, 256) and three.channels[2] == "log_sigma"
    np.testing.assert_array_equal(three.x[:, :2], arrays.x)  # the first two planes do not change
    covered = three.x[:, 1] > 0
    log_sigma = three.log_sigma.astype(np.float64)  # stored as float16, hence the tolerance
    encoded = np.log10(log_sigma.clip(1e-5)) + 2.5
    np.testing.assert_allclose(three.x[:, 2][covered], encoded[covered], atol=2e-3)
    fit(three, sigma_cnn, replace(TINY_TRAIN, noise_augment=1.0, epochs=1), tmp_path / "run")
    predictor = load_predictor(tmp_path / "run")
    assert predictor.channels == channels_for(3)
    assert predictor.meta["preprocessing"]["channels"][2] == "log_sigma"
    from sasnn.simulate.datasets import iter_shards

    curve = next(iter_shards(dataset_dir)).curve(0)
    x = predictor.prepare(curve)
    np.testing.assert_array_equal(x, three.x[0])  # prediction prepares a curve as training did
    noisier = predictor.prepare(replace(curve, sigma=10 * curve.sigma))
    np.testing.assert_allclose((noisier[2] - x[2])[x[1] > 0], 1.0, atol=1e-5)
    no_sigma = replace(curve, sigma=None)  # a curve made in code: the reader's fallback estimate
    (p,) = predictor.predict([no_sigma], top_k=1)
    assert not (p.reason or "").startswith("this network reads")
    # a checkpoint naming channels this sasnn cannot prepare is refused at load, naming it
    meta_path = tmp_path / "run" / "model" / "meta.json"
    meta = json.loads(meta_path.read_text())
    meta["preprocessing"]["channels"] = ["log_intensity", "mask", "bogus"]
    meta_path.write_text(json.dumps(meta))
    with pytest.raises(ValueError, match=r"model: unknown input channels"):
        load_predictor(tmp_path / "run")


def test_a_curve_with_no_positive_point_is_left_out_and_counted(tmp_path):
    import dataclasses

    from sasnn.simulate.shards import load_shard, read_manifest, save_shard, write_manifest

    folder = make_tiny_dataset(tmp_path / "data", per_class=4, seed=12)
    manifest = read_manifest(folder)
    record = manifest["shards"][0]
    shard = load_shard(folder / "shards" / record["file"])
    o = shard.offsets
    intensity = shard.intensity.copy()
    intensity[o[1]:o[2]] = -np.abs(intensity[o[1]:o[2]])  # curve 1 wholly below zero
    changed = dataclasses.replace(shard, intensity=intensity)
    record["sha256"] = save_shard(folder / "shards" / record["file"], changed)
    write_manifest(folder, manifest)
    arrays = load_training_arrays(folder, default_grid())
    assert arrays.skipped == 1 and len(arrays) == 11
    assert len(arrays.form_factor) == len(arrays.noise) == len(arrays.setup) == len(arrays.priors) == 11
    assert np.bincount(arrays.form_factor).tolist() == [3, 4, 4]
