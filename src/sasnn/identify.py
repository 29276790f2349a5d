"""The main job as one Python call: files in, ranked (and optionally fitted) candidates out.

    >>> from sasnn.identify import identify
    >>> for p in identify(["AOT_Microemulsion-Core_Contrast.xml"], fit=True):
    ...     print(p.entry, [(c.model, c.structure_factor, c.probability) for c in p.candidates])

``sasnn predict`` runs the same steps (:func:`predict_groups`, then
:func:`sasnn.confirm.confirm` per prediction) with progress bars and per-file error
lines; here an unreadable file raises :class:`sasnn.io.DataFormatError`.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from sasnn.confirm import combine, confirm
from sasnn.curve import Curve
from sasnn.predict import Prediction, Predictor


def parse_pairs(text: str | None) -> list[tuple[str, str | None]]:
    """``"sphere,cylinder@hardsphere"`` → ``[("sphere", None), ("cylinder", "hardsphere")]``."""
    pairs = []
    for item in (text or "").split(","):
        if item.strip():
            model, _, sf = item.strip().partition("@")
            pairs.append((model.strip(), sf.strip() or None))
    return pairs


def predict_groups(
    predictor: Predictor,
    groups: Sequence[Sequence[Curve]],
    *,
    top: int = 3,
    joint: bool = False,
    also: Sequence[tuple[str, str | None]] = (),
) -> list[tuple[Prediction, list[Curve]]]:
    """Predict every entry of every file (``groups``: one list of curves per file) in one
    batch. Returns (prediction, the curves it describes) pairs: one per entry, or with
    ``joint`` one per file whose entries are combined (:func:`sasnn.confirm.combine`).
    ``also`` pairs follow the top ``top`` (see :meth:`Predictor.predict`)."""
    flat = [curve for group in groups for curve in group]
    predictions = iter(predictor.predict(flat, top_k=top, also=also))
    jobs = []
    for group in groups:
        own = [next(predictions) for _ in group]
        if joint and len(group) > 1:
            jobs.append((combine(own, top, also=also), list(group)))
        else:
            jobs += [(p, [c]) for p, c in zip(own, group, strict=True)]
    return jobs


def identify(
    paths: Sequence[str | Path],
    *,
    model: str | Path | None = None,
    top: int = 3,
    fit: bool = False,
    joint: bool = False,
    q_units: str | None = None,
    seed: int = 0,
    fit_time: float = 60.0,
    also: Sequence[tuple[str, str | None]] = (),
) -> list[Prediction]:
    """Ranked candidates for every entry of ``paths``; with ``fit``, fitted and re-ranked
    by BIC. ``model`` defaults to the shipped model; see ``sasnn predict --help`` for the
    other options."""
    from sasnn.io import load_curves

    predictor = Predictor.from_checkpoint(model)
    groups = [load_curves(path, q_units=q_units) for path in paths]
    jobs = predict_groups(predictor, groups, top=top, joint=joint, also=also)
    if fit:
        jobs = [(confirm(p, curves, seed=seed, time_limit=fit_time) if p.candidates else p, curves)
                for p, curves in jobs]
    return [p for p, _ in jobs]


__all__ = ["identify", "parse_pairs", "predict_groups"]
