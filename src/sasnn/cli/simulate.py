"""``sasnn simulate`` and ``sasnn catalog``: the simulation side of the CLI."""

from __future__ import annotations

import enum
import json
from pathlib import Path

import typer

from sasnn.cli._app import UserError, app, err, out

# the prior sets of sasnn.simulate.config.PRIORS (spelled here so --help needs no numpy)
PriorSet = enum.Enum("PriorSet", {name: name for name in ("narrow", "wide", "scaled")}, type=str)


def _split_classes(classes: str | None) -> tuple[str, ...]:
    from sasnn.simulate.catalog import CATALOG

    if classes is None:
        return tuple(CATALOG)
    return tuple(c.strip() for c in classes.split(",") if c.strip())


@app.command()
def simulate(
    out_path: Path = typer.Option(
        ..., "--out", help="Dataset folder (or, with --example, the file to write)."
    ),
    per_class: int = typer.Option(None, "--per-class", help="Curves per class."),
    seed: int = typer.Option(0, help="Seed every random draw descends from."),
    classes: str = typer.Option(None, help="Comma-separated classes (default: the whole catalogue)."),
    workers: int = typer.Option(2, help="Local worker processes (1 = in this process)."),
    scheduler: str = typer.Option(
        None, help="Dask scheduler address (tcp://host:8786) instead of local workers."
    ),
    structure_factor_share: float = typer.Option(
        None, "--sf-share", help="Share of curves with S(Q), where allowed (default: 0.5)."
    ),
    shard_size: int = typer.Option(250, help="Curves per shard (unit of work and of resumption)."),
    priors: PriorSet = typer.Option(
        PriorSet.narrow, help="Prior set: narrow (the catalogue's training priors), wide "
        "(independent of them: sasnn.simulate.wide) or scaled (sasmodels' defaults scaled by "
        "random factors: sasnn.simulate.scaled); wide and scaled make generalisation test sets."
    ),
    nuisances: str = typer.Option(
        "none", help="Artefacts of real files to draw: none, or realistic (an aggregate upturn, "
        "imperfect subtraction, merged-configuration steps, arbitrary units, no σ, sparse points, "
        "each for a share of curves: sasnn.simulate.nuisance.PRESETS)."
    ),
    example: str = typer.Option(
        None, help="Write one simulated measurement of this class as a SasView-readable file."
    ),
) -> None:
    """Simulate labelled, realistic SANS/SAXS curves into a sharded dataset folder.

    Rerunning the same command after an interruption resumes it; a folder that
    holds a different dataset is refused.
    """
    if example is not None:
        _write_example(example, out_path, seed)
        return
    if per_class is None:
        raise UserError("--per-class is required (or use --example MODEL to write one curve)")
    from rich.progress import (
        BarColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    from sasnn.simulate.config import SimulationConfig, plan_shards
    from sasnn.simulate.datasets import generate_dataset

    config = SimulationConfig(
        classes=_split_classes(classes),
        per_class=per_class,
        seed=seed,
        shard_size=shard_size,
        priors=priors.value,
        nuisances=nuisances,
        # None keeps SimulationConfig's default, the one place it is set
        **({} if structure_factor_share is None else {"structure_factor_share": structure_factor_share}),
    )
    total = sum(t.n_curves for t in plan_shards(config))
    columns = (
        TextColumn("simulating"),
        BarColumn(),
        TextColumn("{task.completed}/{task.total} curves"),
        TextColumn("{task.fields[rate]} curves/s"),
        TextColumn("rejected {task.fields[rejected]}"),
        TimeElapsedColumn(),
        TextColumn("ETA"),
        TimeRemainingColumn(),
    )
    # The bar starts with the first finished shard, so that a refused folder or a bad
    # option leaves nothing on screen but its one-line error.
    progress = Progress(*columns, console=err)
    bar = progress.add_task("simulate", total=total, rejected=0, rate="-")
    rejected = 0

    def on_shard(kept: int, n_rejected: int) -> None:
        nonlocal rejected
        progress.start()
        rejected += n_rejected
        progress.update(bar, advance=kept, rejected=rejected)
        speed = progress.tasks[bar].speed
        if speed:
            progress.update(bar, rate=f"{speed:.0f}")

    try:
        manifest = generate_dataset(out_path, config, workers=workers, scheduler=scheduler, on_shard=on_shard)
    finally:
        progress.stop()
    n_rejected = sum(sum(r.values()) for r in manifest["rejections"].values())
    err.print(
        f"wrote {manifest['n_curves']} curves of {len(manifest['classes'])} classes "
        f"({manifest['priors']} priors) to {out_path} "
        f"({n_rejected} invalid draws rejected; see manifest.json)"
    )


def _write_example(name: str, path: Path, seed: int) -> None:
    from sasnn.io.read import write_curve
    from sasnn.simulate.catalog import CATALOG
    from sasnn.simulate.datasets import simulate_examples

    if name not in CATALOG:
        raise UserError(f"unknown class {name!r}; valid: {', '.join(CATALOG)}")
    curve = simulate_examples(name, 1, seed=seed)[0]
    write_curve(path, curve)
    meta = curve.meta
    sf = f"@{meta['structure_factor']}" if meta["structure_factor"] else ""
    err.print(
        f"wrote one simulated {name}{sf} measurement ({meta['setup']}, {len(curve.q)} points) to {path}"
    )


@app.command()
def catalog(
    as_json: bool = typer.Option(False, "--json", help="Print the catalogue as JSON."),
    plot: str = typer.Option(None, help="Plot random draws of this class (needs --out)."),
    out_png: Path = typer.Option(None, "--out", help="PNG to write with --plot."),
    n: int = typer.Option(12, help="Curves to draw with --plot."),
    seed: int = typer.Option(0, help="Seed for --plot."),
) -> None:
    """List the classes and their priors, or plot random draws of one class."""
    from sasnn.simulate.catalog import CATALOG, EXCLUDED, STRUCTURE_FACTORS

    if plot is not None:
        if plot not in CATALOG:
            raise UserError(f"unknown class {plot!r}; valid: {', '.join(CATALOG)}")
        if out_png is None:
            raise UserError("--plot needs --out PNG")
        if n < 1:
            raise UserError(f"--n must be a positive number of curves, got {n}")
        from sasnn.plots.curves import plot_curve_grid
        from sasnn.simulate.datasets import simulate_examples

        plot_curve_grid(simulate_examples(plot, n, seed=seed), out_png, title=f"{plot}: {n} random draws")
        err.print(f"wrote {out_png}")
        return
    from sasnn.simulate.datasets import describe_catalog

    description = describe_catalog()
    if as_json:
        out.print_json(json.dumps(description))
        return
    from rich.table import Table

    table = Table(
        title=f"{len(CATALOG)} classes ({len(EXCLUDED)} sasmodels models excluded), "
        f"structure factors: {', '.join(STRUCTURE_FACTORS)}"
    )
    for column in ("class", "varied parameters", "polydisperse", "S(Q)"):
        table.add_column(column)
    for entry in description["classes"]:
        varied = ", ".join(
            f"{p}∈[{v['low']:g},{v['high']:g}]{'ᴸ' if v['scale'] == 'log' else ''}"
            for p, v in entry["priors"].items()
        )
        table.add_row(
            entry["name"],
            varied,
            ", ".join(entry["polydisperse"]) or "-",
            "yes" if entry["structure_factor"] else "-",
        )
    out.print(table)
    out.print("ᴸ: log-uniform. Excluded: " + "; ".join(f"{k} ({v})" for k, v in EXCLUDED.items()))
