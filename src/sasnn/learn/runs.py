"""A training run's folder: its identity, and the rule that nothing else in it is touched.

RUN_DIR holds ``config.json`` (the run's identity: architecture, configs, dataset
hash, classes, grid), ``history.json`` and the ``last``/``best``/``model``
checkpoints (see :mod:`sasnn.learn.training`). A folder holding anything else, or another
run, is refused; the same run in the same folder resumes.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict
from pathlib import Path

from sasnn.learn.networks import existing_checkpoint

RUN_FORMAT = "sasnn-run"
RUN_FILES = {"config.json", "history.json", "last", "best", "model"}


#: TrainConfig fields added after runs were first written, left out of the spec at their
#: default so that a run begun before them still resumes.
_LATER_DEFAULTS = {"shift_augment": 0.0}


def run_spec(data, kind: str, model_config, config) -> dict:
    """The identity of a run: a RUN_DIR with another spec is never touched."""
    spec = {
        "format": RUN_FORMAT,
        "architecture": kind,
        "model_config": asdict(model_config),
        "train_config": {k: v for k, v in asdict(config).items()
                         if k not in ("num_threads", "device") and _LATER_DEFAULTS.get(k, ...) != v},
        "dataset_sha256": data.manifest_sha256,
        "class_names": list(data.class_names),
        "structure_factors": list(data.structure_factors),
        "grid": data.grid.tolist(),
    }
    return json.loads(json.dumps(spec))  # as it reads back from config.json (tuples → lists)


def check_run_dir(run_dir: Path) -> None:
    """Refuse, before any work, a RUN_DIR holding files that are not part of a sasnn run."""
    run_dir = Path(run_dir)
    if run_dir.exists() and not run_dir.is_dir():
        raise FileExistsError(f"{run_dir} is a file; --out must be a folder")
    if not run_dir.is_dir():
        return
    strays = sorted(
        p.name for p in run_dir.iterdir() if p.name.removesuffix(".tmp").removesuffix(".old") not in RUN_FILES
    )
    if strays:
        raise FileExistsError(
            f"{run_dir} holds files that are not part of a sasnn run ({', '.join(strays[:5])}); "
            "choose an empty or new --out folder"
        )


def open_run_dir(run_dir: Path, spec: dict) -> bool:
    """Create RUN_DIR or check it holds this run; True if the run is already finished."""
    check_run_dir(run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    config_path = run_dir / "config.json"
    if config_path.is_file():
        stored = read_json(config_path)
        if stored != spec:
            diff = sorted(k for k in set(spec) | set(stored) if spec.get(k) != stored.get(k))
            raise FileExistsError(
                f"{run_dir} holds a different training run (differs in: {', '.join(diff)}); "
                "it is left untouched: choose another --out folder"
            )
        return existing_checkpoint(run_dir / "model") is not None
    if any(run_dir.iterdir()):
        raise FileExistsError(f"{run_dir} holds a run without its config.json; choose another --out folder")
    write_json(config_path, spec)
    return False


def read_json(path: Path):
    return json.loads(Path(path).read_text())


def write_json(path: Path, value) -> None:
    tmp = Path(path).with_name(Path(path).name + ".tmp")
    tmp.write_text(json.dumps(value, indent=1) + "\n")
    os.replace(tmp, path)


__all__ = ["RUN_FILES", "RUN_FORMAT", "check_run_dir", "open_run_dir", "read_json", "run_spec", "write_json"]
