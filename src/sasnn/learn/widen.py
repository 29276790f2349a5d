"""A trained :class:`~sasnn.learn.networks.IdentifyCNN` made wider without changing what it computes.

Retraining a wider network from scratch costs more than a session on a 2-core CPU. Net2WiderNet
(Chen, Goodfellow and Shlens 2016, "Net2Net") instead copies the trained network into the
wider one so that it starts from the same function and trains on with the extra capacity:

* each new channel of a conv stage (or unit of the dense layer) copies an existing one:
  its incoming weights and its batch-norm parameters and running statistics, so it computes
  the same activation (ReLU, max pooling and the global mean / max act per channel);
* the next layer's weights that read a copied channel are split among the copies. The
  split is not even: random shares that sum to 1. A sum of equal activations is unchanged,
  and the copies receive different gradients, so they grow apart in training (an even
  split would keep them identical for ever).

The widened network gives the same logits as the trained one in evaluation mode (up to
float rounding); only the channel widths and the dense width may grow; depth, kernels,
pooling and input stay.
"""

from __future__ import annotations

from dataclasses import asdict

import numpy as np
import torch

from sasnn.learn.networks import CNNConfig, IdentifyCNN

#: Each copy's share of a split weight is drawn from this range before normalising.
SHARE_RANGE = (0.5, 1.5)


def can_widen(source: CNNConfig, target: CNNConfig) -> str | None:
    """None when ``target`` is ``source`` made wider; else what keeps it from being so."""
    widths = ("channels", "hidden")
    theirs, ours = asdict(source), asdict(target)
    differ = [k for k in theirs if k not in widths and theirs[k] != ours[k]]
    if len(source.channels) != len(target.channels):
        differ.insert(0, "the number of stages")
    if differ:
        return f"only channels and hidden may change, not {', '.join(differ)}"
    narrower = any(t < s for s, t in zip(source.channels, target.channels, strict=True))
    if narrower or target.hidden < source.hidden:
        return (f"every width must grow or stay: channels {list(source.channels)} → {list(target.channels)}, "
                f"hidden {source.hidden} → {target.hidden}")
    return None


def _mapping(old: int, new: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Which old unit each new unit copies (the first ``old`` copy themselves), and each new
    unit's share of its old unit's outgoing weights (the shares of one old unit sum to 1)."""
    source = np.concatenate([np.arange(old), rng.integers(0, old, new - old)])
    share = rng.uniform(*SHARE_RANGE, new)
    total = np.bincount(source, weights=share, minlength=old)
    return source, share / total[source]


def widen(trained: IdentifyCNN, config: CNNConfig, seed: int) -> IdentifyCNN:
    """A new :class:`IdentifyCNN` of architecture ``config`` that computes what ``trained``
    computes (see the module docstring); ValueError when ``config`` is not a widening."""
    why = can_widen(trained.config, config)
    if why:
        raise ValueError(f"cannot widen the network: {why}")
    rng = np.random.default_rng([seed, 7])
    n_classes = trained.form_factor.out_features
    n_sf = trained.structure_factor.out_features
    wide = IdentifyCNN(config, n_classes, n_sf)
    old, new = trained.state_dict(), wide.state_dict()
    # input channels of the first stage are the curve's planes: copied one to one
    into, into_share = np.arange(config.in_channels), np.ones(config.in_channels)
    for i, width in enumerate(config.channels):
        out, share = _mapping(trained.config.channels[i], width, rng)
        weight = old[f"stages.{i}.0.weight"][out][:, into] * torch.as_tensor(into_share, dtype=torch.float32)[
            None, :, None]
        new[f"stages.{i}.0.weight"] = weight
        for name in ("weight", "bias", "running_mean", "running_var"):
            new[f"stages.{i}.1.{name}"] = old[f"stages.{i}.1.{name}"][out]
        new[f"stages.{i}.1.num_batches_tracked"] = old[f"stages.{i}.1.num_batches_tracked"]
        into, into_share = out, share
    last = trained.config.channels[-1]
    if config.pooling == "global":  # the dense layer reads [mean of each channel, max of each channel]
        into, into_share = np.concatenate([into, last + into]), np.concatenate([into_share, into_share])
    else:  # flattened: channel-major cells of the last map
        cells = config.n_q // 2 ** len(config.channels)
        into = (into[:, None] * cells + np.arange(cells)[None, :]).ravel()
        into_share = np.repeat(into_share, cells)
    hidden, hidden_share = _mapping(trained.config.hidden, config.hidden, rng)
    new["dense.1.weight"] = old["dense.1.weight"][hidden][:, into] * torch.as_tensor(
        into_share, dtype=torch.float32)[None, :]
    new["dense.1.bias"] = old["dense.1.bias"][hidden]
    for head in ("form_factor", "structure_factor"):
        new[f"{head}.weight"] = old[f"{head}.weight"][:, hidden] * torch.as_tensor(
            hidden_share, dtype=torch.float32)[None, :]
        new[f"{head}.bias"] = old[f"{head}.bias"].clone()
    wide.load_state_dict(new)
    return wide


__all__ = ["can_widen", "widen"]
