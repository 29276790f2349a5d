"""Load whichever model a folder holds: one network or an ensemble of them."""

from __future__ import annotations

from pathlib import Path

from sasnn.identify.ensemble import EnsemblePredictor
from sasnn.identify.model_folder import is_ensemble, resolve_model_path
from sasnn.identify.predictor import Predictor


def load_predictor(path: str | Path | None = None) -> Predictor:
    """The model in a run, checkpoint or ensemble folder; None loads the shipped model."""
    directory = resolve_model_path(path)
    if is_ensemble(directory):
        return EnsemblePredictor.load(directory)
    return Predictor.from_checkpoint(directory)


__all__ = ["load_predictor"]
