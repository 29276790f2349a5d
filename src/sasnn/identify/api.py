"""The main job as one Python call: files in, ranked (and optionally fitted) candidates out.

    >>> from sasnn.identify.api import identify
    >>> for p in identify(["AOT_Microemulsion-Core_Contrast.xml"], fit=True):
    ...     print(p.entry, [(c.model, c.structure_factor, c.probability) for c in p.candidates])

``sasnn predict`` runs the same steps (:func:`predict_groups`, then
:func:`sasnn.identify.confirm.confirm` per prediction) with progress bars and per-file error
lines; here an unreadable file raises :class:`sasnn.io.read.DataFormatError`.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from sasnn.identify.confirm import FIT_SHORTLIST, combine, confirm, reference_candidates, with_references
from sasnn.identify.loading import load_predictor
from sasnn.identify.predictor import Prediction, Predictor
from sasnn.io.curve import Curve


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
    references: bool = False,
) -> list[tuple[Prediction, list[Curve]]]:
    """Predict every entry of every file (``groups``: one list of curves per file) in one
    batch. Returns (prediction, the curves it describes) pairs: one per entry, or with
    ``joint`` one per file whose entries are combined (:func:`sasnn.identify.confirm.combine`).
    ``also`` pairs follow the top ``top`` (see :meth:`Predictor.predict`), then, with
    ``references`` (what ``--fit`` fits), the reference models an expert tries first
    (:func:`sasnn.identify.confirm.with_references`), each with its probability."""
    flat = [curve for group in groups for curve in group]
    ranked = [*also, *(reference_candidates(predictor) if references else ())]
    predictions = iter(predictor.predict(flat, top_k=top, also=ranked))
    jobs = []
    for group in groups:
        own = [next(predictions) for _ in group]
        if joint and len(group) > 1:
            jobs.append((combine(own, top, also=ranked), list(group)))
        else:
            jobs += [(p, [c]) for p, c in zip(own, group, strict=True)]
    if references:
        jobs = [(with_references(p, top, also), curves) for p, curves in jobs]
    return jobs


def fitted_shortlist(top: int, fit_top: int) -> int:
    """How many candidates ``--fit`` fits: ``fit_top``, and never fewer than are shown."""
    if fit_top < 1:
        raise ValueError(f"--fit-top must be a positive number of candidates, got {fit_top}")
    return max(top, fit_top)


def identify(
    paths: Sequence[str | Path],
    *,
    model: str | Path | None = None,
    top: int = 3,
    fit: bool = False,
    joint: bool = False,
    q_units: str | None = None,
    seed: int = 0,
    fit_time: float | None = None,
    also: Sequence[tuple[str, str | None]] = (),
    fit_top: int = FIT_SHORTLIST,
    workers: int = 1,
) -> list[Prediction]:
    """Ranked candidates for every entry of ``paths``; with ``fit``, the classifier's
    best ``max(top, fit_top)`` and the reference models are fitted and the best ``top``
    (:func:`sasnn.identify.confirm.parsimonious_order`) are returned (with the ``also``
    pairs), fitted by ``workers`` processes. ``model`` defaults to the shipped model; see
    ``sasnn predict --help`` for the other options. The fits are bounded by work, so the
    same files and options give the same answer for any ``workers`` and on any machine;
    ``fit_time`` (seconds per candidate, off by default) is a safety net that breaks this
    where it fires (``FitResult.stopped_by_time``)."""
    from sasnn.io.read import load_curves

    predictor = load_predictor(model)
    groups = [load_curves(path, q_units=q_units) for path in paths]
    shortlist = fitted_shortlist(top, fit_top) if fit else top
    jobs = predict_groups(predictor, groups, top=shortlist, joint=joint, also=also, references=fit)
    if fit:
        jobs = [(confirm(p, curves, seed=seed, time_limit=fit_time, keep=top, keep_pairs=also,
                         workers=workers) if p.candidates else p, curves) for p, curves in jobs]
    return [p for p, _ in jobs]


__all__ = ["fitted_shortlist", "identify", "parse_pairs", "predict_groups"]
