"""``sasnn series``: classify a series of curves and draw its phase map."""

from __future__ import annotations

import json
from pathlib import Path

import typer

from sasnn.cli._app import app, err, out, read_files
from sasnn.identify.confirm import FIT_SHORTLIST


def _refuse(message: str) -> typer.Exit:
    """One line on stderr and exit status 2, before anything is written."""
    err.print(f"sasnn: error: {' '.join(message.split())}", markup=False, highlight=False)
    return typer.Exit(2)


def _conditions(files: list[Path], variables: list[str], table: Path | None):
    """(files, conditions) from the command line or from ``--table``; refusals exit 2."""
    from sasnn.identify.series import check_conditions, parse_table, parse_var

    if table is not None and (files or variables):
        raise _refuse("give either FILE... with --var, or --table, not both")
    try:
        if table is not None:
            try:
                text = table.read_text(encoding="utf-8")
            except (OSError, UnicodeDecodeError) as exc:
                raise ValueError(f"--table {table}: cannot read it ({exc})") from None
            names, conditions = parse_table(text, f"--table {table}")
            # a relative name in the table means: next to the table
            files = [p if p.is_absolute() else table.parent / p for p in map(Path, names)]
        else:
            if not files:
                raise ValueError("no files: give FILE... with --var NAME=VALUES, or --table FILE.csv")
            if not variables:
                raise ValueError("give the condition of each file: --var NAME=V1,V2,... (one value "
                                 "per file) or --table FILE.csv")
            parsed = [parse_var(v) for v in variables]
            names = [name for name, _ in parsed]
            if len(set(names)) != len(names):
                raise ValueError(f"--var names a variable twice ({', '.join(names)})")
            conditions = check_conditions(len(files), dict(parsed))
    except ValueError as exc:
        raise _refuse(str(exc)) from None
    missing = [str(p) for p in files if not p.is_file()]
    if missing:
        raise _refuse(f"no such file: {', '.join(missing)}")
    return files, conditions


def _table(series):
    from rich.table import Table
    from rich.text import Text

    table = Table("file", *series.variables, "phase", "p(phase)", "best model", "note", box=None)
    for p in series.points:
        best = p.prediction.candidates[0] if p.prediction.candidates else None
        name = (best.model + (f"@{best.structure_factor}" if best.structure_factor else "")) if best else ""
        note = Text.assemble(("unsure: ", "red"), p.prediction.reason or "") if p.unsure else Text("")
        table.add_row(Text(Path(p.file).name), *(f"{p.conditions[v]:g}" for v in series.variables),
                      Text(p.phase), f"{p.phase_probability:.2f}", name, note)
    return table


@app.command()
def series(
    files: list[Path] = typer.Argument(
        None, help="Data files, one per point, in the order of --var's values."
    ),
    variables: list[str] = typer.Option(
        None, "--var", help="NAME=V1,V2,...: the condition of each file (one number per file, in order). "
        "Twice for a 2-D map (x, then y)."
    ),
    table: Path = typer.Option(
        None, "--table", help="CSV instead of FILE... --var: header file,NAME[,NAME], one row per file "
        "(relative file names are read next to the table)."
    ),
    out_png: Path = typer.Option(None, "--out", help="Write the phase map to this PNG."),
    title: str = typer.Option("", help="Title of the phase map."),
    model: str = typer.Option(None, help="Run, checkpoint or ensemble folder (default: the shipped model)."),
    top: int = typer.Option(3, "--top", help="Candidates shown per file."),
    fit: bool = typer.Option(
        False, "--fit", help="Fit the best --fit-top candidates; the phase is the best fit's."
    ),
    fit_top: int = typer.Option(FIT_SHORTLIST, "--fit-top", help="With --fit: candidates to fit."),
    fit_time: float = typer.Option(60.0, "--fit-time", help="Seconds each candidate's fit may take."),
    workers: int = typer.Option(1, "--workers", help="Processes fitting candidates at once with --fit."),
    seed: int = typer.Option(0, help="Seed of the fits' prior draws."),
    q_units: str = typer.Option(None, "--q-units", help="Unit of q in the files, overriding them: A or nm."),
    as_json: bool = typer.Option(False, "--json", help="Print a JSON array: predict's object per file "
                                 "plus conditions, phase, phase_probability and phases."),
) -> None:
    """A series of curves (temperature, concentration, ...) as a phase map.

    Each file is classified as `sasnn predict` does (with --fit, confirmed by fitting) and
    its answer grouped into a phase: the form factor's family (spheres, cylinders, polymer
    chains, ...) with its structure factor, or "ordered" for paracrystals, lamellar stacks
    and Bragg peaks. The phase's probability sums the classifier's probabilities of its
    pairs. Exit status 2, with nothing written, when a file is missing or unreadable, a
    condition is not a number, or the counts of files and values differ.
    """
    for name, value in (("--top", top), ("--fit-top", fit_top), ("--workers", workers)):
        if value < 1:
            raise _refuse(f"{name} must be a positive number, got {value}")
    if not fit_time > 0:
        raise _refuse(f"--fit-time must be a positive number of seconds, got {fit_time}")
    if q_units not in (None, "A", "nm"):
        raise _refuse(f"--q-units must be A or nm, got {q_units!r}")
    if out_png is not None and (out_png.suffix.lower() != ".png" or not out_png.parent.is_dir()):
        raise _refuse(f"--out {out_png}: expected a .png file in an existing folder")
    paths, conditions = _conditions(list(files or []), list(variables or []), table)
    groups, unreadable = read_files(paths, q_units)  # prints one line per unreadable file
    if unreadable:
        raise typer.Exit(2)
    from sasnn.identify.loading import load_predictor
    from sasnn.identify.series import classify_series

    result = classify_series(load_predictor(model), groups, conditions, top=top, fit=fit, fit_top=fit_top,
                             seed=seed, fit_time=fit_time, workers=workers)
    if out_png is not None:
        from sasnn.plots.phase_map import plot_phase_map

        plot_phase_map(result, out_png, title=title)
        err.print(f"wrote the phase map of {len(result.points)} points to {out_png}",
                  markup=False, highlight=False)
    if as_json:
        out.print_json(json.dumps([p.to_dict() for p in result.points]))
    else:
        out.print(_table(result))
