"""``sasnn pr``: p(r), Rg, I(0) and Dmax by Bayesian IFT, one file or a whole time series."""

from __future__ import annotations

import json
import re
from pathlib import Path

import typer

from sasnn.cli._app import UserError, app, err, out, read_files
from sasnn.cli._inputs import folders_without_data


def _parse_dmax(text: str) -> float | None:
    if text.strip().lower() == "auto":
        return None
    try:
        value = float(text)
    except ValueError:
        value = float("nan")
    if not value > 0 or value == float("inf"):
        raise UserError(f"--dmax must be 'auto' or a positive number of Å, got {text!r}")
    return value


def _parse_q_min(text: str) -> float | str | None:
    if text in ("auto", "all"):
        return None if text == "all" else "auto"
    try:
        value = float(text)
    except ValueError:
        value = float("nan")
    if not value >= 0:
        raise UserError(f"--q-min must be 'auto', 'all' or a number of Å⁻¹, got {text!r}")
    return value


def _plot_paths(plot: Path | None, curves) -> list[Path | None]:
    """``plot`` itself for one curve; ``<stem>-<file stem>[-<entry>].png`` for several."""
    if plot is None:
        return [None] * len(curves)
    if len(curves) == 1:
        return [plot]
    paths: list[Path | None] = []
    for curve in curves:
        name = "-".join(filter(None, [plot.stem, Path(curve.source).stem, curve.entry]))
        candidate = plot.with_name(re.sub(r"[^\w.-]+", "_", name) + plot.suffix)
        k = 2
        while candidate in paths:
            candidate = candidate.with_name(f"{candidate.stem}-{k}{plot.suffix}")
            k += 1
        paths.append(candidate)
    return paths


def _record(curve, result, png) -> dict:
    from sasnn.pr.record import pr_record

    return pr_record(curve, result, None if png is None else str(png))


def _table(records: list[dict]):
    from rich.table import Table

    table = Table("file [entry]", "Rg (Å)", "I(0) (cm⁻¹)", "Dmax (Å)", "χ²ᵣ", "Guinier Rg (Å)",
                  "Guinier q (Å⁻¹)", box=None)
    for column in table.columns:
        column.overflow = "fold"  # a narrow terminal wraps numbers, never cuts them
    for rec in records:
        g = rec["guinier"]
        name = Path(rec["file"]).name + (f" [{rec['entry']}]" if rec["entry"] else "")
        table.add_row(
            name, f"{rec['rg']:.2f}±{rec['rg_err']:.2f}", f"{rec['i0']:.4g}±{rec['i0_err']:.2g}",
            f"{rec['dmax']:.1f}±{rec['dmax_err']:.1f}", f"{rec['chi2']:.2f}",
            "—" if g is None else f"{g['rg']:.2f}±{g['rg_err']:.2f}",
            "—" if g is None else f"{g['q_min']:.3g}–{g['q_max']:.3g}",
        )
    return table


@app.command("pr")
def pr(
    files: list[Path] = typer.Argument(..., help="Data files (several = a batch, e.g. a time series)."),
    dmax: str = typer.Option("auto", "--dmax", help="'auto' (by evidence) or Dmax in Å."),
    alpha: float = typer.Option(None, "--alpha", help="Fix the dimensionless regularisation weight."),
    q_min: str = typer.Option(
        "auto", "--q-min", help="'auto' (start of the Guinier window), 'all', or q in Å⁻¹."
    ),
    q_max: float = typer.Option(None, "--q-max", help="Highest q used, Å⁻¹ (default: all)."),
    q_units: str = typer.Option(None, "--q-units", help="Unit of q in the files: A or nm."),
    as_json: bool = typer.Option(False, "--json", help="Print a JSON array, one object per entry."),
    plot: Path = typer.Option(
        None, "--plot", help="PNG of data, fit, residuals and p(r). With several entries, "
        "one PNG each, named PNG-STEM-<file stem>[-<entry>].png.",
    ),
) -> None:
    """Pair-distance distribution p(r) by Bayesian indirect Fourier transform.

    Reports Rg, I(0) and Dmax from p(r) with errors, and the Guinier Rg and I(0)
    with their q range, and the unit q was read in. A size no particle has (Rg < 3 Å,
    Dmax < 10 Å) is flagged: q is then most likely in another unit. Exit status: 0
    when every entry was inverted, 1 when an entry could not be (one line on stderr
    says why), 2 when a file could not be read or a folder held no data file.
    """
    d_max, q_min_value = _parse_dmax(dmax), _parse_q_min(q_min)
    if q_units not in (None, "A", "nm"):
        raise UserError(f"--q-units must be A or nm, got {q_units!r}")
    if alpha is not None and not alpha > 0:
        raise UserError(f"--alpha must be a positive number, got {alpha}")
    from sasnn.plots.pr import plot_pr
    from sasnn.pr.inversion import invert_pr
    from sasnn.pr.record import implausible

    groups, unreadable = read_files(files, q_units)
    for phrase in folders_without_data(files, groups):
        err.print(f"sasnn: error: {phrase}", markup=False, highlight=False)
        unreadable = True
    if not groups:  # nothing read: the lines above say why
        raise typer.Exit(2)
    curves = [curve for group in groups for curve in group]
    records, failed = [], False
    for curve, png in zip(curves, _plot_paths(plot, curves), strict=True):
        if curve.dq_slit is not None:
            err.print(f"sasnn: error: {curve.label}: slit-smeared (USANS) data cannot be "
                      "inverted here; desmear them first", markup=False, highlight=False)
            failed = True
            continue
        try:
            result = invert_pr(curve.q, curve.intensity, curve.sigma, dq=curve.dq, d_max=d_max,
                               alpha=alpha, q_min=q_min_value, q_max=q_max)
        except ValueError as exc:
            err.print(f"sasnn: error: {curve.label}: {exc}", markup=False, highlight=False)
            failed = True
            continue
        for note in [*result.warnings, *implausible(curve, result)]:
            err.print(f"sasnn: warning: {curve.label}: {note}", markup=False, highlight=False)
        if png is not None:
            plot_pr(result, png, title=curve.short_label)
        records.append(_record(curve, result, png))
    if as_json:
        out.print_json(json.dumps(records))
    elif records:
        out.print(_table(records))
    if unreadable or failed:
        raise typer.Exit(2 if unreadable else 1)
