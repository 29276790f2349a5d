"""Training, as a visible loop: :func:`train_one_epoch`, :func:`evaluate`, :func:`fit`.

A run lives in one folder, RUN_DIR::

    RUN_DIR/config.json     what is being trained on what (the run's identity)
    RUN_DIR/history.json    one row per finished epoch
    RUN_DIR/last/           checkpoint after the latest epoch, with optimizer state (resume point)
    RUN_DIR/best/           checkpoint with the lowest validation loss so far
    RUN_DIR/model/          the result: best weights + calibration temperatures + "unsure" threshold

Every random draw of epoch ``e`` descends from ``(seed, e)``, and checkpoints are
written atomically after each epoch, so a run killed even by SIGKILL resumes from
its last epoch and ends with the same weights as an uninterrupted run.
"""

from __future__ import annotations

import functools
import json
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import numpy as np
import torch
from torch import nn

from sasnn.learn import evaluation, preprocessing
from sasnn.learn.networks import (
    build_model,
    existing_checkpoint,
    kind_of,
    load_checkpoint,
    load_optimizer_state,
    logits_in_batches,
    read_meta,
    save_checkpoint,
)
from sasnn.learn.novelty import FeatureDensity, features, layer_for
from sasnn.learn.runs import check_run_dir, open_run_dir, read_json, run_spec, write_json

DENSITY_CURVES = 60_000  # training curves the novelty density is fitted on


@dataclass(frozen=True)
class TrainConfig:
    """How to train. Every field can be set in the ``[train]`` table of a run.toml."""

    seed: int = 0  # split, initial weights, shuffling, crops and dropout all descend from it
    epochs: int = 40  # upper bound; early stopping usually ends sooner
    batch_size: int = 256
    lr: float = 2e-3  # AdamW peak learning rate, cosine-decayed to 2 % of it at `epochs`
    weight_decay: float = 1e-4
    patience: int = 5  # epochs without a lower validation loss before stopping
    crop_probability: float = 0.3  # share of training curves cut to a random Q window each epoch
    crop_min_cells: int = 48  # narrowest window kept: 0.6 decades of q on the default grid
    noise_augment: float = 0.0  # > 0: fresh noise of up to this many σ on each curve each epoch
    # > 0: each curve each epoch moves by up to this many decades in log q (a new size of
    # the same class; preprocessing.random_shift), before the crop
    shift_augment: float = 0.0
    val_fraction: float = 0.1  # held out for early stopping, calibration and the "unsure" threshold
    sf_loss_weight: float = 1.0  # loss = CE(form factor) + this * CE(structure factor)
    unsure_rate: float = 0.05  # share of validation curves the out-of-distribution test flags
    # top-3 accuracy the predictions not flagged "unsure" must reach on the validation curves
    # of every prior set in the data: it sets the confidence under which a prediction is unsure
    unsure_top3: float = 0.95
    time_budget_s: float = 0.0  # stop after the epoch that crosses this much training time (0: none)
    num_threads: int = 2  # torch threads: the machine's 2 cores (1 is faster if another job runs)
    device: str = "auto"  # "auto" (CUDA if available, else CPU), "cpu", "cuda", ...
    # a model folder whose weights start the run (a warm start, e.g. from the shipped
    # network); "" starts from random weights. Its architecture, classes, structure
    # factors, grid and input channels must be this run's.
    init_from: str = ""

    def __post_init__(self) -> None:
        positive = ("epochs", "batch_size", "lr", "patience", "crop_min_cells")
        for name in positive:
            if getattr(self, name) <= 0:
                raise ValueError(f"TrainConfig.{name} must be positive, got {getattr(self, name)}")
        if not 0 <= self.noise_augment <= 3:
            raise ValueError(f"TrainConfig.noise_augment must be in [0, 3] (σ), got {self.noise_augment}")
        if not 0 <= self.shift_augment <= 1:
            raise ValueError(f"TrainConfig.shift_augment must be in [0, 1] (decades of q), "
                             f"got {self.shift_augment}")
        if not 0 < self.unsure_top3 < 1:
            raise ValueError(f"TrainConfig.unsure_top3 must be in (0, 1), got {self.unsure_top3}")
        for name in ("crop_probability", "val_fraction", "unsure_rate"):
            if not 0 <= getattr(self, name) < 1:
                raise ValueError(f"TrainConfig.{name} must be in [0, 1), got {getattr(self, name)}")
        if self.val_fraction == 0:
            raise ValueError("TrainConfig.val_fraction must be > 0: validation drives early stopping")


def choose_device(name: str = "auto") -> torch.device:
    """The one place the device is chosen."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(name)


# --------------------------------------------------------------------------- data
@dataclass(frozen=True)
class ArrayDataset:
    """Prepared inputs and labels, all in memory (only the gridded arrays are kept)."""

    x: np.ndarray  # (N, C, n_q) float32, from preprocessing.prepare_input
    form_factor: np.ndarray  # (N,) int64, index into class_names
    structure_factor: np.ndarray  # (N,) int64, index into structure_factors
    noise: np.ndarray  # (N,) median relative σ of each curve
    setup: np.ndarray  # (N,) str, instrument set-up (the Q window)
    class_names: tuple[str, ...]
    structure_factors: tuple[str, ...]  # first is "none"
    grid: np.ndarray  # (n_q,) Å⁻¹
    manifest_sha256: str
    log_sigma: np.ndarray | None = None  # (N, n_q) float16, preprocessing.grid_log_sigma; for add_noise
    channels: tuple[str, ...] = preprocessing.BASE_CHANNELS  # what x's C planes hold
    priors: np.ndarray | None = None  # (N,) str, the prior set each curve was drawn from
    skipped: int = 0  # curves left out: fewer than 2 usable points (nothing to read)

    def __len__(self) -> int:
        return len(self.x)

    def subset(self, index: np.ndarray) -> ArrayDataset:
        return replace(
            self,
            x=self.x[index],
            form_factor=self.form_factor[index],
            structure_factor=self.structure_factor[index],
            noise=self.noise[index],
            setup=self.setup[index],
            log_sigma=None if self.log_sigma is None else self.log_sigma[index],
            priors=None if self.priors is None else self.priors[index],
        )

    def without_classes(self, names: Sequence[str]) -> ArrayDataset:
        """The curves of every other class, relabelled to the shorter class list (for
        training a model that has never seen ``names``)."""
        unknown = sorted(set(names) - set(self.class_names))
        if unknown:
            raise ValueError(f"not classes of this dataset: {', '.join(unknown)}")
        kept = tuple(c for c in self.class_names if c not in names)
        relabel = np.array([kept.index(c) if c in kept else -1 for c in self.class_names])
        keep = relabel[self.form_factor] >= 0
        subset = self.subset(np.flatnonzero(keep))
        return replace(subset, form_factor=relabel[subset.form_factor].astype(np.int64), class_names=kept)


def load_training_arrays(
    dataset_dir: Path,
    grid: np.ndarray,
    *,
    class_names: list[str] | None = None,
    structure_factors: list[str] | None = None,
    on_shard: Callable[[int], None] | None = None,
    with_sigma: bool = False,
    channels: Sequence[str] = preprocessing.BASE_CHANNELS,
) -> ArrayDataset:
    """Stream a dataset's shards through :func:`preprocessing.prepare_input`.

    Labels index the dataset's own class list, or ``class_names`` /
    ``structure_factors`` when given (a model's logit order); a label the model
    doesn't know is an error. ``with_sigma`` also grids each curve's uncertainty
    (``log_sigma``, for the noise augmentation). ``channels``: the input planes of the
    network to be fed (:func:`sasnn.learn.preprocessing.channels_for`).
    """
    from sasnn.simulate.datasets import iter_shards, read_dataset
    from sasnn.simulate.shards import MANIFEST, file_sha256

    channels = preprocessing.check_channels(channels)
    manifest = read_dataset(dataset_dir)
    classes = list(class_names or manifest["classes"])
    sfs = list(structure_factors or manifest["structure_factors"])
    for label, known, kind in (
        (manifest["classes"], classes, "classes"),
        (manifest["structure_factors"], sfs, "structure factors"),
    ):
        unknown = sorted(set(label) - set(known))
        if unknown:
            raise ValueError(f"{dataset_dir} has {kind} the model was not trained on: {', '.join(unknown)}")
    xs, ff, sf, noise, setup, log_sigma = [], [], [], [], [], []
    skipped = 0
    for shard in iter_shards(dataset_dir):
        o = shard.offsets
        # a simulated curve can lie wholly below zero after the noise (a wide-prior model far
        # under its background): no input can be made of it, so it is left out and counted
        keep = [i for i in range(len(shard)) if _usable_points(shard.q[o[i]:o[i + 1]],
                                                               shard.intensity[o[i]:o[i + 1]]) >= 2]
        skipped += len(shard) - len(keep)
        n = len(keep)
        curves = [slice(o[i], o[i + 1]) for i in keep]
        xs.append(preprocessing.prepare_batch([shard.q[c] for c in curves],
                                              [shard.intensity[c] for c in curves], grid,
                                              [shard.sigma[c] for c in curves], channels=channels))
        if with_sigma:
            log_sigma.append(np.stack([
                preprocessing.grid_log_sigma(shard.q[c], shard.intensity[c], shard.sigma[c], grid)
                for c in curves]).astype(np.float16))
        ff.append(np.full(n, classes.index(shard.class_name)))
        sf.append(np.array([sfs.index(shard.structure_factor[i]) for i in keep], dtype=np.int64))
        noise.append(shard.noise[keep].astype(np.float32))
        setup.append(shard.setup[keep])
        if on_shard:
            on_shard(len(shard))
    if not xs:
        raise ValueError(f"{dataset_dir} holds no curves")
    return ArrayDataset(
        np.concatenate(xs),
        np.concatenate(ff).astype(np.int64),
        np.concatenate(sf),
        np.concatenate(noise),
        np.concatenate(setup),
        tuple(classes),
        tuple(sfs),
        np.asarray(grid, float),
        file_sha256(Path(dataset_dir) / MANIFEST),
        np.concatenate(log_sigma) if with_sigma else None,
        channels,
        np.full(sum(len(part) for part in ff), manifest["priors"]),
        skipped,
    )


def _usable_points(q: np.ndarray, intensity: np.ndarray) -> int:
    """Points :func:`preprocessing.prepare_input` can use: finite q > 0 and I > 0."""
    return int(np.sum(np.isfinite(q) & (q > 0) & np.isfinite(intensity) & (intensity > 0)))


def load_datasets(
    dataset_dirs: Sequence[Path],
    grid: np.ndarray,
    *,
    on_shard: Callable[[int], None] | None = None,
    with_sigma: bool = False,
    channels: Sequence[str] = preprocessing.BASE_CHANNELS,
) -> ArrayDataset:
    """Several dataset folders as one training set (e.g. narrow and wide ``sasnn simulate`` runs).

    The folders must share their structure factors. Their classes may differ: the
    labels follow the folder that lists the most classes, and every other folder's
    classes must be among them (an expensive class can be simulated apart, with fewer
    curves). Two folders drawn from the same prior set with the same seed must not share
    a class: they would hold the same curves, and copies of training curves would leak
    into the validation split.
    ``manifest_sha256`` is then the sha256 of the folders' manifest hashes, in order.
    """
    from sasnn.simulate.datasets import read_dataset

    dirs = [Path(d) for d in dataset_dirs]
    if not dirs:
        raise ValueError("no dataset folder given")
    if len(dirs) == 1:
        return load_training_arrays(dirs[0], grid, on_shard=on_shard, with_sigma=with_sigma,
                                    channels=channels)
    manifests = [read_dataset(d) for d in dirs]
    widest = max(range(len(dirs)), key=lambda i: len(manifests[i]["classes"]))
    classes = list(manifests[widest]["classes"])
    sfs = list(manifests[widest]["structure_factors"])
    drawn: dict[tuple, Path] = {}
    for d, manifest in zip(dirs, manifests, strict=True):
        if list(manifest["structure_factors"]) != sfs:
            raise ValueError(f"{d} lists other structure factors than {dirs[widest]}")
        extra = sorted(set(manifest["classes"]) - set(classes))
        if extra:
            raise ValueError(f"{d} holds classes {dirs[widest]} lacks ({', '.join(extra)}); "
                             "the folder with the most classes must list them all")
        for name in manifest["classes"]:
            key = (manifest["seed"], manifest["priors"], name)
            if key in drawn:
                raise ValueError(f"{d} and {drawn[key]} drew class {name} from the same priors with "
                                 f"the same seed ({manifest['seed']}), so they hold the same curves")
            drawn[key] = d
    parts = [load_training_arrays(d, grid, on_shard=on_shard, with_sigma=with_sigma, channels=channels,
                                  class_names=classes, structure_factors=sfs)
             for d in dirs]
    return concatenate(parts)


def concatenate(parts: Sequence[ArrayDataset]) -> ArrayDataset:
    """Datasets loaded with the same class list, grid and channels as one; its
    ``manifest_sha256`` is the sha256 of theirs, in order."""
    import hashlib

    digest = hashlib.sha256("\n".join(part.manifest_sha256 for part in parts).encode()).hexdigest()
    sigma = all(part.log_sigma is not None for part in parts)
    return replace(
        parts[0],
        x=np.concatenate([part.x for part in parts]),
        form_factor=np.concatenate([part.form_factor for part in parts]),
        structure_factor=np.concatenate([part.structure_factor for part in parts]),
        noise=np.concatenate([part.noise for part in parts]),
        setup=np.concatenate([part.setup for part in parts]),
        manifest_sha256=digest,
        log_sigma=np.concatenate([part.log_sigma for part in parts]) if sigma else None,
        priors=np.concatenate([part.priors for part in parts]),
        skipped=sum(part.skipped for part in parts),
    )


def split(data: ArrayDataset, val_fraction: float, seed: int) -> tuple[ArrayDataset, ArrayDataset]:
    """A seeded random train/validation split."""
    order = np.random.default_rng([seed, 1]).permutation(len(data))
    n_val = max(1, round(val_fraction * len(data)))
    return data.subset(np.sort(order[n_val:])), data.subset(np.sort(order[:n_val]))


# --------------------------------------------------------------------------- steps
def loss_fn(ff_logits, sf_logits, ff, sf, sf_weight: float = 1.0) -> torch.Tensor:
    return nn.functional.cross_entropy(ff_logits, ff) + sf_weight * nn.functional.cross_entropy(sf_logits, sf)


def train_one_epoch(
    model: nn.Module,
    data: ArrayDataset,
    optimizer: torch.optim.Optimizer,
    config: TrainConfig,
    rng: np.random.Generator,
    device: torch.device,
    on_batch: Callable[[int], None] | None = None,
) -> float:
    """One pass over ``data`` in random order, with fresh noise (``config.noise_augment``),
    shifts in log q (``config.shift_augment``) and random Q-window crops; the mean loss."""
    if config.noise_augment > 0 and data.log_sigma is None:
        raise ValueError("noise_augment needs the curves' uncertainties: load the data with_sigma=True")
    model.train()
    shift_cells = round(config.shift_augment / abs(np.log10(data.grid[1] / data.grid[0])))
    order = rng.permutation(len(data))
    total, seen = 0.0, 0
    for start in range(0, len(order), config.batch_size):
        index = np.sort(order[start : start + config.batch_size])
        if len(index) < 2:  # batch norm needs two curves
            continue
        x = data.x[index]
        if config.noise_augment > 0:
            x = preprocessing.add_noise(x, data.log_sigma[index], rng, max_scale=config.noise_augment)
        if config.shift_augment > 0:
            x = preprocessing.random_shift(x, rng, max_cells=shift_cells, min_cells=config.crop_min_cells)
        x = preprocessing.random_crop(x, rng, probability=config.crop_probability,
                                      min_cells=config.crop_min_cells)
        ff = torch.from_numpy(data.form_factor[index]).to(device)
        sf = torch.from_numpy(data.structure_factor[index]).to(device)
        ff_logits, sf_logits = model(torch.from_numpy(x).to(device))
        loss = loss_fn(ff_logits, sf_logits, ff, sf, config.sf_loss_weight)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        total += loss.item() * len(index)
        seen += len(index)
        if on_batch:
            on_batch(len(index))
    return total / max(seen, 1)


@dataclass(frozen=True)
class Evaluation:
    loss: float
    ff_logits: np.ndarray  # (N, n_classes)
    sf_logits: np.ndarray  # (N, n_structure_factors)


def evaluate(
    model: nn.Module, data: ArrayDataset, device: torch.device, sf_weight: float = 1.0
) -> Evaluation:
    """Loss and logits on ``data`` (eval mode, no gradients)."""
    ff_logits, sf_logits = logits_in_batches(model, data.x, device=device)
    with torch.inference_mode():
        loss = loss_fn(
            torch.from_numpy(ff_logits),
            torch.from_numpy(sf_logits),
            torch.from_numpy(data.form_factor),
            torch.from_numpy(data.structure_factor),
            sf_weight,
        )
    return Evaluation(float(loss), ff_logits, sf_logits)


def calibrate_temperature(logits: np.ndarray, labels: np.ndarray) -> float:
    """Temperature T minimising the NLL of softmax(logits / T) (Guo et al. 2017), by LBFGS on log T."""
    z = torch.as_tensor(logits, dtype=torch.float64)
    y = torch.as_tensor(labels, dtype=torch.int64)
    log_t = torch.zeros(1, dtype=torch.float64, requires_grad=True)
    optimizer = torch.optim.LBFGS([log_t], lr=0.5, max_iter=200, line_search_fn="strong_wolfe")

    def closure():
        optimizer.zero_grad()
        loss = nn.functional.cross_entropy(z / log_t.exp(), y)
        loss.backward()
        return loss

    optimizer.step(closure)
    return float(log_t.detach().exp().clamp(0.05, 20.0))


def lr_at(epoch: int, config: TrainConfig) -> float:
    """Cosine decay from ``lr`` to 2 % of it over ``epochs``."""
    return config.lr * (0.02 + 0.98 * 0.5 * (1 + math.cos(math.pi * epoch / config.epochs)))


# --------------------------------------------------------------------------- the recipe
def fit(
    data: ArrayDataset,
    model_config,
    config: TrainConfig,
    run_dir: Path,
    *,
    progress: Callable[[dict], None] | None = None,
) -> tuple[nn.Module, list[dict]]:
    """Train ``model_config``'s network on ``data``; resume from ``run_dir`` if it holds this run.

    Returns the calibrated best model (also written to ``run_dir/model``) and the history.
    """
    run_dir = Path(run_dir)
    kind = kind_of(model_config)
    wanted = getattr(model_config, "in_channels", len(preprocessing.BASE_CHANNELS))
    if wanted != len(data.channels):
        raise ValueError(f"the network reads {wanted} input channels but the curves were prepared with "
                         f"{len(data.channels)} ({', '.join(data.channels)})")
    spec = run_spec(data, kind, model_config, config)
    torch.manual_seed(config.seed)
    model = build_model(kind, model_config, len(data.class_names), len(data.structure_factors))
    if config.init_from:  # before the run folder is made: a refused start leaves nothing behind
        warm_start(model, Path(config.init_from), data, kind, model_config, seed=config.seed)
    if open_run_dir(run_dir, spec):
        if FeatureDensity.load(run_dir / "model") is None:  # finished by a sasnn without it
            _finish(run_dir, *split(data, config.val_fraction, config.seed), read_meta(run_dir / "model"))
        return load_checkpoint(run_dir / "model")[0], read_json(run_dir / "history.json")
    if config.num_threads > 0:
        torch.set_num_threads(config.num_threads)
    device = choose_device(config.device)
    train, val = split(data, config.val_fraction, config.seed)
    model = model.to(device)
    optimizer = torch.optim.AdamW(model.parameters(), lr=config.lr, weight_decay=config.weight_decay)
    state = _resume(run_dir, model, optimizer)  # {"history": [...], "best": loss, "stale": epochs}
    meta = _base_meta(data, config, spec)
    while _keep_going(state, config):
        epoch = len(state["history"])
        for group in optimizer.param_groups:
            group["lr"] = lr_at(epoch, config)
        rng = np.random.default_rng([config.seed, epoch])
        torch.manual_seed(config.seed * 100_003 + epoch)  # dropout
        start = time.perf_counter()
        on_batch = functools.partial(_batch_event, progress, epoch) if progress else None
        train_loss = train_one_epoch(model, train, optimizer, config, rng, device, on_batch)
        seconds = time.perf_counter() - start
        result = evaluate(model, val, device, config.sf_loss_weight)
        row = {
            "epoch": epoch,
            "lr": lr_at(epoch, config),
            "train_loss": train_loss,
            "val_loss": result.loss,
            "val_top1": evaluation.top_k_accuracy(val.form_factor, result.ff_logits, 1),
            "val_sf_accuracy": evaluation.top_k_accuracy(val.structure_factor, result.sf_logits, 1),
            "seconds": seconds,
            "curves_per_s": len(train) / seconds,
        }
        state["history"].append(row)
        improved = result.loss < state["best"]
        state["best"], state["stale"] = (result.loss, 0) if improved else (state["best"], state["stale"] + 1)
        if improved:
            save_checkpoint(run_dir / "best", model, {**meta, "epoch": epoch, "metrics": row})
        save_checkpoint(run_dir / "last", model, {**meta, "epoch": epoch, "state": state}, optimizer)
        write_json(run_dir / "history.json", state["history"])
        if progress:
            progress({"event": "epoch", **row})
    return _finish(run_dir, train, val, meta), state["history"]


def warm_start(model: nn.Module, source: Path, data: ArrayDataset, kind: str, model_config,
               seed: int = 0) -> None:
    """Copy the weights of the model folder ``source`` into ``model`` (ValueError naming what
    differs when the two networks do not read and label curves the same way). A CNN whose
    only difference is wider stages or dense layer starts as ``source`` widened
    (:func:`sasnn.learn.widen.widen`, seeded): the same function, with room to learn more."""
    found = existing_checkpoint(source)
    if found is None:
        raise ValueError(f"init_from: {source} holds no sasnn model (meta.json + model.safetensors)")
    trained, meta = load_checkpoint(found)
    wanted = {
        "architecture": kind,
        "model_config": json.loads(json.dumps(asdict(model_config))),
        "class_names": list(data.class_names),
        "structure_factors": list(data.structure_factors),
        "grid": data.grid.tolist(),
        "channels": list(data.channels),
    }
    have = {**{k: meta.get(k) for k in wanted}, "channels": meta.get("preprocessing", {}).get("channels")}
    differ = [k for k in wanted if k != "grid" and have[k] != wanted[k]]
    if have["grid"] is None or not np.allclose(have["grid"], wanted["grid"], rtol=1e-12):
        differ.append("grid")
    if differ == ["model_config"] and kind == "cnn":
        from sasnn.learn.widen import can_widen, widen

        why = can_widen(trained.config, model_config)
        if why is None:
            model.load_state_dict(widen(trained, model_config, seed).state_dict())
            return
        raise ValueError(f"init_from: {source} is another network, and not a narrower one: {why}")
    if differ:
        raise ValueError(f"init_from: {source} differs from this run in {', '.join(differ)}; "
                         "a warm start needs the same network, labels and input")
    model.load_state_dict(trained.state_dict())


def _batch_event(progress: Callable[[dict], None], epoch: int, curves: int) -> None:
    progress({"event": "batch", "epoch": epoch, "curves": curves})


def _keep_going(state: dict, config: TrainConfig) -> bool:
    history = state["history"]
    spent = sum(row["seconds"] for row in history)
    budget_spent = config.time_budget_s > 0 and spent >= config.time_budget_s
    return len(history) < config.epochs and state["stale"] < config.patience and not budget_spent


def _finish(run_dir: Path, train: ArrayDataset, val: ArrayDataset, meta: dict) -> nn.Module:
    """Best weights → temperatures, the novelty density and the "unsure" thresholds → RUN_DIR/model.

    Runs on the CPU: it is short, and the density is fitted in float64.
    """
    model, best_meta = load_checkpoint(existing_checkpoint(run_dir / "best"))
    ff_logits, sf_logits = logits_in_batches(model, val.x)
    t_ff = calibrate_temperature(ff_logits, val.form_factor)
    t_sf = calibrate_temperature(sf_logits, val.structure_factor)
    metrics = evaluation.summary(
        val.form_factor, ff_logits, val.structure_factor, sf_logits, temperatures=(t_ff, t_sf)
    )
    quantile = 1 - meta["train_config"]["unsure_rate"]
    density = _fit_density(model, train, meta["train_config"]["seed"])
    final = {
        **meta,
        "epoch": best_meta["epoch"],
        "temperatures": {"form_factor": t_ff, "structure_factor": t_sf},
        "unsure": {
            **confidence_levels(ff_logits, t_ff, val, meta["train_config"]["unsure_top3"]),
            "energy_threshold": evaluation.energy_threshold(ff_logits, t_ff, quantile),
            "feature_distance_threshold": float(
                np.quantile(density.score(features(model, val.x, layer=density.layer)), quantile)),
        },
        "metrics": {"validation": metrics, "best_epoch": best_meta["metrics"]},
    }
    save_checkpoint(run_dir / "model", model, final, also_write=density.save)
    return model.eval()


def confidence_levels(ff_logits: np.ndarray, temperature: float, val: ArrayDataset, target: float) -> dict:
    """The top-3 confidence under which a prediction is flagged unsure: the lowest at which
    the validation curves of each prior set left unflagged are right (top-3) ``target`` of
    the time, the strictest of the sets, and never below ``evaluation.MIN_CONFIDENCE``.
    Curves of a wider prior set are harder, so one threshold for the mix would hold on the
    easy curves and fail on the hard ones."""
    probabilities = evaluation.softmax(ff_logits, temperature)
    confidence = evaluation.top_k_confidence(probabilities, 3)
    hit3 = np.any(np.argsort(-probabilities, axis=1)[:, :3] == val.form_factor[:, None], axis=1)
    groups = val.priors if val.priors is not None else np.full(len(val), "narrow")
    by_priors = {}
    for name in np.unique(groups):
        mask = groups == name
        by_priors[str(name)] = evaluation.confidence_for_accuracy(hit3[mask], confidence[mask], target)
    return {"min_confidence": max(evaluation.MIN_CONFIDENCE, *by_priors.values()),
            "min_confidence_by_priors": by_priors, "unsure_top3": target}


def _fit_density(model: nn.Module, train: ArrayDataset, seed: int) -> FeatureDensity:
    """The novelty density of a seeded subset of the training curves (plenty for the
    class means and one covariance; all of them would only cost time)."""
    rng = np.random.default_rng([seed, 2])
    subset = np.sort(rng.choice(len(train), min(len(train), DENSITY_CURVES), replace=False))
    labels = train.form_factor[subset]
    layer = layer_for(model)
    return FeatureDensity.fit(features(model, train.x[subset], layer=layer), labels,
                              len(train.class_names), layer=layer)


def _base_meta(data: ArrayDataset, config: TrainConfig, spec: dict) -> dict:
    ff, sf = data.form_factor, data.structure_factor
    pairs = [sorted({int(s) for s in np.unique(sf[ff == c])}) for c in range(len(data.class_names))]
    return {
        "class_names": list(data.class_names),
        "structure_factors": list(data.structure_factors),
        "pairs": pairs,  # per class: the structure factors it was trained with (index lists)
        "grid": data.grid.tolist(),
        "preprocessing": {
            "version": preprocessing.PREPROCESSING_VERSION,
            "channels": list(data.channels),
        },
        "train_config": asdict(config),
        "dataset_sha256": data.manifest_sha256,
        "n_train_curves": len(data),
    }


def _resume(run_dir: Path, model: nn.Module, optimizer) -> dict:
    last = existing_checkpoint(run_dir / "last")
    if last is None:
        return {"history": [], "best": math.inf, "stale": 0}
    resumed, meta = load_checkpoint(last)
    model.load_state_dict(resumed.state_dict())
    load_optimizer_state(last, optimizer)
    return meta["state"]


def load_run_config(path: Path | None, architecture: str = "cnn", **overrides) -> tuple[TrainConfig, object]:
    """TrainConfig and the model config from a run.toml (tables ``[train]`` and ``[cnn]`` or
    ``[sasnets]``), then ``overrides`` (None values ignored) on TrainConfig.

    Unknown tables and keys are errors that list the valid ones.
    """
    import tomllib

    from sasnn.learn.networks import ARCHITECTURES, config_from_dict

    if architecture not in ARCHITECTURES:
        raise ValueError(f"unknown architecture {architecture!r}; valid: {', '.join(ARCHITECTURES)}")
    tables: dict = {}
    if path is not None:
        try:
            tables = tomllib.loads(Path(path).read_text())
        except tomllib.TOMLDecodeError as exc:
            raise ValueError(f"{path} is not valid TOML ({exc})") from None
        valid = ("train", architecture)
        unknown = sorted(set(tables) - set(valid))
        if unknown or any(not isinstance(v, dict) for v in tables.values()):
            raise ValueError(
                f"{path}: unknown or malformed table(s) {', '.join(unknown) or '?'}; "
                f"valid: [train], [{architecture}]"
            )
    train_values = {**tables.get("train", {}), **{k: v for k, v in overrides.items() if v is not None}}
    train_config = config_from_dict(TrainConfig, train_values, where="[train]")
    model_config = config_from_dict(
        ARCHITECTURES[architecture][1], tables.get(architecture, {}), where=f"[{architecture}]"
    )
    return train_config, model_config


__all__ = [
    "ArrayDataset",
    "Evaluation",
    "TrainConfig",
    "calibrate_temperature",
    "check_run_dir",
    "choose_device",
    "evaluate",
    "fit",
    "load_run_config",
    "load_datasets",
    "load_training_arrays",
    "lr_at",
    "split",
    "train_one_epoch",
    "warm_start",
]
