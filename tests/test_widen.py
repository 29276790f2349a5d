"""A trained network widened (Net2WiderNet) computes what it computed, and trains on."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
import torch
from _identify_data import make_tiny_dataset

from sasnn.learn import training
from sasnn.learn.networks import CNNConfig, IdentifyCNN, load_checkpoint
from sasnn.learn.preprocessing import default_grid
from sasnn.learn.training import TrainConfig, fit, load_training_arrays
from sasnn.learn.widen import can_widen, widen

SMALL = CNNConfig(channels=(6, 10, 12), kernel_sizes=(5, 3, 3), hidden=16, pooling="global")


def trained_like(config: CNNConfig, seed: int) -> IdentifyCNN:
    """A network with random weights and batch-norm statistics, as a trained one has."""
    torch.manual_seed(seed)
    net = IdentifyCNN(config, 7, 3)
    with torch.no_grad():
        for module in net.modules():
            if isinstance(module, torch.nn.BatchNorm1d):
                module.running_mean.uniform_(-1, 1)
                module.running_var.uniform_(0.5, 2)
                module.weight.uniform_(0.5, 1.5)
                module.bias.uniform_(-0.5, 0.5)
    return net.eval()


@pytest.mark.parametrize("pooling", ["global", "flatten"])
def test_the_widened_network_gives_the_same_logits(pooling):
    source = trained_like(replace(SMALL, pooling=pooling), 0)
    target = replace(source.config, channels=(9, 10, 20), hidden=40)
    wide = widen(source, target, seed=1).eval()
    assert sum(p.numel() for p in wide.parameters()) > 1.5 * sum(p.numel() for p in source.parameters())
    x = torch.randn(32, 2, 256)
    with torch.no_grad():
        for a, b in zip(source(x), wide(x), strict=True):
            torch.testing.assert_close(b, a, rtol=1e-5, atol=1e-5)


def test_the_copies_grow_apart_in_training():
    """An even split of a copied channel's outgoing weights would give its copies equal
    gradients for ever; the random shares do not."""
    source = trained_like(SMALL, 0)
    wide = widen(source, replace(SMALL, channels=(12, 10, 12)), seed=1).train()
    out = wide(torch.randn(16, 2, 256))
    (out[0].logsumexp(1).sum() + out[1].sum()).backward()
    grad = wide.stages[0][0].weight.grad  # channels 6.. copy channels 0..5
    copied = [(j, int(torch.nonzero((wide.stages[0][0].weight[:6] == wide.stages[0][0].weight[j]).all(-1)
                                    .all(-1))[0])) for j in range(6, 12)]
    assert all(not torch.allclose(grad[j], grad[c]) for j, c in copied)


def test_only_a_wider_network_of_the_same_shape_is_accepted():
    assert can_widen(SMALL, replace(SMALL, channels=(6, 12, 12))) is None
    assert "kernel_sizes" in can_widen(SMALL, replace(SMALL, kernel_sizes=(3, 3, 3)))
    assert "must grow" in can_widen(SMALL, replace(SMALL, channels=(4, 10, 12)))
    shallower = CNNConfig(channels=(6, 10), kernel_sizes=(5, 3), hidden=16, pooling="global")
    assert can_widen(SMALL, shallower).startswith(
        "only channels and hidden may change, not the number of stages, kernel_sizes")
    with pytest.raises(ValueError, match="cannot widen the network: every width must grow"):
        widen(trained_like(SMALL, 0), replace(SMALL, hidden=8), seed=0)


def test_a_run_warm_started_from_a_narrower_network_starts_where_it_stopped(tmp_path):
    arrays = load_training_arrays(make_tiny_dataset(tmp_path / "data"), default_grid())
    small = CNNConfig(channels=(8, 16), kernel_sizes=(5, 3), hidden=32, pooling="global")
    config = TrainConfig(batch_size=16, lr=5e-3, patience=50, crop_min_cells=32, epochs=1, num_threads=1)
    fit(arrays, small, config, tmp_path / "a")
    source, _ = load_checkpoint(tmp_path / "a" / "model")
    bigger = replace(small, channels=(12, 24), hidden=48)
    model = training.build_model("cnn", bigger, len(arrays.class_names), len(arrays.structure_factors))
    training.warm_start(model, tmp_path / "a" / "model", arrays, "cnn", bigger, seed=0)
    x = torch.from_numpy(arrays.x[:20])
    with torch.no_grad():
        torch.testing.assert_close(model.eval()(x)[0], source.eval()(x)[0], rtol=1e-5, atol=1e-5)
    narrower = replace(small, hidden=16)
    with pytest.raises(ValueError, match="not a narrower one: every width must grow"):
        fit(arrays, narrower, replace(config, init_from=str(tmp_path / "a" / "model")), tmp_path / "b")
    assert not (tmp_path / "b").exists()  # a refused start leaves no run folder to block the next
    fit(arrays, bigger, replace(config, init_from=str(tmp_path / "a" / "model")), tmp_path / "b")
    trained, meta = load_checkpoint(tmp_path / "b" / "model")
    assert meta["model_config"]["channels"] == [12, 24] and np.isfinite(meta["metrics"]["validation"]["ece"])
