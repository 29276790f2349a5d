"""Networks and checkpoints: shapes, configs, and loading that never unpickles."""

from __future__ import annotations

import json
import pickle
import subprocess
import sys
import textwrap

import numpy as np
import pytest
import torch

from sasnn.learn import networks as models
from sasnn.learn.networks import (
    CNNConfig,
    SASNetsConfig,
    build_model,
    config_from_dict,
    load_checkpoint,
    load_optimizer_state,
    save_checkpoint,
)

META = {
    "class_names": ["sphere", "cylinder", "dab"],
    "structure_factors": ["none", "hardsphere"],
    "grid": [0.1],
}


@pytest.mark.parametrize(
    ("kind", "config"),
    [
        ("cnn", CNNConfig()),
        ("cnn", CNNConfig(channels=(8, 16), kernel_sizes=(5, 3), hidden=16)),
        ("cnn", CNNConfig(channels=(8, 16, 16), kernel_sizes=(5, 3, 3), hidden=16, pooling="global")),
        ("sasnets", SASNetsConfig()),
    ],
)
def test_both_heads_have_the_right_shapes(kind, config):
    model = build_model(kind, config, 7, 5).eval()
    ff, sf = model(torch.randn(3, 2, 256))
    assert ff.shape == (3, 7) and sf.shape == (3, 5)
    maps = model.feature_maps(torch.randn(3, 2, 256))
    assert maps[0].shape[:2] == (3, model.first_layer.out_channels)


def test_sasnets_follows_the_published_layout():
    model = build_model("sasnets", SASNetsConfig(), 71, 5)
    convs = [m for m in model.modules() if isinstance(m, torch.nn.Conv1d)]
    assert [(c.in_channels, c.out_channels, c.kernel_size[0]) for c in convs] == [(1, 256, 6), (256, 128, 6)]
    assert any(isinstance(m, torch.nn.Tanh) for m in model.modules())
    # it sees only the log-intensity channel: the mask channel can't change its output
    x = torch.randn(2, 2, 256)
    y = x.clone()
    y[:, 1] = 0
    model.eval()
    torch.testing.assert_close(model(x)[0], model(y)[0])


def shifted_pair(shift: int) -> tuple[torch.Tensor, torch.Tensor]:
    """A curve-like input with its data in the middle of the grid, and the same data
    ``shift`` cells further along (as a particle 10**(shift / cells per decade) times
    smaller would give); the cells outside the data are empty, as masked cells are."""
    generator = torch.Generator().manual_seed(0)
    x = torch.zeros(1, 2, 256)
    x[0, 0, 64:160] = torch.randn(96, generator=generator)
    x[0, 1, 64:160] = 1.0
    return x, torch.roll(x, shift, dims=-1)


def test_global_pooling_reads_a_feature_wherever_it_sits_in_q():
    # A shift by a multiple of the total pooling stride (2**stages) keeps every pooled
    # cell's content; with the data away from the edges, mean and max over q are unchanged.
    torch.manual_seed(0)
    config = CNNConfig(channels=(8, 16, 16), kernel_sizes=(5, 3, 3), hidden=16, pooling="global")
    model = build_model("cnn", config, 7, 5).eval()
    x, shifted = shifted_pair(8 * 4)
    with torch.inference_mode():
        torch.testing.assert_close(model.embed(shifted), model.embed(x), rtol=1e-5, atol=1e-6)
        # the flattening network ties features to their position: the same shift changes it
        flat = build_model("cnn", CNNConfig(channels=(8, 16, 16), kernel_sizes=(5, 3, 3), hidden=16), 7, 5)
        flat.eval()
        assert not torch.allclose(flat.embed(shifted), flat.embed(x), rtol=1e-3, atol=1e-4)


def test_config_errors_name_the_problem():
    with pytest.raises(ValueError, match="kernel_sizes must be odd"):
        CNNConfig(kernel_sizes=(6, 5, 5, 3))
    with pytest.raises(ValueError, match="same, non-zero length"):
        CNNConfig(channels=(8, 16))
    with pytest.raises(ValueError, match="pooling must be one of flatten, global, got 'avg'"):
        CNNConfig(pooling="avg")
    with pytest.raises(
        ValueError, match=r"unknown \[cnn\] key\(s\) widht; valid: in_channels, n_q, channels"
    ):
        config_from_dict(CNNConfig, {"widht": 3}, where="[cnn]")
    with pytest.raises(ValueError, match="hidden must be int"):
        config_from_dict(CNNConfig, {"hidden": "big"})
    with pytest.raises(ValueError, match="unknown architecture 'resnet'; valid: cnn, sasnets"):
        build_model("resnet", {}, 3, 2)


def trained_pair(tmp_path):
    torch.manual_seed(0)
    model = build_model("cnn", CNNConfig(channels=(8, 16), kernel_sizes=(5, 3), hidden=16), 3, 2)
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-2)
    for _ in range(2):
        ff, sf = model(torch.randn(8, 2, 256))
        loss = ff.logsumexp(1).mean() + sf.logsumexp(1).mean()
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    model.eval()
    save_checkpoint(tmp_path / "ckpt", model, META, optimizer)
    return model, optimizer


def test_checkpoint_round_trip_never_unpickles(tmp_path, monkeypatch):
    model, optimizer = trained_pair(tmp_path)

    def refuse(*args, **kwargs):
        raise AssertionError("a checkpoint must load without pickle")

    for module, name in ((pickle, "load"), (pickle, "loads"), (pickle, "Unpickler"), (torch, "load")):
        monkeypatch.setattr(module, name, refuse)
    loaded, meta = load_checkpoint(tmp_path / "ckpt")
    assert meta["class_names"] == META["class_names"] and meta["architecture"] == "cnn"
    assert meta["versions"]["torch"] == torch.__version__
    x = torch.randn(4, 2, 256)
    with torch.no_grad():
        for a, b in zip(model(x), loaded(x), strict=True):
            torch.testing.assert_close(a, b)
    fresh = torch.optim.AdamW(loaded.parameters(), lr=1.0)
    load_optimizer_state(tmp_path / "ckpt", fresh)
    before, after = optimizer.state_dict(), fresh.state_dict()
    assert before["param_groups"] == after["param_groups"]
    for index, state in before["state"].items():
        for name, value in state.items():
            torch.testing.assert_close(after["state"][index][name], value)


def test_checkpoint_round_trip_in_a_fresh_process(tmp_path):
    model, _ = trained_pair(tmp_path)
    x = np.random.default_rng(0).standard_normal((4, 2, 256)).astype(np.float32)
    np.save(tmp_path / "x.npy", x)
    script = textwrap.dedent(f"""
        import json, pickle, sys
        import numpy as np, torch
        def refuse(*a, **k):
            raise SystemExit("unpickling attempted")
        pickle.load = pickle.loads = torch.load = refuse
        from safetensors.torch import load_file
        load_file({str(tmp_path / "ckpt" / "model.safetensors")!r})  # plain safetensors reads it too
        from sasnn.learn.networks import load_checkpoint
        model, meta = load_checkpoint({str(tmp_path / "ckpt")!r})
        with torch.no_grad():
            ff, sf = model(torch.from_numpy(np.load({str(tmp_path / "x.npy")!r})))
        print(json.dumps({{"ff": ff.tolist(), "sf": sf.tolist(), "classes": meta["class_names"]}}))
    """)
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    with torch.no_grad():
        ff, sf = model(torch.from_numpy(x))
    np.testing.assert_allclose(result["ff"], ff.numpy(), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(result["sf"], sf.numpy(), rtol=1e-5, atol=1e-6)
    assert result["classes"] == META["class_names"]


def test_no_pickles_are_written(tmp_path):
    trained_pair(tmp_path)
    names = sorted(p.name for p in (tmp_path / "ckpt").iterdir())
    assert names == ["meta.json", "model.safetensors", "optimizer.safetensors"]
    for path in (tmp_path / "ckpt").iterdir():
        assert not path.read_bytes().startswith(b"\x80")  # pickle protocol 2+ header


def test_a_checkpoint_is_replaced_atomically(tmp_path):
    model, _ = trained_pair(tmp_path)
    save_checkpoint(tmp_path / "ckpt", model, {**META, "epoch": 2})
    assert models.read_meta(tmp_path / "ckpt")["epoch"] == 2
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ckpt"]  # no .tmp/.old left behind
    # a kill between the two renames leaves the old copy, which is still found
    (tmp_path / "ckpt").rename(tmp_path / "ckpt.old")
    assert models.existing_checkpoint(tmp_path / "ckpt") == tmp_path / "ckpt.old"


def test_loading_something_else_is_a_clear_error(tmp_path):
    with pytest.raises(FileNotFoundError, match="is not a sasnn checkpoint: it has no meta.json"):
        load_checkpoint(tmp_path)
    (tmp_path / "meta.json").write_text('{"format": "other"}')
    with pytest.raises(ValueError, match="is not a sasnn checkpoint description"):
        load_checkpoint(tmp_path)
