"""``sasnn train``, ``sasnn ensemble``, ``sasnn evaluate`` and ``sasnn explain``: the
identification side of the CLI."""

from __future__ import annotations

import json
import re
import time
from pathlib import Path

import typer

from sasnn.cli._app import UserError, app, err, out, read_files

REPORT_FILES = {"metrics.json", "confusion.png", "per_class.png"}
EXPLAIN_FILES = re.compile(r"(filters|feature_maps|saliency)(-\d+)?\.png")


def _check_out_dir(path: Path, ours) -> None:
    """Refuse a folder that holds anything sasnn would not have written there itself."""
    if path.exists() and not path.is_dir():
        raise UserError(f"{path} is a file; expected a folder")
    if path.is_dir():
        foreign = sorted(
            p.name
            for p in path.iterdir()
            if not (p.name in ours if isinstance(ours, set) else ours.fullmatch(p.name))
        )
        if foreign:
            raise UserError(
                f"{path} holds files sasnn did not write ({', '.join(foreign[:5])}); "
                "choose an empty or new folder"
            )
    path.mkdir(parents=True, exist_ok=True)


def _progress(total: int, label: str):
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    progress = Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[info]}"),
        TimeRemainingColumn(),
        console=err,
        transient=True,
        disable=not err.is_terminal,  # no bar and no blank lines in logs and pipes
    )
    return progress, progress.add_task(label, total=total, info="")


def _load_arrays(data: Path | list[Path], grid, with_sigma: bool = False, channels=None, **labels):
    """One dataset folder (with the model's ``labels`` order), or several for training."""
    from sasnn.learn.preprocessing import BASE_CHANNELS
    from sasnn.learn.training import load_datasets, load_training_arrays
    from sasnn.simulate.datasets import read_manifest

    channels = channels or BASE_CHANNELS
    folders = data if isinstance(data, list) else [data]
    progress, task = _progress(sum(read_manifest(d)["n_curves"] for d in folders), "preparing curves")
    advance = lambda n: progress.advance(task, n)  # noqa: E731
    with progress:
        if isinstance(data, list):
            return load_datasets(folders, grid, on_shard=advance, with_sigma=with_sigma, channels=channels)
        return load_training_arrays(data, grid, on_shard=advance, with_sigma=with_sigma, channels=channels,
                                    **labels)


def _warm_start_folder(value: str | None) -> str | None:
    """The absolute model folder ``--init-from`` names ('shipped': the shipped model)."""
    if value is None:
        return None
    from sasnn.identify.model_folder import resolve_model_path

    try:
        return str(Path(resolve_model_path(None if value == "shipped" else value)).resolve())
    except FileNotFoundError as exc:
        raise FileNotFoundError(str(exc).replace("--model", "--init-from", 1)) from None


@app.command()
def train(
    data: list[Path] = typer.Option(
        ..., "--data", help="Dataset folder written by `sasnn simulate`; repeat to train on several."
    ),
    out_dir: Path = typer.Option(..., "--out", help="Run folder (rerun the same command to resume)."),
    epochs: int = typer.Option(None, help="Maximum epochs (default 40; early stopping may end sooner)."),
    seed: int = typer.Option(None, help="Seed of split, weights, shuffling and crops (default 0)."),
    config: Path = typer.Option(
        None, "--config", help=r"run.toml with \[train] and \[cnn] (or \[sasnets]) tables."
    ),
    architecture: str = typer.Option("cnn", help="cnn, or sasnets (the baseline network)."),
    init_from: str = typer.Option(
        None, "--init-from", help="Run or model folder whose weights start the run (a warm start; "
        "same network, classes and grid), or 'shipped' for the shipped model."
    ),
) -> None:
    """Train the identification network on a simulated dataset; resumable after a kill."""
    from sasnn.learn.preprocessing import channels_for, default_grid
    from sasnn.learn.training import check_run_dir, fit, load_run_config

    train_config, model_config = load_run_config(
        config, architecture, epochs=epochs, seed=seed,
        init_from=_warm_start_folder(init_from))
    check_run_dir(out_dir)
    channels = channels_for(getattr(model_config, "in_channels", 2))  # SASNets reads channel 0 only
    arrays = _load_arrays(data, default_grid(model_config.n_q), with_sigma=train_config.noise_augment > 0,
                          channels=channels)
    progress, task = _progress(round(len(arrays) * (1 - train_config.val_fraction)), "epoch 1")

    def report(event: dict) -> None:
        if event["event"] == "batch":
            progress.update(task, advance=event["curves"], description=f"epoch {event['epoch'] + 1}")
            return
        progress.console.print(
            f"epoch {event['epoch'] + 1}: train loss {event['train_loss']:.3f}, "
            f"val loss {event['val_loss']:.3f}, "
            f"val top-1 {100 * event['val_top1']:.1f} %, S(Q) {100 * event['val_sf_accuracy']:.1f} %, "
            f"{event['curves_per_s']:,.0f} curves/s"
        )
        progress.reset(task)

    with progress:
        _, history = fit(arrays, model_config, train_config, out_dir, progress=report)
    from sasnn.plots.identify import plot_history

    plot_history(history, out_dir / "model" / "history.png")
    metrics = json.loads((out_dir / "model" / "meta.json").read_text())["metrics"]["validation"]
    err.print(
        f"trained {len(history)} epochs → {out_dir / 'model'}: validation top-1 "
        f"{100 * metrics['form_factor']['top1']:.1f} %, top-3 {100 * metrics['form_factor']['top3']:.1f} %, "
        f"S(Q) {100 * metrics['structure_factor']['accuracy']:.1f} %, ECE {metrics['ece']:.3f}"
    )


@app.command()
def ensemble(
    members: list[str] = typer.Argument(..., help="Two or more run or checkpoint folders (the first's "
                                        "novelty test and filters are the ensemble's)."),
    out_dir: Path = typer.Option(..., "--out", help="New folder for the ensemble (must not exist)."),
    calibrate: list[Path] = typer.Option(None, help="Simulated dataset folder, with a seed no member "
                                         "trained on, to fit the ensemble's temperatures and unsure "
                                         "level on; repeat it for several prior sets (default: none, "
                                         "T = 1 and the first member's level)."),
) -> None:
    """Combine trained models into one that averages their calibrated probabilities."""
    from sasnn.identify.ensemble import build_ensemble
    from sasnn.simulate.datasets import read_manifest

    calibrate = list(calibrate or ())
    total = sum(read_manifest(folder)["n_curves"] for folder in calibrate)
    progress, task = _progress(total, "calibrating")
    with progress:
        predictor = build_ensemble(members, out_dir, calibrate, on_shard=lambda n: progress.advance(task, n))
    done = f"wrote an ensemble of {len(predictor.networks)} networks ({len(predictor.class_names)} classes)"
    calibration = predictor.meta["calibration"]
    if calibration:
        t = predictor.meta["temperatures"]
        done += (f", temperatures {t['form_factor']:.3g} and {t['structure_factor']:.3g} "
                 f"(form-factor ECE on {calibration['n']:,} curves {calibration['ece_before']:.3f} → "
                 f"{calibration['ece_after']:.3f}; unsure below top-3 p = "
                 f"{predictor.meta['unsure']['min_confidence']:.2f})")
    err.print(f"{done} to {out_dir}; use it with --model {out_dir}")


@app.command()
def evaluate(
    data: Path = typer.Option(..., "--data", help="Test dataset folder (simulated with another seed)."),
    model: str = typer.Option(None, help="Run, checkpoint or ensemble folder (default: the shipped model)."),
    report_dir: Path = typer.Option(None, "--report", help="Folder for metrics.json and the figures."),
    as_json: bool = typer.Option(False, "--json", help="Print the metrics as JSON."),
) -> None:
    """Score a model on a labelled dataset: accuracy, macro-F1, calibration, confusions."""
    from sasnn.identify.loading import load_predictor
    from sasnn.learn import evaluation
    from sasnn.simulate.datasets import read_dataset
    from sasnn.simulate.sampling import family

    predictor = load_predictor(model)
    if report_dir is not None:
        _check_out_dir(report_dir, REPORT_FILES)
    arrays = _load_arrays(
        data, predictor.grid, channels=predictor.channels, class_names=predictor.class_names,
        structure_factors=predictor.structure_factors,
    )
    start = time.perf_counter()
    ff_logits, sf_logits = predictor.logits(arrays.x)
    rate = len(arrays) / (time.perf_counter() - start)
    t = predictor.meta["temperatures"]
    result = evaluation.report(
        arrays.form_factor,
        ff_logits,
        arrays.structure_factor,
        sf_logits,
        class_names=predictor.class_names,
        structure_factors=predictor.structure_factors,
        temperatures=(t["form_factor"], t["structure_factor"]),
        noise=arrays.noise,
        setup=arrays.setup,
        families=[family(name) for name in predictor.class_names],
    )
    result["model"] = str(predictor.path)
    manifest = read_dataset(data)
    result["data"] = {"folder": str(data), "priors": manifest["priors"], "nuisances": manifest["nuisances"],
                      "seed": manifest["seed"], "left_out": arrays.skipped}
    if arrays.skipped:
        err.print(f"{arrays.skipped} curves of {data} were left out: fewer than 2 points with I > 0")
    result["inference_curves_per_s"] = rate
    if report_dir is not None:
        _write_report(result, report_dir)
    matrix = result.pop("confusion_matrix")
    if as_json:
        out.print_json(json.dumps(result))
    else:
        _print_summary(result)
    if report_dir is not None:
        err.print(
            f"wrote metrics.json, confusion.png ({len(matrix['labels'])} classes) "
            f"and per_class.png to {report_dir}"
        )


def _write_report(result: dict, report_dir: Path) -> None:
    import numpy as np

    from sasnn.plots.identify import plot_confusion, plot_per_class

    (report_dir / "metrics.json").write_text(json.dumps(result, indent=1) + "\n")
    ff = result["form_factor"]
    plot_confusion(
        np.array(result["confusion_matrix"]["counts"]),
        result["confusion_matrix"]["labels"],
        report_dir / "confusion.png",
        title=f"{result['n']} test curves: top-1 {100 * ff['top1']:.1f} %, top-3 {100 * ff['top3']:.1f} %",
    )
    plot_per_class(result["per_class"], report_dir / "per_class.png")


def _print_summary(result: dict) -> None:
    from rich.table import Table

    ff, sf = result["form_factor"], result["structure_factor"]
    data = result["data"]
    table = Table(title=f"{result['n']} curves of {data['folder']} ({data['priors']} priors, "
                        f"nuisances {data['nuisances']}, seed {data['seed']}), model {result['model']}")
    for column in ("metric", "value"):
        table.add_column(column)
    rows = [
        ("form factor top-1", f"{100 * ff['top1']:.1f} %"),
        ("form factor top-3", f"{100 * ff['top3']:.1f} %"),
        ("form factor macro-F1", f"{ff['macro_f1']:.3f}"),
        ("top-1 of the right sasmodels category", f"{100 * ff['family_top1']:.1f} %"),
        ("structure factor accuracy", f"{100 * sf['accuracy']:.1f} %"),
        ("ECE (before calibration)", f"{result['ece']:.3f} ({result['ece_before_calibration']:.3f})"),
        ("inference", f"{result['inference_curves_per_s']:,.0f} curves/s"),
    ]
    rows += [
        (f"top-1, noise {k}", f"{100 * v['accuracy']:.1f} % of {v['n']}")
        for k, v in result["by_noise"].items()
    ]
    rows += [
        (f"top-1, {k}", f"{100 * v['accuracy']:.1f} % of {v['n']}") for k, v in result["by_setup"].items()
    ]
    rows += [
        (f"confused: {p['true']} → {p['predicted']}", f"{p['count']} ({100 * p['share_of_true']:.0f} %)")
        for p in result["most_confused"][:8]
    ]
    for row in rows:
        table.add_row(*row)
    out.print(table)


@app.command()
def explain(
    file: Path = typer.Argument(..., help="Data file (any format `sasnn predict` reads)."),
    model: str = typer.Option(None, help="Run, checkpoint or ensemble folder (default: the shipped model)."),
    out_dir: Path = typer.Option(
        ..., "--out", help="Folder for filters.png, feature_maps.png, saliency.png."
    ),
) -> None:
    """Show why the network decides: first-layer filters, feature maps and saliency over Q."""
    from sasnn.identify.loading import load_predictor
    from sasnn.learn.explain import explain_curve
    from sasnn.plots.identify import plot_feature_maps, plot_filters, plot_saliency

    predictor = load_predictor(model)
    shown = predictor.networks[0]  # an ensemble's first network (its filters are one network's)
    network, meta = shown.model, dict(shown.meta)
    groups, unreadable = read_files([file], None)  # repairs as one-line warnings
    if unreadable:
        raise typer.Exit(1)
    curves = groups[0]
    _check_out_dir(out_dir, EXPLAIN_FILES)
    written = []
    for k, curve in enumerate(curves):
        expl = explain_curve(network, meta, curve.q, curve.intensity, curve.sigma)
        suffix = f"-{k}" if len(curves) > 1 else ""
        title = f"{curve.short_label}: {expl.predicted} (p = {expl.probability:.2f})"
        written.append(plot_feature_maps(expl, out_dir / f"feature_maps{suffix}.png", title=title))
        written.append(plot_saliency(expl, out_dir / f"saliency{suffix}.png", title=title))
        if k == 0:
            written.append(plot_filters(expl.filters, expl.channels, out_dir / "filters.png"))
    which = f" (network 1 of the ensemble's {len(predictor.networks)})" if len(predictor.networks) > 1 else ""
    err.print(f"wrote {', '.join(p.name for p in written)} to {out_dir}{which}")
