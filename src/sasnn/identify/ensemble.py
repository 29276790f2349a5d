"""Several trained networks answering as one: the mean of their calibrated probabilities.

Networks trained on different curves (or seeds) disagree on the curves none of them
reads well, and their average is often right more often than any of them
(bench/experiments/bench_ensemble.py: two flattening CNNs, 70.5 % and 73.0 % top-1 alone, 72.8 %
averaged, shipped until 2026-12; two global-pooling CNNs, 74.5 % and 76.1 % alone,
76.2 % averaged, where the better one alone was shipped instead: docs/benchmarks.md, Identification).

An ensemble is a folder::

    ensemble.json      {"format": "sasnn-ensemble", "members": ["a", "b"], "temperatures": ...}
    a/                 a trained checkpoint (meta.json, model.safetensors, novelty.safetensors)
    b/                 another (meta.json, model.safetensors) with the same classes,
                       structure factors and Q grid

Each member is calibrated on its own validation split (its temperatures). Their mean is
then less confident than it is right (two models that split their probability differently
average to a flatter answer), so :func:`build_ensemble` can fit one more temperature per
head on a calibration set: simulated with a seed no member trained on, because a member
has seen the other members' validation curves when they trained on more data. The
ensemble's logits are the log of the members' mean, and its temperatures apply to them
as a single network's apply to its logits. The other answers come from the first member:

* "unlike the training data" is the first member's feature-distance test with its own
  threshold, so the 5 % false-alarm level set on its validation curves still holds;
* ``sasnn explain`` shows the first member's filters and feature maps.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType

import numpy as np

from sasnn.identify.model_folder import ENSEMBLE, is_ensemble, resolve_model_path
from sasnn.identify.predictor import Predictor
from sasnn.io.jsonfile import read_described
from sasnn.learn import novelty
from sasnn.learn.networks import META, WEIGHTS

ENSEMBLE_FORMAT = "sasnn-ensemble"
#: Fields every member must share for their probabilities to be averaged.
SHARED = ("class_names", "structure_factors", "pairs", "grid", "preprocessing")
#: Files of a member checkpoint that an ensemble keeps: not the optimizer state, and the
#: novelty density only for the first member, whose test is the ensemble's.
MEMBER_FILES = (META, WEIGHTS)
UNIT_TEMPERATURES = {"form_factor": 1.0, "structure_factor": 1.0}


@dataclass(frozen=True)
class EnsemblePredictor(Predictor):
    """A :class:`Predictor` whose heads output the mean of its members' calibrated
    probabilities, at the ensemble's own temperatures. ``model``, ``density`` and
    ``meta`` (apart from ``temperatures``, ``members`` and ``calibration``) are the
    first member's."""

    members: tuple[Predictor, ...] = ()

    @classmethod
    def load(cls, directory: Path) -> EnsemblePredictor:
        directory = Path(directory)
        description = read_described(directory, ENSEMBLE, ENSEMBLE_FORMAT, "ensemble", "ensemble description")
        names = description.get("members")
        if not isinstance(names, list) or len(names) < 2 or not all(isinstance(n, str) for n in names):
            raise ValueError(f"{directory / ENSEMBLE} must list two or more member folders")
        members = []
        for name in names:
            if Path(name).name != name or name in (".", ".."):
                raise ValueError(f"{directory / ENSEMBLE}: member {name!r} must be a folder "
                                 f"inside {directory}")
            members.append(Predictor.from_checkpoint(directory / name))
        temperatures = description.get("temperatures", UNIT_TEMPERATURES)
        if not (isinstance(temperatures, dict) and set(temperatures) == set(UNIT_TEMPERATURES)
                and all(isinstance(t, float | int) and t > 0 for t in temperatures.values())):
            raise ValueError(f"{directory / ENSEMBLE}: temperatures must be two positive numbers, "
                             f"{' and '.join(UNIT_TEMPERATURES)}")
        unsure = description.get("unsure")
        if unsure is not None and not (isinstance(unsure, dict)
                                       and isinstance(unsure.get("min_confidence"), float | int)
                                       and 0 < unsure["min_confidence"] <= 1):
            raise ValueError(f"{directory / ENSEMBLE}: unsure must hold a min_confidence in (0, 1]")
        return cls.of(members, temperatures, description.get("calibration"), directory, unsure)

    @classmethod
    def of(cls, members: Sequence[Predictor], temperatures: dict | None = None,
           calibration: dict | None = None, path: Path | None = None,
           unsure: dict | None = None) -> EnsemblePredictor:
        """An ensemble of loaded predictors (what :meth:`load` reads from a folder).
        ``unsure``: the ensemble's own levels (:func:`calibrate`); default the first member's."""
        check_compatible(members)
        first = members[0]
        meta = {**first.meta, "temperatures": dict(temperatures or UNIT_TEMPERATURES),
                "unsure": {**first.meta["unsure"], **(unsure or {})},
                "calibration": calibration,
                "members": [{"folder": m.path.name, "dataset_sha256": m.meta.get("dataset_sha256"),
                             "metrics": m.meta.get("metrics")} for m in members]}
        return cls(first.model, MappingProxyType(meta), first.grid, path or first.path, first.density,
                   tuple(members))

    @property
    def networks(self) -> tuple[Predictor, ...]:
        return self.members

    def logits(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Log of the members' mean calibrated probabilities: at temperature 1 the softmax
        of these is that mean; the ensemble's temperatures sharpen or soften it."""
        return mean_log_probabilities(self.members, x)


def mean_log_probabilities(members: Sequence[Predictor], x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    heads = [m.probabilities(x) for m in members]
    return tuple(np.log(np.mean([h[i] for h in heads], axis=0) + 1e-30) for i in range(2))


def check_compatible(members: Sequence[Predictor]) -> None:
    """ValueError naming the first difference that keeps ``members`` from being averaged."""
    first = members[0]
    for other in members[1:]:
        for key in SHARED:
            if first.meta.get(key) != other.meta.get(key):
                raise ValueError(f"{other.path} and {first.path} differ in {key}; they cannot be averaged")


def build_ensemble(sources: Sequence[str | Path], out: Path, calibration: Sequence[Path] = (),
                   on_shard=None) -> EnsemblePredictor:
    """Copy the trained checkpoints ``sources`` (run or checkpoint folders) into a new
    ensemble folder ``out`` (which must not exist yet), check that it loads, return it.

    The first source is the first member: its novelty test and filters are the ensemble's.
    ``calibration``: simulated dataset folders (seeds no member trained on) on which one
    temperature per head and the unsure level are fitted; without them the temperatures are
    1 (the plain mean) and the level is the first member's.
    ``on_shard(n)`` is called as its shards are read.
    """
    out = Path(out)
    if len(sources) < 2:
        raise ValueError("an ensemble needs two or more trained models")
    if out.exists():
        raise FileExistsError(f"{out} already exists; choose a new folder for the ensemble")
    directories = [resolve_model_path(s) for s in sources]
    members = []
    for directory in directories:
        if is_ensemble(directory):
            raise ValueError(f"{directory} is an ensemble already; list its members instead")
        members.append(Predictor.from_checkpoint(directory))
    check_compatible(members)
    names = [f"member-{i}" for i in range(len(members))]
    description = {"format": ENSEMBLE_FORMAT, "members": names,
                   "sources": [str(d) for d in directories],
                   "combine": "mean of the members' calibrated probabilities, each head apart",
                   "novelty": f"{names[0]}'s feature distance and threshold",
                   "temperatures": dict(UNIT_TEMPERATURES)}
    if calibration:
        description.update(calibrate(members, list(calibration), on_shard=on_shard))
    staging = out.with_name(out.name + ".part")
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    for i, (name, directory) in enumerate(zip(names, directories, strict=True)):
        (staging / name).mkdir()
        for file in MEMBER_FILES + ((novelty.FILE,) if i == 0 else ()):
            if (directory / file).is_file():
                shutil.copy2(directory / file, staging / name / file)
    (staging / ENSEMBLE).write_text(json.dumps(description, indent=1) + "\n")
    staging.rename(out)
    return EnsemblePredictor.load(out)


def calibrate(members: Sequence[Predictor], datasets: Sequence[Path], on_shard=None) -> dict:
    """One temperature per head for the members' mean, fitted on ``datasets`` (NLL, as each
    member's own on its validation split), with the ECE before and after; and the
    ensemble's own "unsure" level, set on the same curves as training sets a network's
    (the lowest top-3 confidence at which the unflagged curves of every prior set are
    right ``unsure_top3`` of the time), because the first member's level belongs to its
    sharper probabilities."""
    from sasnn.learn import evaluation
    from sasnn.learn.training import (
        calibrate_temperature,
        concatenate,
        confidence_levels,
        load_training_arrays,
    )

    first = members[0]
    data = concatenate([load_training_arrays(Path(d), first.grid, class_names=first.class_names,
                                             structure_factors=first.structure_factors,
                                             on_shard=on_shard, channels=first.channels)
                        for d in datasets])
    ff, sf = mean_log_probabilities(members, data.x)
    t_ff = calibrate_temperature(ff, data.form_factor)
    t_sf = calibrate_temperature(sf, data.structure_factor)
    ece = [evaluation.expected_calibration_error(evaluation.softmax(ff, t), data.form_factor)
           for t in (1.0, t_ff)]
    target = first.meta["train_config"]["unsure_top3"]
    return {"temperatures": {"form_factor": t_ff, "structure_factor": t_sf},
            "unsure": {**first.meta["unsure"], **confidence_levels(ff, t_ff, data, target)},
            "calibration": {"datasets": [str(d) for d in datasets], "dataset_sha256": data.manifest_sha256,
                            "n": len(data), "ece_before": ece[0], "ece_after": ece[1]}}


__all__ = ["ENSEMBLE", "EnsemblePredictor", "build_ensemble", "calibrate", "check_compatible", "is_ensemble"]
