"""The networks, and checkpoints that describe themselves.

* :class:`IdentifyCNN` — our 1D CNN: a few conv stages (conv → batch norm → ReLU →
  max-pool 2), a dense layer, and two heads: form factor and structure factor. The
  dense layer reads either the flattened feature maps (``pooling = "flatten"``, which
  keeps *where* in q a feature sits) or their mean and maximum over q (``"global"``,
  which does not: a particle twice as large shifts log q by a constant, so a feature
  learnt at one q serves at every q).
* :class:`SASNets` — a re-implementation of the SASNets network (scattering/sasnets,
  ``oned_convnet``), the baseline.

Both map a prepared input ``(B, C, n_q)`` (:mod:`sasnn.learn.preprocessing`) to a pair of
logits ``((B, n_classes), (B, n_structure_factors))``.

A checkpoint is a folder holding ``model.safetensors`` (weights), ``meta.json``
(class names in logit order, structure-factor names, the Q grid, the preprocessing
version, the architecture and its config, training config, the dataset manifest's
sha256, metrics, temperatures, versions) and, for resuming, ``optimizer.safetensors``.
Nothing is pickled, so loading a checkpoint can't run code.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Callable
from dataclasses import asdict, dataclass, fields
from pathlib import Path

import torch
from torch import nn

from sasnn.io.jsonfile import read_described
from sasnn.learn.preprocessing import channels_for

CHECKPOINT_FORMAT = "sasnn-checkpoint"
WEIGHTS = "model.safetensors"
OPTIMIZER = "optimizer.safetensors"
META = "meta.json"


POOLINGS = ("flatten", "global")


class GlobalPool(nn.Module):
    """(B, C, L) → (B, 2C): the mean and the maximum of each channel over q."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.cat([x.mean(dim=-1), x.amax(dim=-1)], dim=1)


@dataclass(frozen=True)
class CNNConfig:
    """Architecture of :class:`IdentifyCNN`. Sized for a 2-core CPU: see
    bench/experiments/bench_cnn_sizes.py."""

    in_channels: int = 2  # centred log10 I and the coverage mask; 3 adds log σ (preprocessing.channels_for)
    n_q: int = 256  # grid points; must be divisible by 2 ** len(channels)
    channels: tuple[int, ...] = (32, 48, 64, 96)  # output channels of each conv stage; each halves n_q
    kernel_sizes: tuple[int, ...] = (7, 5, 5, 3)  # odd: "same" padding keeps every cell's position
    hidden: int = 256  # width of the dense layer the two heads share
    dropout: float = 0.2  # before the heads (training only)
    pooling: str = "flatten"  # what the dense layer reads: "flatten" (every cell) or "global" (mean, max)

    def __post_init__(self) -> None:
        object.__setattr__(self, "channels", tuple(int(c) for c in self.channels))
        object.__setattr__(self, "kernel_sizes", tuple(int(k) for k in self.kernel_sizes))
        channels_for(self.in_channels)  # raises for a count no preprocessing makes
        if len(self.channels) != len(self.kernel_sizes) or not self.channels:
            raise ValueError(
                f"CNNConfig: channels {self.channels} and kernel_sizes {self.kernel_sizes} "
                "need the same, non-zero length (one entry per conv stage)"
            )
        if any(k % 2 == 0 or k < 1 for k in self.kernel_sizes):
            raise ValueError(f"CNNConfig.kernel_sizes must be odd, got {self.kernel_sizes}")
        if self.n_q % 2 ** len(self.channels):
            raise ValueError(f"CNNConfig.n_q={self.n_q} is not divisible by 2**{len(self.channels)}")
        if not 0 <= self.dropout < 1:
            raise ValueError(f"CNNConfig.dropout must be in [0, 1), got {self.dropout}")
        if self.pooling not in POOLINGS:
            raise ValueError(f"CNNConfig.pooling must be one of {', '.join(POOLINGS)}, got {self.pooling!r}")


class IdentifyCNN(nn.Module):
    """Form factor and structure factor from a prepared curve."""

    kind = "cnn"

    def __init__(self, config: CNNConfig, n_classes: int, n_structure_factors: int):
        super().__init__()
        self.config = config
        stages = []
        c_in = config.in_channels
        for c_out, k in zip(config.channels, config.kernel_sizes, strict=True):
            stages.append(
                nn.Sequential(
                    nn.Conv1d(c_in, c_out, k, padding=k // 2, bias=False),
                    nn.BatchNorm1d(c_out),
                    nn.ReLU(),
                    nn.MaxPool1d(2),
                )
            )
            c_in = c_out
        self.stages = nn.ModuleList(stages)
        if config.pooling == "global":
            reduce, width = GlobalPool(), 2 * c_in
        else:
            reduce, width = nn.Flatten(), c_in * (config.n_q // 2 ** len(stages))
        self.dense = nn.Sequential(reduce, nn.Linear(width, config.hidden), nn.ReLU())
        self.dropout = nn.Dropout(config.dropout)
        self.form_factor = nn.Linear(config.hidden, n_classes)
        self.structure_factor = nn.Linear(config.hidden, n_structure_factors)

    @property
    def first_layer(self) -> nn.Conv1d:
        return self.stages[0][0]

    def feature_maps(self, x: torch.Tensor) -> list[torch.Tensor]:
        """The output of every conv stage: [(B, channels[i], n_q / 2**(i+1))]."""
        maps = []
        for stage in self.stages:
            x = stage(x)
            maps.append(x)
        return maps

    def embed(self, x: torch.Tensor) -> torch.Tensor:
        """The shared feature vector both heads read, (B, hidden)."""
        return self.dense(self.feature_maps(x)[-1])  # from (B, channels[-1], n_q / 2**stages)

    def embed_with_input(self, x: torch.Tensor) -> torch.Tensor:
        """The dense layer's input (the pooled or flattened last maps) next to its output,
        the shared feature vector: (B, width + hidden). For the novelty density."""
        reduced = self.dense[0](self.feature_maps(x)[-1])
        return torch.cat([reduced, self.dense[1:](reduced)], dim=1)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        h = self.dropout(self.embed(x))  # (B, hidden)
        return self.form_factor(h), self.structure_factor(h)  # (B, n_classes), (B, n_sf)


@dataclass(frozen=True)
class SASNetsConfig:
    """The SASNets network (scattering/sasnets ``sasnet.py``, ``oned_convnet``), as published.

    Its input is log10 I minus its mean on a fixed grid: our channel 0, without the
    mask. The filter counts follow the original's rule (n_q and n_q // 2 filters,
    a tanh layer of n_q // 4) and its dropout rates.
    """

    n_q: int = 256
    kernel_size: int = 6
    pool: int = 4
    dropout: tuple[float, float, float] = (0.17676, 0.20782, 0.20582)

    def __post_init__(self) -> None:
        object.__setattr__(self, "dropout", tuple(float(d) for d in self.dropout))


class SASNets(nn.Module):
    """Conv(n_q, k6) → pool 4 → dropout → Conv(n_q/2, k6) → pool 4 → dropout → tanh dense
    (n_q/4) → dropout → softmax. Valid convolutions, ReLU, as in the Keras original.

    The one addition: a structure-factor head beside the form-factor head, on the
    same tanh layer, so the same training loop trains it and both labels are scored.
    """

    kind = "sasnets"

    def __init__(self, config: SASNetsConfig, n_classes: int, n_structure_factors: int):
        super().__init__()
        self.config = config
        n, k, p = config.n_q, config.kernel_size, config.pool
        length = ((n - k + 1) // p - k + 1) // p
        d1, d2, d3 = config.dropout
        self.features = nn.Sequential(
            nn.Conv1d(1, n, k),
            nn.ReLU(),
            nn.MaxPool1d(p),
            nn.Dropout(d1),
            nn.Conv1d(n, n // 2, k),
            nn.ReLU(),
            nn.MaxPool1d(p),
            nn.Dropout(d2),
        )
        self.dense = nn.Sequential(
            nn.Flatten(), nn.Linear(n // 2 * length, n // 4), nn.Tanh(), nn.Dropout(d3)
        )
        self.form_factor = nn.Linear(n // 4, n_classes)
        self.structure_factor = nn.Linear(n // 4, n_structure_factors)

    @property
    def first_layer(self) -> nn.Conv1d:
        return self.features[0]

    def feature_maps(self, x: torch.Tensor) -> list[torch.Tensor]:
        h = self.features[:3](x[:, :1])
        return [h, self.features[3:7](h)]

    def embed(self, x: torch.Tensor) -> torch.Tensor:
        """The shared tanh layer both heads read, (B, n_q/4)."""
        return self.dense(self.features(x[:, :1]))  # via (B, n_q/2, length)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        h = self.embed(x)  # (B, n_q/4)
        return self.form_factor(h), self.structure_factor(h)


ARCHITECTURES: dict[str, tuple[type, type]] = {
    IdentifyCNN.kind: (IdentifyCNN, CNNConfig),
    SASNets.kind: (SASNets, SASNetsConfig),
}


def build_model(kind: str, config: dict | object, n_classes: int, n_structure_factors: int) -> nn.Module:
    """A fresh network of architecture ``kind`` ("cnn" or "sasnets") from its config."""
    if kind not in ARCHITECTURES:
        raise ValueError(f"unknown architecture {kind!r}; valid: {', '.join(ARCHITECTURES)}")
    model_class, config_class = ARCHITECTURES[kind]
    if isinstance(config, dict):
        config = config_from_dict(config_class, config)
    return model_class(config, n_classes, n_structure_factors)


def kind_of(config) -> str:
    """The architecture name ("cnn", "sasnets") of a config dataclass."""
    for kind, (_, config_class) in ARCHITECTURES.items():
        if isinstance(config, config_class):
            return kind
    raise TypeError(f"{type(config).__name__} is not a model config; expected CNNConfig or SASNetsConfig")


def logits_in_batches(
    model: nn.Module, x, *, batch_size: int = 256, device: torch.device | str = "cpu"
) -> tuple:
    """Both heads' logits for prepared inputs ``x`` (N, C, n_q) float32: two float32 arrays
    (N, n_classes) and (N, n_structure_factors). Eval mode, no gradients.

    Batches of 256 keep the activations in cache: on CPU they run ~2x faster per
    curve than batches of 1024 or more."""
    import numpy as np

    model.eval()
    ff, sf = [], []
    with torch.inference_mode():
        for start in range(0, len(x), batch_size):
            a, b = model(torch.as_tensor(np.asarray(x[start : start + batch_size])).to(device))
            ff.append(a.float().cpu().numpy())
            sf.append(b.float().cpu().numpy())
    n_ff, n_sf = model.form_factor.out_features, model.structure_factor.out_features
    empty = np.zeros((0, n_ff), np.float32), np.zeros((0, n_sf), np.float32)
    return (np.concatenate(ff), np.concatenate(sf)) if ff else empty


def config_from_dict(config_class: type, values: dict, *, where: str = ""):
    """A config dataclass from plain values; unknown keys are an error listing the valid ones."""
    names = [f.name for f in fields(config_class)]
    unknown = sorted(set(values) - set(names))
    if unknown:
        raise ValueError(
            f"unknown {where or config_class.__name__} key(s) {', '.join(unknown)}; valid: {', '.join(names)}"
        )
    defaults = {f.name: f.default for f in fields(config_class)}
    clean = {}
    for key, value in values.items():
        expected = type(defaults[key])
        if isinstance(value, list) and expected is tuple:
            value = tuple(value)
        elif isinstance(value, int) and not isinstance(value, bool) and expected is float:
            value = float(value)
        if not isinstance(value, expected) or isinstance(value, bool) != (expected is bool):
            raise ValueError(
                f"{where or config_class.__name__} {key} must be {expected.__name__} "
                f"(like {defaults[key]!r}), got {value!r}"
            )
        clean[key] = value
    return config_class(**clean)


def count_parameters(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


# --------------------------------------------------------------------- checkpoints
def _write_atomically(target: Path, write: Callable[[Path], None]) -> None:
    """Fill ``target`` via ``write(tmp_dir)``, then swap it in: a kill at any moment
    leaves either the old checkpoint or the new one (at ``target`` or ``target.old``)."""
    tmp = target.with_name(target.name + ".tmp")
    old = target.with_name(target.name + ".old")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    write(tmp)
    for path in tmp.iterdir():
        with open(path, "rb") as f:
            os.fsync(f.fileno())
    if target.exists():
        shutil.rmtree(old, ignore_errors=True)
        os.replace(target, old)
    os.replace(tmp, target)
    shutil.rmtree(old, ignore_errors=True)


def existing_checkpoint(target: Path) -> Path | None:
    """``target``, or the copy a kill mid-swap left at ``target.old``, or None."""
    for path in (target, target.with_name(target.name + ".old")):
        if (path / META).is_file() and (path / WEIGHTS).is_file():
            return path
    return None


def _versions() -> dict:
    import numpy
    import safetensors

    from sasnn import __version__

    return {
        "sasnn": __version__,
        "torch": torch.__version__,
        "numpy": numpy.__version__,
        "safetensors": safetensors.__version__,
    }


def save_checkpoint(
    directory: Path,
    model: nn.Module,
    meta: dict,
    optimizer=None,
    also_write: Callable[[Path], None] | None = None,
) -> None:
    """Write ``model`` (and ``optimizer``'s state, for resuming) with ``meta`` to ``directory``.

    ``meta`` must hold ``class_names`` and ``structure_factors`` (logit order); the
    architecture, its config and the library versions are added here. ``also_write``
    adds more files to the folder before it replaces the old one (e.g. the novelty density).
    """
    from safetensors.torch import save_file

    for key in ("class_names", "structure_factors"):
        if key not in meta:
            raise ValueError(f"checkpoint meta needs {key!r}")
    full = {
        **meta,
        "format": CHECKPOINT_FORMAT,
        "architecture": model.kind,
        "model_config": asdict(model.config),
        "versions": _versions(),
    }
    weights = {k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()}

    def write(tmp: Path) -> None:
        save_file(weights, str(tmp / WEIGHTS))
        if optimizer is not None:
            tensors, groups = _flatten_optimizer(optimizer.state_dict())
            save_file(tensors, str(tmp / OPTIMIZER), metadata={"param_groups": json.dumps(groups)})
        (tmp / META).write_text(json.dumps(full, indent=1, default=_json_default) + "\n")
        if also_write is not None:
            also_write(tmp)

    _write_atomically(Path(directory), write)


def _json_default(value):
    if hasattr(value, "tolist"):
        return value.tolist()
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


def read_meta(directory: Path) -> dict:
    return read_described(directory, META, CHECKPOINT_FORMAT, "checkpoint", "checkpoint description")


def load_checkpoint(directory: Path) -> tuple[nn.Module, dict]:
    """The network (in eval mode) and its meta, from safetensors + JSON only (no pickle)."""
    from safetensors import SafetensorError
    from safetensors.torch import load_file

    directory = Path(directory)
    meta = read_meta(directory)
    model = build_model(
        meta["architecture"], meta["model_config"], len(meta["class_names"]), len(meta["structure_factors"])
    )
    weights_path = directory / WEIGHTS
    if not weights_path.is_file():
        raise FileNotFoundError(f"{directory} is not a complete checkpoint: it has no {WEIGHTS}")
    try:
        weights = load_file(str(weights_path))
    except SafetensorError as exc:
        raise ValueError(f"{weights_path} is damaged ({exc}); reinstall or retrain the model") from None
    model.load_state_dict(weights, strict=True)
    model.eval()
    return model, meta


def load_optimizer_state(directory: Path, optimizer) -> None:
    """Restore ``optimizer`` from ``directory/optimizer.safetensors`` (written by save_checkpoint)."""
    from safetensors import safe_open

    path = Path(directory) / OPTIMIZER
    with safe_open(str(path), framework="pt") as f:
        groups = json.loads(f.metadata()["param_groups"])
        tensors = {key: f.get_tensor(key) for key in f.keys()}  # noqa: SIM118 (safe_open has no __iter__)
    state: dict[int, dict] = {}
    for key, tensor in tensors.items():
        _, index, name = key.split(".", 2)
        state.setdefault(int(index), {})[name] = tensor
    for group in groups:
        if "betas" in group:
            group["betas"] = tuple(group["betas"])
    optimizer.load_state_dict({"state": state, "param_groups": groups})


def _flatten_optimizer(state_dict: dict) -> tuple[dict[str, torch.Tensor], list[dict]]:
    """Optimizer state as flat tensors ``state.<param index>.<name>`` plus JSON param groups."""
    tensors = {}
    for index, values in state_dict["state"].items():
        for name, value in values.items():
            tensors[f"state.{index}.{name}"] = torch.as_tensor(value).detach().cpu().contiguous()
    return tensors, state_dict["param_groups"]


__all__ = [
    "CNNConfig",
    "IdentifyCNN",
    "SASNets",
    "SASNetsConfig",
    "build_model",
    "config_from_dict",
    "count_parameters",
    "existing_checkpoint",
    "kind_of",
    "logits_in_batches",
    "load_checkpoint",
    "load_optimizer_state",
    "read_meta",
    "save_checkpoint",
]
