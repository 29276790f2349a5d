"""Figures of identification: confusion matrix, per-class precision/recall, training
history, and the explain figures (filters, feature maps, saliency)."""

from __future__ import annotations

from pathlib import Path

import numpy as np


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _save(fig, path: Path, dpi: int = 110) -> Path:
    fig.savefig(path, dpi=dpi, bbox_inches="tight")
    _pyplot().close(fig)
    return Path(path)


def plot_confusion(counts: np.ndarray, names: list[str], path: Path, *, title: str = "") -> Path:
    """Row-normalised confusion matrix with log-scaled colours, model names on both axes.

    Sized to stay readable at ~80 classes: ~0.14 in per class, 5-pt labels, and a
    log colour scale so a 1 % confusion is as visible as it is worrying.
    """
    from matplotlib.colors import LogNorm

    plt = _pyplot()
    k = len(names)
    rows = counts.sum(axis=1, keepdims=True)
    share = np.divide(counts, rows, out=np.zeros(counts.shape), where=rows > 0)
    size = max(6.0, 0.14 * k + 2.5)
    font = 8 if k <= 30 else 5
    fig, ax = plt.subplots(figsize=(size + 1.5, size))
    image = ax.imshow(
        np.where(share > 0, share, np.nan),
        cmap="viridis",
        norm=LogNorm(vmin=1e-3, vmax=1.0),
        interpolation="nearest",
    )
    ax.set_xticks(range(k), names, rotation=90, fontsize=font)
    ax.set_yticks(range(k), names, fontsize=font)
    ax.set_xlabel("predicted model")
    ax.set_ylabel("true model")
    ax.set_xticks(np.arange(k + 1) - 0.5, minor=True)
    ax.set_yticks(np.arange(k + 1) - 0.5, minor=True)
    ax.grid(which="minor", color="0.92", linewidth=0.3)
    ax.tick_params(which="minor", length=0)
    fig.colorbar(image, ax=ax, fraction=0.03, pad=0.01, label="share of the true class (log scale)")
    ax.set_title(title)
    return _save(fig, path, dpi=150)


def plot_per_class(per_class: dict[str, dict], path: Path) -> Path:
    """Precision and recall of every class as horizontal bars, worst F1 at the top."""
    plt = _pyplot()
    names = sorted(per_class, key=lambda n: per_class[n]["f1"], reverse=True)
    y = np.arange(len(names))
    fig, ax = plt.subplots(figsize=(7, max(3.0, 0.13 * len(names) + 1)))
    ax.barh(y + 0.2, [per_class[n]["precision"] for n in names], height=0.4, label="precision")
    ax.barh(y - 0.2, [per_class[n]["recall"] for n in names], height=0.4, label="recall")
    ax.set_yticks(y, names, fontsize=5 if len(names) > 30 else 8)
    ax.set_xlim(0, 1)
    ax.set_xlabel("precision / recall")
    ax.legend(loc="lower right", fontsize=7)
    return _save(fig, path)


def plot_history(history: list[dict], path: Path) -> Path:
    """Training and validation loss, and validation top-1, per epoch."""
    plt = _pyplot()
    epochs = [row["epoch"] for row in history]
    fig, (left, right) = plt.subplots(1, 2, figsize=(9, 3.2))
    left.plot(epochs, [r["train_loss"] for r in history], label="train")
    left.plot(epochs, [r["val_loss"] for r in history], label="validation")
    left.set_xlabel("epoch")
    left.set_ylabel("loss")
    left.legend()
    right.plot(epochs, [r["val_top1"] for r in history], label="form factor top-1")
    right.plot(epochs, [r["val_sf_accuracy"] for r in history], label="structure factor")
    right.set_xlabel("epoch")
    right.set_ylabel("validation accuracy")
    right.legend()
    fig.tight_layout()
    return _save(fig, path)


def plot_filters(filters: np.ndarray, channels: tuple[str, ...], path: Path, *, limit: int = 64) -> Path:
    """First-layer kernels, one panel per output channel (up to ``limit``), one line per input channel."""
    plt = _pyplot()
    n = min(len(filters), limit)
    columns = 8
    rows = -(-n // columns)
    fig, axes = plt.subplots(rows, columns, figsize=(1.4 * columns, 1.0 * rows + 0.6), squeeze=False)
    taps = np.arange(filters.shape[-1]) - filters.shape[-1] // 2
    for i, ax in enumerate(axes.flat):
        if i >= n:
            ax.set_visible(False)
            continue
        for c in range(filters.shape[1]):
            ax.plot(taps, filters[i, c], marker=".", ms=3, lw=0.8, ls="-" if c == 0 else "--")
        ax.axhline(0, color="0.7", lw=0.5)
        ax.set_xticks([])
        ax.set_yticks([])
        ax.set_title(str(i), fontsize=6, pad=1)
    names = [channels[c] if c < len(channels) else f"channel {c}" for c in range(filters.shape[1])]
    fig.suptitle(f"first-layer filters (kernel taps; {', '.join(names)})", fontsize=9)
    return _save(fig, path)


def _masked_input(ax, grid, x):
    covered = x[1] > 0 if len(x) > 1 else np.abs(x[0]) > 0
    ax.plot(grid[covered], x[0][covered], color="k", lw=1)
    ax.set_xscale("log")
    ax.set_ylabel("log10 I − mean")
    if (~covered).any():
        ax.fill_between(
            grid, 0, 1, where=~covered, color="0.9", transform=ax.get_xaxis_transform(), label="not covered"
        )
        ax.legend(fontsize=7, loc="upper right")


def plot_feature_maps(expl, path: Path, *, title: str = "") -> Path:
    """The prepared input, then each conv stage's feature maps (channels × q) as heat maps."""
    plt = _pyplot()
    stages = len(expl.feature_maps)
    fig, axes = plt.subplots(stages + 1, 1, figsize=(8, 1.8 * (stages + 1) + 0.5), sharex=True)
    _masked_input(axes[0], expl.grid, expl.x)
    axes[0].set_title(title, fontsize=9)
    for i, (maps, q) in enumerate(zip(expl.feature_maps, expl.feature_q, strict=True)):
        ax = axes[i + 1]
        edges = np.sqrt(q[:-1] * q[1:])
        edges = np.concatenate([[q[0] ** 2 / edges[0]], edges, [q[-1] ** 2 / edges[-1]]])
        ax.pcolormesh(edges, np.arange(maps.shape[0] + 1), maps, cmap="magma", shading="flat")
        ax.set_ylabel(f"stage {i + 1}\nchannel", fontsize=8)
    axes[-1].set_xlabel("q (Å⁻¹)")
    fig.tight_layout()
    return _save(fig, path)


def plot_saliency(expl, path: Path, *, title: str = "") -> Path:
    """The input coloured by its integrated-gradient attribution, and the attribution itself."""
    from matplotlib.colors import TwoSlopeNorm

    plt = _pyplot()
    fig, (top, bottom) = plt.subplots(2, 1, figsize=(8, 5), sharex=True, height_ratios=(2, 1))
    covered = expl.x[1] > 0 if len(expl.x) > 1 else np.ones(len(expl.grid), bool)
    bound = max(float(np.abs(expl.saliency).max()), 1e-12)
    norm = TwoSlopeNorm(0.0, -bound, bound)
    _masked_input(top, expl.grid, expl.x)
    points = top.scatter(
        expl.grid[covered],
        expl.x[0][covered],
        c=expl.saliency[covered],
        cmap="coolwarm",
        norm=norm,
        s=12,
        zorder=3,
    )
    fig.colorbar(points, ax=[top, bottom], label="attribution to the logit")
    top.set_title(title or f"why {expl.predicted} (p = {expl.probability:.2f})", fontsize=9)
    bottom.bar(
        expl.grid, expl.saliency, width=expl.grid * 0.028, color=np.where(expl.saliency > 0, "C3", "C0")
    )
    bottom.set_xscale("log")
    bottom.set_xlabel("q (Å⁻¹)")
    bottom.set_ylabel("integrated gradient")
    return _save(fig, path)


__all__ = [
    "plot_confusion",
    "plot_feature_maps",
    "plot_filters",
    "plot_history",
    "plot_per_class",
    "plot_saliency",
]
