"""What the page shows of an analysis: the predictions of one upload, kept in memory so
that the fit, p(r) and report buttons can use them, and their JSON for the page.

Every number comes from the stages below: :func:`sasnn.identify.api.predict_groups` and
:meth:`Prediction.to_dict` (the ``sasnn predict --json`` objects), :func:`sasnn.pr.record.pr_record`
(the ``sasnn pr --json`` objects) and :func:`sasnn.plots.report_folder.write_report`
(the ``sasnn predict --report`` files). Here they are only arranged for plotting.
"""

from __future__ import annotations

import io
import math
import secrets
import tempfile
import threading
import time
import zipfile
from collections import OrderedDict
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

_PLOTTING = threading.Lock()  # pyplot's figure registry is not thread-safe


@dataclass
class Item:
    """One prediction (an entry, or the joint entries of one file) and its curves."""

    prediction: object  # sasnn.identify.predictor.Prediction; replaced by the fitted one
    curves: list


@dataclass
class Analysis:
    id: str
    items: list[Item]
    options: dict  # top, joint, also: what a fit needs to redo the CLI's shortlist
    created: float = field(default_factory=time.time)


class Store:
    """The last ``size`` analyses, oldest forgotten first (the page says to upload again)."""

    def __init__(self, size: int = 64) -> None:
        self.size = size
        self._items: OrderedDict[str, Analysis] = OrderedDict()
        self._lock = threading.Lock()

    def add(self, items: list[Item], options: dict) -> Analysis:
        analysis = Analysis(secrets.token_hex(8), items, options)
        with self._lock:
            self._items[analysis.id] = analysis
            while len(self._items) > self.size:
                self._items.popitem(last=False)
        return analysis

    def get(self, analysis_id: str) -> Analysis:
        with self._lock:
            return self._items[analysis_id]  # KeyError: unknown or forgotten


def numbers(values) -> list | None:
    """A JSON list of floats; non-finite values become null (JSON has no NaN)."""
    if values is None:
        return None
    return [float(v) if math.isfinite(v) else None for v in np.asarray(values, dtype=float)]


def curve_json(curve) -> dict:
    return {"label": curve.short_label, "entry": curve.entry, "q": numbers(curve.q),
            "intensity": numbers(curve.intensity), "sigma": numbers(curve.sigma),
            "slit_smeared": curve.dq_slit is not None}


def item_json(index: int, item: Item) -> dict:
    """The page's view of one prediction: the CLI's JSON object, the notes the CLI table
    prints (twins, ties), the data, and after a fit each candidate's curve and residuals."""
    from sasnn.plots.report_folder import twin_notes

    p = item.prediction
    record = {"index": index, "label": Path(p.file).name + (f" [{p.entry}]" if p.entry else ""),
              "prediction": p.to_dict(), "notes": twin_notes(p),
              "curves": [curve_json(c) for c in item.curves], "fits": fits_json(item)}
    return record


def fits_json(item: Item) -> list[dict]:
    """Per fitted candidate: its curve on each entry's q, the residuals (I − fit)/σ, its
    BIC weight (× the classifier's p) and its undetermined parameters."""
    p = item.prediction
    if not p.fits:
        return []
    from sasnn.identify.confirm import fit_weights

    weights = fit_weights(p)
    splits = np.cumsum([len(c.q) for c in item.curves])[:-1]  # a joint fit has the entries in turn
    rows = []
    for fit, weight in zip(p.fits, weights, strict=True):
        curves = []
        if fit.intensity.size:
            for curve, fitted in zip(item.curves, np.split(fit.intensity, splits), strict=True):
                residual = None if curve.sigma is None else (curve.intensity - fitted) / curve.sigma
                curves.append({"intensity": numbers(fitted), "residual": numbers(residual)})
        rows.append({"name": fit.name, "weight": float(weight), "curves": curves,
                     "undetermined": list(fit.undetermined), "fixed": dict(fit.fixed)})
    return rows


def pr_json(curve, *, d_max: float | None, q_min: float | str | None, q_max: float | None,
            alpha: float | None) -> dict:
    """``sasnn pr --json``'s object for ``curve`` (``record``), and the fitted data and the
    Guinier plot (ln I against q², with the fitted line over its window) for the page."""
    from sasnn.pr.inversion import invert_pr
    from sasnn.pr.record import pr_record

    if curve.dq_slit is not None:
        raise ValueError(f"{curve.short_label}: slit-smeared (USANS) data cannot be inverted here; "
                         "desmear them first")
    try:
        result = invert_pr(curve.q, curve.intensity, curve.sigma, dq=curve.dq, d_max=d_max, alpha=alpha,
                           q_min=q_min, q_max=q_max)
    except ValueError as exc:  # named as `sasnn pr` names it
        raise ValueError(f"{curve.short_label}: {exc}") from None
    record = pr_record(curve, result)
    out = {"record": record, "data": {"q": numbers(result.q), "intensity": numbers(result.intensity),
                                      "sigma": numbers(result.sigma), "fit": numbers(result.fit)}}
    g = result.guinier
    if g is not None:
        keep = (curve.intensity > 0) & (curve.q <= 2 * g.q_max)
        q2 = curve.q[keep] ** 2
        inside = (curve.q[keep] >= g.q_min) & (curve.q[keep] <= g.q_max)
        line = np.where(inside, math.log(g.i0) - q2 * g.rg**2 / 3, np.nan)
        sigma = None if curve.sigma is None else curve.sigma[keep] / curve.intensity[keep]
        out["guinier"] = {"q2": numbers(q2), "ln_i": numbers(np.log(curve.intensity[keep])),
                          "ln_sigma": numbers(sigma), "line": numbers(line)}
    return out


def report_zip(items: list[Item]) -> bytes:
    """The ``sasnn predict --report`` folder (PNGs, report.json, summary.md) as a zip,
    written in a temporary folder that is removed before returning."""
    from sasnn.plots.report_folder import write_report

    buffer = io.BytesIO()
    with tempfile.TemporaryDirectory(prefix="sasnn-web-report-") as folder:
        with _PLOTTING:
            write_report(Path(folder), [(item.prediction, item.curves) for item in items])
        with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
            for path in sorted(Path(folder).iterdir()):
                archive.write(path, path.name)
    return buffer.getvalue()


__all__ = ["Analysis", "Item", "Store", "curve_json", "fits_json", "item_json", "pr_json", "report_zip"]
