"""The phase map of a series (:class:`sasnn.identify.series.Series`): conditions on the
axes, one marker per file coloured by its phase, larger and more opaque the more
probable that phase, with a cross over unsure points.

One condition: the condition on x and one row per phase, so that a boundary reads as a
step. Two conditions: the first on x, the second on y.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from sasnn.identify.series import Series

_LABEL_LIMIT = 16  # name each point's best model when the map has at most this many points


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def phase_colours(phases: Sequence[str]) -> dict[str, tuple]:
    """One colour per phase, fixed by the sorted names, so reruns of a map agree."""
    from matplotlib import colormaps

    palette = colormaps["tab10" if len(set(phases)) <= 10 else "tab20"].colors
    return {name: palette[i % len(palette)] for i, name in enumerate(sorted(set(phases)))}


def plot_phase_map(series: Series, path: str | Path, *, title: str = "",
                   truth: Sequence[str] | None = None) -> Path:
    """Draw ``series`` as a phase map into ``path`` (PNG). ``truth``: the known phase of
    each point (simulated series); points whose phase is wrong get a red ring, and the
    title counts the right ones."""
    from matplotlib.lines import Line2D

    plt = _pyplot()
    points = series.points
    if truth is not None and len(truth) != len(points):
        raise ValueError(f"truth has {len(truth)} phases for {len(points)} points")
    colours = phase_colours([p.phase for p in points] + list(truth or []))
    two_d = len(series.variables) == 2
    rows = sorted({p.phase for p in points} | set(truth or []))
    x = [p.conditions[series.variables[0]] for p in points]
    y = ([p.conditions[series.variables[1]] for p in points] if two_d
         else [rows.index(p.phase) for p in points])
    fig, ax = plt.subplots(figsize=(7.5, 5.0 if two_d else 1.6 + 0.55 * len(rows)))
    for xi, yi, p in zip(x, y, points, strict=True):
        confidence = max(0.0, min(1.0, p.phase_probability))
        ax.scatter(xi, yi, s=60 + 340 * confidence, color=colours[p.phase], alpha=0.3 + 0.7 * confidence,
                   edgecolors="black", linewidths=0.5, zorder=2)
        if p.unsure:
            ax.scatter(xi, yi, s=70, marker="x", color="black", linewidths=1.4, zorder=3)
        if len(points) <= _LABEL_LIMIT and p.prediction.candidates:
            best = p.prediction.candidates[0]
            name = best.model + (f"@{best.structure_factor}" if best.structure_factor else "")
            ax.annotate(name, (xi, yi), xytext=(0, -17), textcoords="offset points", ha="center",
                        va="top", fontsize=7, color="0.25")
    wrong = [i for i, t in enumerate(truth or []) if points[i].phase != t]
    if truth is not None:
        ax.scatter([x[i] for i in wrong], [y[i] for i in wrong], s=520, facecolors="none",
                   edgecolors="red", linewidths=1.6, zorder=4)
        right = len(points) - len(wrong)
        title = f"{title}\n{right} of {len(points)} points in the right phase".strip()
    ax.set_xlabel(series.variables[0])
    if two_d:
        ax.set_ylabel(series.variables[1])
    else:
        ax.set_yticks(range(len(rows)), rows)
        ax.set_ylim(-0.7, len(rows) - 0.3)
    ax.margins(x=0.12, y=0.12 if two_d else 0)
    handles = [Line2D([], [], marker="o", ls="", color=colours[r], markeredgecolor="black",
                      markersize=9, label=r) for r in rows]
    handles.append(Line2D([], [], marker="x", ls="", color="black", label="unsure"))
    if truth is not None:
        handles.append(Line2D([], [], marker="o", ls="", markerfacecolor="none", markeredgecolor="red",
                              markersize=12, label="wrong phase"))
    ax.legend(handles=handles, loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=8,
              title="phase (size, opacity:\nits probability)", title_fontsize=8, frameon=False)
    ax.grid(color="0.92", zorder=0)
    ax.set_title(title, fontsize=10)
    fig.savefig(path, dpi=130, bbox_inches="tight")
    plt.close(fig)
    return Path(path)


__all__ = ["phase_colours", "plot_phase_map"]
