"""``sasnn predict``: rank the candidate models of measured curves, optionally confirm by fitting."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import typer

from sasnn.cli._app import UserError, app, err, expand_paths, out, read_files
from sasnn.cli._inputs import folders_without_data
from sasnn.cli.identify import _progress
from sasnn.identify.confirm import FIT_SHORTLIST
from sasnn.plots.report_folder import STOPPED_BY_TIME

# the report folder's file names (sasnn.plots.report_folder's, kept light for `sasnn --help`)
REPORT_INDEX = "report.json"
REPORT_SUMMARY = "summary.md"
PNG_NAME = re.compile(r"[\w.-]+\.png")


def _report_dir(path: Path) -> set[str]:
    """Prepare ``--report DIR``; return the names a previous report wrote there. A folder
    holding anything else is refused, so nothing the user wrote is overwritten."""
    if path.exists() and not path.is_dir():
        raise UserError(f"--report {path} is a file; expected a folder")
    ours: set[str] = set()
    if path.is_dir() and any(path.iterdir()):
        try:
            index = json.loads((path / REPORT_INDEX).read_text())
            ours = {REPORT_INDEX, REPORT_SUMMARY, *filter(PNG_NAME.fullmatch, index["files"])}
        except (OSError, ValueError, KeyError, TypeError):
            ours = set()
        foreign = sorted(p.name for p in path.iterdir() if p.name not in ours)
        if foreign:
            raise UserError(
                f"--report {path} holds files an earlier `sasnn predict --report` did not write "
                f"({', '.join(foreign[:5])}); choose an empty or new folder"
            )
    path.mkdir(parents=True, exist_ok=True)
    return ours


def _short_parameters(fit) -> str:
    """``radius 23.7±1.3, thickness 7±30?; ? undetermined`` without scale and background
    (they are in the JSON); ``?`` marks what the data do not determine."""
    undetermined = set(fit.undetermined)
    shown = [(k, v) for k, v in fit.parameters.items() if k not in ("scale", "background")]
    text = ", ".join(f"{k} {v:.4g}±{e:.2g}" + ("?" if k in undetermined else "") for k, (v, e) in shown)
    return text + ("; ? undetermined" if undetermined & {k for k, _ in shown} else "")


def _twins(prediction) -> list[str]:
    """Catalogue twins among the candidates, and fits the data cannot choose between."""
    from sasnn.plots.report_folder import twin_notes

    return twin_notes(prediction)


def _table(predictions):
    from rich.table import Table
    from rich.text import Text

    from sasnn.simulate.kernels import model_name

    fitted = any(p.fits for p in predictions)
    columns = ["file [entry]", "#", "model", "p"] + (["χ²ᵣ", "BIC", "parameters"] if fitted else [])
    table = Table(*columns, "note", box=None)
    for column in table.columns:
        column.overflow = "fold"
    for p in predictions:
        # Text, not markup: file names, entries and reasons may hold "[...]"
        name = Text(Path(p.file).name + (f" [{p.entry}]" if p.entry else ""))
        note = Text.assemble(("unsure: ", "red"), p.reason or "") if p.unsure else Text("")
        for twin in _twins(p):
            note.append_text(Text(("\n" if note else "") + twin))
        if not p.candidates:
            table.add_row(name, "", "", "", *([""] * 3 if fitted else []), note)
        for rank, c in enumerate(p.candidates):
            fit = p.fits[rank] if p.fits else None
            late = fit is not None and fit.stopped_by_time  # the rank of such a fit is provisional
            row = [name if rank == 0 else "", f"{rank + 1}{'?' if late else ''}",
                   model_name(c.model, c.structure_factor), f"{c.probability:.3f}"]
            if fitted:
                ok = fit is not None and fit.bic != float("inf")
                shown = _short_parameters(fit) if ok else (fit.message if fit else "")
                row += [f"{fit.chi2_red:.3g}" if ok else "—", f"{fit.bic:.1f}" if ok else "—",
                        Text(shown + (f"\n{STOPPED_BY_TIME}" if late else ""))]
            table.add_row(*row, note if rank == 0 else "")
    return table


@app.command()
def predict(
    files: list[Path] = typer.Argument(..., help="Data files, folders or quoted glob patterns."),
    model: str = typer.Option(None, help="Run, checkpoint or ensemble folder (default: the shipped model)."),
    top: int = typer.Option(3, "--top", help="Candidates (form factor, structure factor) per entry."),
    fit: bool = typer.Option(
        False, "--fit", help="Fit the classifier's best --fit-top candidates and the reference models "
        "an expert tries first (sphere, coil, ...) with sasmodels + bumps; show the best --top by BIC, "
        "the simplest first among fits within ΔBIC ≤ 2."
    ),
    fit_top: int = typer.Option(
        FIT_SHORTLIST, "--fit-top", help="With --fit: how many of the classifier's candidates to fit "
        "besides the reference models (at least --top)."
    ),
    joint: bool = typer.Option(
        False, "--joint", help="Treat the entries of each file as one sample on several instruments "
        "(SANS + USANS): combine their predictions and fit them together."
    ),
    q_units: str = typer.Option(None, "--q-units", help="Unit of q in the files, overriding them: A or nm."),
    report_dir: Path = typer.Option(
        None, "--report", help="Folder for one PNG per entry (data, fits, residuals, probabilities) "
        "and report.json."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print a JSON array, one object per entry."),
    fit_time: float = typer.Option(
        None, "--fit-time", help="Safety net, off by default: seconds each candidate's fit may take. "
        "Fits are bounded by work, so answers repeat on any machine; one this limit stops is marked "
        "'stopped by time' and its rank is provisional."
    ),
    workers: int = typer.Option(
        None, "--workers", help="Processes fitting candidates at once with --fit (default: one per CPU)."
    ),
    seed: int = typer.Option(0, help="Seed of the fits' prior draws."),
    also: str = typer.Option(
        None, "--also", help="Comma-separated MODEL[@STRUCTURE_FACTOR] pairs to rank (and fit) "
        "besides the top K, e.g. sphere,core_shell_sphere@hayter_msa."
    ),
) -> None:
    """Which models describe these curves? Ranked (form factor, structure factor) pairs.

    Probabilities are calibrated on simulated data. An entry is marked unsure, with
    the reason, when its q range lies outside the trained window, confidence is low,
    the curve is unlike the training data, or (with --fit) no candidate fits.
    Exit status: 0 when every file was read, 2 when any could not be, or a folder
    held no readable data file (one line each on stderr; the others are still
    reported). Each entry's JSON has the unit q was read in and its q range in Å⁻¹.
    """
    if top < 1:
        raise UserError(f"--top must be a positive number of candidates, got {top}")
    if q_units not in (None, "A", "nm"):
        raise UserError(f"--q-units must be A or nm, got {q_units!r}")
    if fit_time is not None and not fit_time > 0:
        raise UserError(f"--fit-time must be a positive number of seconds, got {fit_time}")
    if fit_top < 1:
        raise UserError(f"--fit-top must be a positive number of candidates, got {fit_top}")
    if workers is not None and workers < 1:
        raise UserError(f"--workers must be a positive number of processes, got {workers}")
    from sasnn.identify.api import fitted_shortlist, parse_pairs, predict_groups
    from sasnn.identify.loading import load_predictor

    predictor = load_predictor(model)
    extra = parse_pairs(also)
    for pair in extra:
        predictor.predict([], also=[pair])  # validates the names before any file is read
    written = _report_dir(report_dir) if report_dir is not None else set()

    paths = expand_paths(files)
    progress, task = _progress(len(paths), "reading")
    with progress:
        groups, unreadable = read_files(paths, q_units, on_file=lambda _: progress.advance(task))
    for phrase in folders_without_data(files, groups):
        err.print(f"sasnn: error: {phrase}", markup=False, highlight=False)
        unreadable = True
    if not groups:  # nothing read: the lines above say why
        raise typer.Exit(2)
    shortlist = fitted_shortlist(top, fit_top) if fit else top
    jobs = predict_groups(predictor, groups, top=shortlist, joint=joint, also=extra,
                          references=fit)  # (prediction, curves)
    if fit:
        jobs = _confirm_all(jobs, seed=seed, fit_time=fit_time, keep=top, keep_pairs=extra,
                            workers=workers or os.cpu_count() or 1)
    predictions = [p for p, _ in jobs]
    if report_dir is not None:
        _write_report(report_dir, jobs, written)
    if as_json:
        out.print_json(json.dumps([p.to_dict() for p in predictions]))
    elif predictions:
        out.print(_table(predictions))
    if unreadable:
        raise typer.Exit(2)


def _confirm_all(jobs, *, seed: int, fit_time: float | None, keep: int, keep_pairs, workers: int):
    import dataclasses

    from sasnn.identify.confirm import confirm

    progress, task = _progress(sum(len(p.candidates) for p, _ in jobs), "fitting")
    confirmed = []
    with progress:
        for prediction, curves in jobs:
            label = Path(prediction.file).name + (f" [{prediction.entry}]" if prediction.entry else "")
            progress.update(task, description=f"fitting {label}")
            if not prediction.candidates:
                confirmed.append((prediction, curves))
                continue
            try:
                prediction = confirm(prediction, curves, seed=seed, time_limit=fit_time, keep=keep,
                                     keep_pairs=keep_pairs, workers=workers,
                                     on_candidate=lambda name: progress.advance(task))
            except ValueError as exc:  # a curve the fit cannot use (too few points, ...)
                err.print(f"sasnn: warning: {label}: not fitted: {exc}", markup=False, highlight=False)
                reason = "; ".join(filter(None, [prediction.reason, f"not fitted: {exc}"]))
                prediction = dataclasses.replace(prediction, unsure=True, reason=reason)
            confirmed.append((prediction, curves))
    return confirmed


def _write_report(folder: Path, jobs, previous: set[str]) -> None:
    from sasnn.plots.report_folder import write_report

    progress, task = _progress(len(jobs), "plotting")
    with progress:
        names = write_report(folder, jobs, on_plot=lambda: progress.advance(task))
    for stale in previous - set(names) - {REPORT_INDEX, REPORT_SUMMARY}:  # an earlier report's
        (folder / stale).unlink(missing_ok=True)
    err.print(f"report: {len(names)} PNG(s), {REPORT_SUMMARY} and {REPORT_INDEX} in {folder}",
              markup=False, highlight=False)
