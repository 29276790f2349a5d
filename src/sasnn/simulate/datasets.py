"""Simulated datasets: a folder of shards plus ``manifest.json``.

Layout of a dataset folder::

    DIR/manifest.json              what was simulated, how, and which shards are done
    DIR/shards/<class>-<k>.npz     one shard: up to ``shard_size`` curves of one class

Guarantees (DESIGN.md §3):

* **Deterministic.** Each shard draws from its own generator, seeded from
  ``(seed, class name, shard index)``; the parent process writes every file. The
  bytes on disk are the same for any number of workers, and for local processes or
  a Dask cluster.
* **Resumable.** Shards are written atomically and recorded in the manifest as they
  finish; rerunning the same command after a crash (even SIGKILL) skips them.
* **Safe.** A folder that holds anything other than a dataset with the same
  specification is refused, never overwritten.
* **Streamable.** :func:`iter_shards` reads one shard at a time, so no consumer
  needs the whole dataset in memory.

Curves have different Q grids, so a shard stores them ragged: concatenated
``q, intensity, sigma, dq`` with ``offsets`` marking where each curve starts.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import asdict, fields, is_dataclass
from pathlib import Path

import numpy as np

from sasnn import __version__
from sasnn.io.curve import Curve
from sasnn.simulate import nuisance
from sasnn.simulate.config import ShardTask, SimulationConfig, plan_shards, structure_factor_names
from sasnn.simulate.shard import simulate_shard
from sasnn.simulate.shards import (
    FORMAT,
    MANIFEST,
    Shard,
    file_sha256,
    load_shard,
    read_manifest,
    save_shard,
    write_manifest,
)

FORMAT_VERSION = 1


def _plain(obj):
    """Dataclasses/mappings/tuples → JSON-able plain values (callables by name)."""
    if is_dataclass(obj) and not isinstance(obj, type):
        return {f.name: _plain(getattr(obj, f.name)) for f in fields(obj)}
    if isinstance(obj, dict) or hasattr(obj, "items"):
        return {str(k): _plain(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_plain(v) for v in obj]
    if callable(obj):
        return getattr(obj, "__qualname__", repr(obj))
    if isinstance(obj, np.generic):
        return obj.item()
    return obj


def dataset_spec(config: SimulationConfig) -> dict:
    """Everything that determines the bytes of a dataset. Two folders with equal
    specs hold identical data; a folder with another spec is never touched."""
    import sasmodels

    from sasnn.simulate.catalog import CATALOG, STRUCTURE_FACTORS

    plain = _plain(asdict(config))
    spec = {
        "config": plain,
        "catalog": {name: _plain(CATALOG[name]) for name in config.classes},
        "structure_factors": _plain(STRUCTURE_FACTORS),
        "versions": {"sasnn": __version__, "sasmodels": sasmodels.__version__, "numpy": np.__version__},
        "format_version": FORMAT_VERSION,
    }
    if config.nuisances == "none":
        del plain["nuisances"]  # as for priors: specs of folders from before the field stay as they were
    else:
        # tuples become JSON lists, so the spec equals the manifest's copy on resume
        spec["nuisances"] = _plain(nuisance.PRESETS[config.nuisances].to_dict())
    if config.priors == "narrow":
        del plain["priors"]  # narrow specs stay those of folders made before the field existed
    elif config.priors == "wide":
        from sasnn.simulate import wide

        spec["wide"] = {"version": wide.WIDE_VERSION, "priors": {n: wide.describe(n) for n in config.classes}}
    else:
        from sasnn.simulate import scaled

        spec["scaled"] = {"version": scaled.SCALED_VERSION,
                          "priors": {n: scaled.describe(n) for n in config.classes}}
    return spec


#: Manifest fields a dataset needs to be trained or scored on: they say what drew its
#: curves. Folders simulated before they were recorded are refused, not guessed.
REQUIRED_FIELDS = ("priors", "nuisances")


def read_dataset(directory: Path) -> dict:
    """The manifest of a dataset folder to train or score on (ValueError naming the folder
    and the command that rebuilds it when it predates :data:`REQUIRED_FIELDS`)."""
    manifest = read_manifest(directory)
    missing = [name for name in REQUIRED_FIELDS if name not in manifest]
    if missing:
        raise ValueError(
            f"{directory} was simulated by an older sasnn: its manifest does not record "
            f"{' or '.join(missing)}, so what drew its curves is unknown; rebuild it with "
            f"`{rebuild_command(Path(directory), manifest)}`"
        )
    return manifest


def rebuild_command(directory: Path, manifest: dict) -> str:
    """The ``sasnn simulate`` command that draws an old folder's dataset anew, beside it."""
    config = manifest.get("spec", {}).get("config", {})
    parts = [f"sasnn simulate --out {directory.with_name(directory.name + '-rebuilt')}",
             f"--per-class {config.get('per_class', '<N>')}", f"--seed {manifest.get('seed', '<S>')}",
             "--priors narrow"]
    classes = manifest.get("classes", [])
    from sasnn.simulate.catalog import CATALOG

    if classes and list(classes) != list(CATALOG):
        parts.append(f"--classes {','.join(classes)}")
    share = config.get("structure_factor_share")
    if share is not None and share != SimulationConfig.structure_factor_share:
        parts.append(f"--sf-share {share}")
    return " ".join(parts)


def dataset_priors(manifest: dict) -> str:
    """The prior set a dataset was drawn from (a manifest read by :func:`read_dataset`)."""
    return manifest["priors"]


def _manifest(config: SimulationConfig, spec: dict, records: dict[str, dict], complete: bool) -> dict:
    order = {t.filename: i for i, t in enumerate(plan_shards(config))}
    shards = sorted(records.values(), key=lambda r: order[r["file"]])
    rejections: dict[str, dict[str, int]] = {name: {} for name in config.classes}
    for record in shards:
        for reason, n in record["rejected"].items():
            rejections[record["class"]][reason] = rejections[record["class"]].get(reason, 0) + n
    return {
        "format": FORMAT,
        "spec": spec,
        "classes": list(config.classes),
        "structure_factors": structure_factor_names(),
        "seed": config.seed,
        "priors": config.priors,
        "nuisances": config.nuisances,
        "n_curves": sum(r["n"] for r in shards),
        "complete": complete,
        "rejections": rejections,
        "shards": shards,
    }


def _prepare_folder(directory: Path, spec: dict) -> dict[str, dict]:
    """Create the folder, or check it holds this very dataset; return finished shards."""
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "shards").mkdir(exist_ok=True)
    if not (directory / MANIFEST).exists():
        others = [p.name for p in directory.iterdir() if p.name != "shards"]
        if others or any((directory / "shards").iterdir()):
            raise FileExistsError(
                f"{directory} is not empty and holds no sasnn dataset; choose an empty or new --out folder"
            )
        return {}
    manifest = read_manifest(directory)
    if manifest["spec"] != spec:
        diff = sorted(k for k in set(spec) | set(manifest["spec"]) if spec.get(k) != manifest["spec"].get(k))
        raise FileExistsError(
            f"{directory} holds a different dataset (differs in: {', '.join(diff)}); "
            "it is left untouched: choose another --out folder"
        )
    done = {}
    for record in manifest["shards"]:
        path = directory / "shards" / record["file"]
        if path.is_file() and file_sha256(path) == record["sha256"]:
            done[record["file"]] = record
    return done


ProgressCallback = Callable[[int, int], None]  # (curves kept, draws rejected) for one finished shard


def generate_dataset(
    directory: Path,
    config: SimulationConfig,
    *,
    workers: int = 1,
    scheduler: str | None = None,
    on_shard: ProgressCallback | None = None,
) -> dict:
    """Simulate ``config`` into ``directory`` (resuming finished shards); return the manifest.

    ``workers`` local processes (1: in this process), or the Dask scheduler at
    ``scheduler`` (an address such as ``tcp://host:8786``, or a ``distributed.Client``).
    """
    from sasnn.simulate.kernels import compile_kernels

    directory = Path(directory)
    if workers < 1:
        raise ValueError(f"--workers must be >= 1, got {workers}")
    spec = dataset_spec(config)
    done = _prepare_folder(directory, spec)
    for part in (directory / "shards").glob("*.part"):
        part.unlink()  # left by a killed run; never a finished shard
    todo = [t for t in plan_shards(config) if t.filename not in done]
    if on_shard:
        for record in done.values():
            on_shard(record["n"], sum(record["rejected"].values()))
    # Compile every kernel here, once, before any worker starts: concurrent first
    # compiles of the same kernel race and fail ("file too short").
    sf_names = structure_factor_names()[1:]
    compile_kernels(_kernel_pairs(config.classes, sf_names))
    write_manifest(directory, _manifest(config, spec, done, complete=False))

    def finish(shard: Shard) -> None:
        task = ShardTask(shard.class_name, shard.index, len(shard))
        digest = save_shard(directory / "shards" / task.filename, shard)
        done[task.filename] = {
            "file": task.filename,
            "class": shard.class_name,
            "index": shard.index,
            "n": len(shard),
            "rejected": shard.rejected,
            "sha256": digest,
        }
        write_manifest(directory, _manifest(config, spec, done, complete=False))
        if on_shard:
            on_shard(len(shard), sum(shard.rejected.values()))

    for shard in _run_tasks(todo, config, workers, scheduler):
        finish(shard)
    manifest = _manifest(config, spec, done, complete=True)
    write_manifest(directory, manifest)
    return manifest


def _kernel_pairs(classes, sf_names) -> list[tuple[str, str | None]]:
    from sasnn.simulate.catalog import CATALOG

    pairs = []
    for name in classes:
        pairs.append((name, None))
        if CATALOG[name].structure_factor:
            pairs += [(name, sf) for sf in sf_names]
    return pairs


def _run_tasks(tasks: list[ShardTask], config: SimulationConfig, workers: int, scheduler) -> Iterator[Shard]:
    """Yield finished shards in completion order, from whichever executor was asked for."""
    if not tasks:
        return
    if scheduler is not None:
        from distributed import Client, as_completed

        client = scheduler if isinstance(scheduler, Client) else Client(scheduler)
        try:
            futures = [client.submit(simulate_shard, t, config, pure=False) for t in tasks]
            for future in as_completed(futures):
                yield future.result()
        finally:
            if client is not scheduler:
                client.close()
    elif workers == 1:
        for task in tasks:
            yield simulate_shard(task, config)
    else:
        import multiprocessing
        from concurrent.futures import ProcessPoolExecutor, as_completed

        # spawn, not fork: the parent may run a progress-bar thread, and fork + threads can deadlock.
        context = multiprocessing.get_context("spawn")
        with ProcessPoolExecutor(workers, mp_context=context) as pool:
            futures = [pool.submit(simulate_shard, t, config) for t in tasks]
            try:
                for future in as_completed(futures):
                    yield future.result()
            except BaseException:
                pool.shutdown(wait=False, cancel_futures=True)
                raise


def iter_shards(directory: Path, *, verify: bool = True) -> Iterator[Shard]:
    """Stream the shards of a complete dataset, in manifest order, one at a time."""
    directory = Path(directory)
    manifest = read_dataset(directory)
    if not manifest["complete"]:
        raise ValueError(
            f"{directory} holds an unfinished dataset; rerun the same `sasnn simulate` command to complete it"
        )
    for record in manifest["shards"]:
        path = directory / "shards" / record["file"]
        if not path.is_file():
            raise FileNotFoundError(f"{path} is missing from the dataset {directory}")
        if verify and file_sha256(path) != record["sha256"]:
            raise ValueError(f"{path} does not match its checksum in {MANIFEST}; the dataset is damaged")
        yield load_shard(path)


def simulate_examples(
    class_name: str, n: int, *, seed: int, structure_factor_share: float = 0.5
) -> list[Curve]:
    """``n`` simulated measurements of one class, exactly as a dataset would hold them."""
    config = SimulationConfig(
        classes=(class_name,),
        per_class=n,
        seed=seed,
        structure_factor_share=structure_factor_share,
        shard_size=n,
    )
    shard = simulate_shard(ShardTask(class_name, 0, n), config)
    return [shard.curve(i) for i in range(len(shard))]


def describe_catalog() -> dict:
    """The catalogue as plain JSON-able data (``sasnn catalog --json``)."""
    from sasnn.simulate.catalog import CATALOG, EXCLUDED, STRUCTURE_FACTORS

    return {
        "classes": [_plain(c) for c in CATALOG.values()],
        "structure_factors": [_plain(s) for s in STRUCTURE_FACTORS.values()],
        "excluded": dict(EXCLUDED),
        "n_classes": len(CATALOG),
    }
