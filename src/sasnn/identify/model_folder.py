"""Where a model lives: the shipped one inside the package, or a folder named by ``--model``
(a training run, a checkpoint, or an ensemble of checkpoints)."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

from sasnn.learn.networks import META

#: The file that marks a folder as an ensemble (:mod:`sasnn.identify.ensemble`).
ENSEMBLE = "ensemble.json"


def is_ensemble(directory: Path) -> bool:
    return (Path(directory) / ENSEMBLE).is_file()


def shipped_model_path() -> Path:
    """Where the pretrained model lives inside the installed package."""
    return Path(str(resources.files("sasnn") / "data" / "model"))


def bundled_models() -> dict[str, Path]:
    """Models shipped beside the default one, by the name ``--model`` takes (for
    comparison: the default before it was replaced, or an alternative)."""
    root = Path(str(resources.files("sasnn") / "data" / "models"))
    if not root.is_dir():
        return {}
    return {p.name: p for p in sorted(root.iterdir()) if (p / META).is_file() or (p / ENSEMBLE).is_file()}


def resolve_model_path(path: str | Path | None) -> Path:
    """A model folder from ``--model``: a run folder, a checkpoint folder, an ensemble
    folder (:mod:`sasnn.identify.ensemble`), the name of a bundled model
    (:func:`bundled_models`), or None (shipped)."""
    bundled = bundled_models()
    if isinstance(path, str) and path in bundled and not Path(path).exists():
        return bundled[path]
    if path is None:
        shipped = shipped_model_path()
        if not ((shipped / META).is_file() or (shipped / ENSEMBLE).is_file()):
            raise FileNotFoundError(
                f"this installation has no shipped model ({shipped} is missing); "
                "train one with `sasnn train --data DIR --out RUN_DIR` and pass --model RUN_DIR"
            )
        return shipped
    path = Path(path)
    if (path / "model" / META).is_file():
        return path / "model"
    if (path / META).is_file() or (path / ENSEMBLE).is_file():
        return path
    if not path.exists():
        names = f" (bundled models: {', '.join(bundled)})" if bundled else ""
        raise FileNotFoundError(f"--model {path} does not exist{names}")
    raise FileNotFoundError(
        f"--model {path} is neither a finished training run (no model/{META}), a checkpoint "
        f"(no {META}) nor an ensemble (no {ENSEMBLE})"
    )


__all__ = ["ENSEMBLE", "bundled_models", "is_ensemble", "resolve_model_path", "shipped_model_path"]
