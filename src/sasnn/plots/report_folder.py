"""What ``sasnn predict --report`` writes into its folder: one PNG per prediction
(:func:`sasnn.plots.report.plot_prediction`), ``report.json`` and ``summary.md``.

The CLI and the web page (its report download) both call :func:`write_report`, so the
two give the same files.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Sequence
from pathlib import Path

REPORT_INDEX = "report.json"  # lists the files a report wrote, so a rerun may replace them
REPORT_SUMMARY = "summary.md"  # one table row per entry, for people
PNG_NAME = re.compile(r"[\w.-]+\.png")
# beside a fit that --fit-time stopped (its rank, shown as "2?", is provisional)
STOPPED_BY_TIME = "stopped by --fit-time: not reproducible, rank provisional"


def png_names(predictions) -> list[str]:
    """One file name per prediction, ``<file stem>[-<entry>].png``, made unique."""
    names: list[str] = []
    for p in predictions:
        stem = re.sub(r"[^\w.-]+", "_", "-".join(filter(None, [Path(p.file).stem, p.entry])))
        name, k = f"{stem}.png", 2
        while name in names:
            name, k = f"{stem}-{k}.png", k + 1
        names.append(name)
    return names


def twin_notes(prediction) -> list[str]:
    """Catalogue twins among the candidates, fits the data cannot choose between, and what
    the data do not determine (a shape, a size)."""
    from sasnn.simulate.catalog import twins_among

    notes = [f"{t}; there, only what you know of the sample can choose"
             for t in twins_among(c.model for c in prediction.candidates)]
    if prediction.ties:
        notes.append(f"the fits cannot choose between {', '.join(prediction.ties)} (ΔBIC ≤ 2); "
                     "the one with the fewest parameters comes first")
    return notes + list(prediction.notes)


def summary(predictions, names: Sequence[str]) -> str:
    """A markdown table: per entry, the ranked candidates, their fits and any doubt."""
    from sasnn.simulate.kernels import model_name

    lines = ["| file [entry] | candidates (p; χ²ᵣ and undetermined parameters after --fit) "
             "| unsure; twins, ties and what the data do not determine | figure |", "|---|---|---|---|"]
    for p, png in zip(predictions, names, strict=True):
        cells = []
        for i, c in enumerate(p.candidates):
            cell = f"{model_name(c.model, c.structure_factor)} ({c.probability:.2f}"
            if p.fits and p.fits[i].bic != float("inf"):
                cell += f"; {p.fits[i].chi2_red:.3g}"
                if p.fits[i].undetermined:
                    cell += f"; undetermined: {' '.join(p.fits[i].undetermined)}"
            if p.fits and p.fits[i].stopped_by_time:
                cell += f"; {STOPPED_BY_TIME}"
            cells.append(cell + ")")
        name = Path(p.file).name + (f" [{p.entry}]" if p.entry else "")
        doubt = "; ".join(([p.reason] if p.unsure else []) + twin_notes(p))
        doubt = doubt.replace("|", "/")
        lines.append(f"| {name} | {', '.join(cells)} | {doubt} | [{png}]({png}) |")
    return "\n".join(lines) + "\n"


def write_report(folder: Path, jobs, *, on_plot: Callable[[], None] | None = None) -> list[str]:
    """Write the PNGs, ``report.json`` and ``summary.md`` of ``jobs`` ((prediction, curves)
    pairs) into the existing ``folder``; return the PNG names. ``on_plot`` is called after
    each PNG (for progress bars)."""
    from sasnn.identify.confirm import fit_weights
    from sasnn.plots.report import plot_prediction

    names = png_names([p for p, _ in jobs])
    for (prediction, curves), name in zip(jobs, names, strict=True):
        weights = fit_weights(prediction) if prediction.fits else None
        plot_prediction(prediction, curves, Path(folder) / name, weights=weights)
        if on_plot is not None:
            on_plot()
    records = [dict(p.to_dict(), plot=name) for (p, _), name in zip(jobs, names, strict=True)]
    (Path(folder) / REPORT_INDEX).write_text(json.dumps({"files": names, "predictions": records}, indent=1))
    (Path(folder) / REPORT_SUMMARY).write_text(summary([p for p, _ in jobs], names))
    return names


__all__ = ["PNG_NAME", "REPORT_INDEX", "REPORT_SUMMARY", "STOPPED_BY_TIME", "png_names", "summary",
           "twin_notes", "write_report"]
