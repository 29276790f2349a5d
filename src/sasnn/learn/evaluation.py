"""Classification metrics in NumPy: what `sasnn evaluate` reports (DESIGN.md §4, §6).

Labels are integer class indices; ``logits`` are (N, n_classes) arrays straight
from a network head. The tests check these against scikit-learn.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

#: Bins of a curve's median relative σ (its noise level) for the accuracy breakdown.
NOISE_BINS = (0.0, 0.01, 0.03, 0.1, np.inf)


def softmax(logits: np.ndarray, temperature: float = 1.0) -> np.ndarray:
    """Probabilities, shape like ``logits`` (N, K), of softmax(logits / temperature)."""
    z = np.asarray(logits, dtype=np.float64) / temperature
    z = z - z.max(axis=1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)


def top_k_accuracy(y_true: np.ndarray, scores: np.ndarray, k: int) -> float:
    """Share of rows whose true class is among the ``k`` highest ``scores`` (N, K)."""
    if len(y_true) == 0:
        return float("nan")
    k = min(k, scores.shape[1])
    top = np.argpartition(-scores, k - 1, axis=1)[:, :k]
    return float(np.mean(np.any(top == np.asarray(y_true)[:, None], axis=1)))


def confusion_matrix(y_true: np.ndarray, y_pred: np.ndarray, n_classes: int) -> np.ndarray:
    """Counts (n_classes, n_classes): row = true class, column = predicted class."""
    return np.bincount(
        np.asarray(y_true) * n_classes + np.asarray(y_pred), minlength=n_classes * n_classes
    ).reshape(n_classes, n_classes)


def precision_recall_f1(cm: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per-class precision, recall and F1 (each (K,)) from a confusion matrix; 0 where undefined."""
    tp = np.diag(cm).astype(float)
    predicted, actual = cm.sum(axis=0), cm.sum(axis=1)
    precision = np.divide(tp, predicted, out=np.zeros_like(tp), where=predicted > 0)
    recall = np.divide(tp, actual, out=np.zeros_like(tp), where=actual > 0)
    both = precision + recall
    f1 = np.divide(2 * precision * recall, both, out=np.zeros_like(tp), where=both > 0)
    return precision, recall, f1


def macro_f1(cm: np.ndarray) -> float:
    """Mean F1 over the classes that occur as truth or prediction (as scikit-learn's
    ``f1_score(average="macro")`` without ``labels``)."""
    present = (cm.sum(axis=0) + cm.sum(axis=1)) > 0
    return float(precision_recall_f1(cm)[2][present].mean())


def most_confused(cm: np.ndarray, names: list[str], top: int = 15) -> list[dict]:
    """The largest off-diagonal cells: which true class is taken for which, how often."""
    off = cm.astype(float).copy()
    np.fill_diagonal(off, 0)
    flat = np.argsort(-off, axis=None, kind="stable")[:top]
    rows = []
    for i, j in zip(*np.unravel_index(flat, cm.shape), strict=True):
        if off[i, j] == 0:
            break
        rows.append(
            {
                "true": names[i],
                "predicted": names[j],
                "count": int(cm[i, j]),
                "share_of_true": float(cm[i, j] / cm[i].sum()),
            }
        )
    return rows


def expected_calibration_error(probabilities: np.ndarray, y_true: np.ndarray, n_bins: int = 15) -> float:
    """ECE with ``n_bins`` equal-width confidence bins (Guo et al. 2017).

    ECE = Σ_b (n_b / N) · |accuracy_b − mean confidence_b|, where a row's confidence
    is its largest probability and bin b holds confidences in ((b−1)/B, b/B].
    """
    confidence = probabilities.max(axis=1)
    correct = probabilities.argmax(axis=1) == np.asarray(y_true)
    bins = np.clip(np.ceil(confidence * n_bins).astype(int) - 1, 0, n_bins - 1)
    ece = 0.0
    for b in range(n_bins):
        in_bin = bins == b
        if in_bin.any():
            ece += in_bin.mean() * abs(correct[in_bin].mean() - confidence[in_bin].mean())
    return float(ece)


def accuracy_by_group(correct: np.ndarray, groups: np.ndarray) -> dict[str, dict]:
    """Accuracy within each distinct value of ``groups`` (same length as ``correct``)."""
    return {
        str(g): {"n": int((groups == g).sum()), "accuracy": float(correct[groups == g].mean())}
        for g in sorted(set(groups.tolist()))
    }


def noise_labels(noise: np.ndarray) -> np.ndarray:
    """A label such as "1-3%" for each curve's median relative σ."""
    names = [
        f"{lo * 100:g}-{hi * 100:g}%" if np.isfinite(hi) else f">{lo * 100:g}%"
        for lo, hi in zip(NOISE_BINS[:-1], NOISE_BINS[1:], strict=True)
    ]
    index = np.clip(np.searchsorted(NOISE_BINS, noise, side="right") - 1, 0, len(names) - 1)
    return np.array(names)[index]


def energy_score(logits: np.ndarray, temperature: float = 1.0) -> np.ndarray:
    """Free energy −T·log Σ exp(logit/T) per row (Liu et al. 2020): high = out of distribution."""
    z = np.asarray(logits, dtype=np.float64) / temperature
    m = z.max(axis=1)
    return -temperature * (m + np.log(np.exp(z - m[:, None]).sum(axis=1)))


def energy_threshold(logits: np.ndarray, temperature: float, quantile: float) -> float:
    """The energy above which only ``1 - quantile`` of these (in-distribution) rows lie."""
    return float(np.quantile(energy_score(logits, temperature), quantile))


#: The least confidence level: below it a prediction is unsure whatever the model says
#: (and the level of checkpoints made before models set their own).
MIN_CONFIDENCE = 0.5


def top_k_confidence(probabilities: np.ndarray, k: int = 3) -> np.ndarray:
    """The probability that the answer is among the ``k`` most probable classes, (N,)."""
    return np.sort(probabilities, axis=1)[:, -k:].sum(axis=1)


def confidence_for_accuracy(correct: np.ndarray, confidence: np.ndarray, target: float) -> float:
    """The lowest confidence threshold at which the rows kept (confidence >= it) are right
    at least ``target`` of the time; 1.0 when no threshold reaches it.

    Rows are taken most confident first and the largest such prefix is kept, so the
    threshold leaves as many rows unflagged as the target allows on these rows."""
    correct = np.asarray(correct, dtype=bool)
    if correct.size == 0:
        return 1.0
    order = np.argsort(-confidence, kind="stable")
    running = np.cumsum(correct[order]) / np.arange(1, len(order) + 1)
    ok = np.flatnonzero(running >= target)
    return float(confidence[order][ok[-1]]) if ok.size else 1.0


def summary(
    ff_true: np.ndarray,
    ff_logits: np.ndarray,
    sf_true: np.ndarray,
    sf_logits: np.ndarray,
    *,
    temperatures: tuple[float, float] = (1.0, 1.0),
) -> dict:
    """The headline numbers of DESIGN.md §6 (``ece`` is the calibrated form-factor head's)."""
    t_ff, t_sf = temperatures
    ff_pred = ff_logits.argmax(axis=1)
    cm = confusion_matrix(ff_true, ff_pred, ff_logits.shape[1])
    sf_probs = softmax(sf_logits, t_sf)
    return {
        "n": int(len(ff_true)),
        "form_factor": {
            "top1": top_k_accuracy(ff_true, ff_logits, 1),
            "top3": top_k_accuracy(ff_true, ff_logits, 3),
            "macro_f1": macro_f1(cm),
            "ece": expected_calibration_error(softmax(ff_logits, t_ff), ff_true),
            "ece_before_calibration": expected_calibration_error(softmax(ff_logits), ff_true),
        },
        "structure_factor": {
            "accuracy": top_k_accuracy(sf_true, sf_logits, 1),
            "ece": expected_calibration_error(sf_probs, sf_true),
            "ece_before_calibration": expected_calibration_error(softmax(sf_logits), sf_true),
        },
        "ece": expected_calibration_error(softmax(ff_logits, t_ff), ff_true),
        "ece_before_calibration": expected_calibration_error(softmax(ff_logits), ff_true),
        "temperatures": {"form_factor": t_ff, "structure_factor": t_sf},
    }


def report(
    ff_true: np.ndarray,
    ff_logits: np.ndarray,
    sf_true: np.ndarray,
    sf_logits: np.ndarray,
    *,
    class_names: list[str],
    structure_factors: list[str],
    temperatures: tuple[float, float] = (1.0, 1.0),
    noise: np.ndarray | None = None,
    setup: np.ndarray | None = None,
    families: Sequence[str] | None = None,
) -> dict:
    """:func:`summary` plus per-class precision/recall, the most-confused pairs, the
    accuracy by noise level and by set-up (Q window), and the confusion matrix. With
    ``families`` (one name per class), also ``form_factor.family_top1``: the share of
    curves whose top class is of the true class's family."""
    result = summary(ff_true, ff_logits, sf_true, sf_logits, temperatures=temperatures)
    cm = confusion_matrix(ff_true, ff_logits.argmax(axis=1), len(class_names))
    if families is not None:
        family = np.asarray(families)
        same = family[ff_logits.argmax(axis=1)] == family[ff_true]
        result["form_factor"]["family_top1"] = float(np.mean(same))
    precision, recall, f1 = precision_recall_f1(cm)
    result["per_class"] = {
        name: {
            "n": int(cm[i].sum()),
            "precision": float(precision[i]),
            "recall": float(recall[i]),
            "f1": float(f1[i]),
        }
        for i, name in enumerate(class_names)
    }
    result["most_confused"] = most_confused(cm, list(class_names))
    sf_cm = confusion_matrix(sf_true, sf_logits.argmax(axis=1), len(structure_factors))
    sf_precision, sf_recall, _ = precision_recall_f1(sf_cm)
    result["structure_factor"]["per_class"] = {
        name: {"n": int(sf_cm[i].sum()), "precision": float(sf_precision[i]), "recall": float(sf_recall[i])}
        for i, name in enumerate(structure_factors)
    }
    correct = ff_logits.argmax(axis=1) == ff_true
    if noise is not None:
        result["by_noise"] = accuracy_by_group(correct, noise_labels(noise))
    if setup is not None:
        result["by_setup"] = accuracy_by_group(correct, np.asarray(setup))
    result["confusion_matrix"] = {"labels": list(class_names), "counts": cm.tolist()}
    return result


__all__ = [
    "MIN_CONFIDENCE",
    "accuracy_by_group",
    "confidence_for_accuracy",
    "confusion_matrix",
    "energy_score",
    "energy_threshold",
    "expected_calibration_error",
    "macro_f1",
    "most_confused",
    "noise_labels",
    "precision_recall_f1",
    "report",
    "softmax",
    "summary",
    "top_k_accuracy",
    "top_k_confidence",
]
