"""Figures of simulated or measured curves, as a person would look at them."""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path

from sasnn.io.curve import Curve


def _axes_grid(n: int, *, width: float = 3.0, height: float = 2.5, columns: int = 4):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    columns = min(columns, n)
    rows = math.ceil(n / columns)
    fig, axes = plt.subplots(rows, columns, figsize=(width * columns, height * rows), squeeze=False)
    for ax in axes.flat[n:]:
        ax.set_visible(False)
    return fig, axes.flat


def _draw(ax, curve: Curve, **kwargs) -> None:
    keep = curve.intensity > 0  # log axes: non-positive points are not drawable
    ax.errorbar(
        curve.q[keep],
        curve.intensity[keep],
        yerr=None if curve.sigma is None else curve.sigma[keep],
        fmt=".",
        ms=2,
        elinewidth=0.5,
        **kwargs,
    )
    ax.set_xscale("log")
    ax.set_yscale("log")


def _caption(curve: Curve) -> str:
    meta = curve.meta
    sf = meta.get("structure_factor")
    return f"{meta.get('model', '')}{'@' + sf if sf else ''}\n{meta.get('setup', '')}"


def plot_curve_grid(curves: Sequence[Curve], path: Path, *, title: str = "") -> None:
    """One panel per curve (log-log, error bars), captioned with label and set-up."""
    fig, axes = _axes_grid(len(curves))
    for ax, curve in zip(axes, curves, strict=False):
        _draw(ax, curve)
        ax.set_title(_caption(curve), fontsize=8)
        ax.tick_params(labelsize=7)
    for ax in list(axes)[-4:]:
        ax.set_xlabel("q (Å⁻¹)", fontsize=8)
    fig.suptitle(title)
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    import matplotlib.pyplot as plt

    plt.close(fig)


def plot_class_gallery(curves_by_class: dict[str, Sequence[Curve]], path: Path, *, title: str = "") -> None:
    """One panel per class, its curves overlaid (offset by decades for legibility)."""
    fig, axes = _axes_grid(len(curves_by_class), columns=4)
    for ax, (name, curves) in zip(axes, curves_by_class.items(), strict=False):
        for k, curve in enumerate(curves):
            shifted = Curve(
                curve.q,
                curve.intensity * 10.0 ** (-2 * k),
                None if curve.sigma is None else curve.sigma * 10.0 ** (-2 * k),
                meta=curve.meta,
            )
            _draw(ax, shifted)
        setups = sorted({c.meta.get("setup", "") for c in curves})
        ax.set_title(f"{name}\n({', '.join(setups)})", fontsize=7)
        ax.tick_params(labelsize=7)
        ax.set_yticklabels([])
    fig.suptitle(title)
    fig.tight_layout()
    fig.savefig(path, dpi=80)
    import matplotlib.pyplot as plt

    plt.close(fig)


__all__ = ["plot_class_gallery", "plot_curve_grid"]
