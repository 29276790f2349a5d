"""Metrics against scikit-learn, and ECE on a hand-made example."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn import metrics as skm

from sasnn.learn import evaluation


@pytest.fixture
def labelled():
    rng = np.random.default_rng(3)
    n, k = 500, 6
    y = rng.integers(k, size=n)
    logits = rng.standard_normal((n, k))
    logits[np.arange(n), y] += rng.uniform(0, 2.5, n)  # better than chance, not perfect
    return y, logits


def test_top_k_and_confusion_match_sklearn(labelled):
    y, logits = labelled
    pred = logits.argmax(1)
    assert evaluation.top_k_accuracy(y, logits, 1) == pytest.approx(skm.accuracy_score(y, pred))
    assert evaluation.top_k_accuracy(y, logits, 3) == pytest.approx(skm.top_k_accuracy_score(y, logits, k=3))
    np.testing.assert_array_equal(
        evaluation.confusion_matrix(y, pred, 6), skm.confusion_matrix(y, pred, labels=range(6))
    )


def test_precision_recall_f1_match_sklearn(labelled):
    y, logits = labelled
    pred = logits.argmax(1)
    pred[pred == 5] = 4  # class 5 is never predicted: precision undefined → 0, as zero_division=0
    cm = evaluation.confusion_matrix(y, pred, 6)
    precision, recall, f1 = evaluation.precision_recall_f1(cm)
    p, r, f, _ = skm.precision_recall_fscore_support(y, pred, labels=range(6), zero_division=0)
    np.testing.assert_allclose(precision, p)
    np.testing.assert_allclose(recall, r)
    np.testing.assert_allclose(f1, f)
    assert evaluation.macro_f1(cm) == pytest.approx(skm.f1_score(y, pred, average="macro", zero_division=0))


def test_macro_f1_ignores_classes_absent_from_truth_and_prediction():
    y = np.array([0, 0, 1, 1])
    pred = np.array([0, 1, 1, 1])
    cm = evaluation.confusion_matrix(y, pred, 5)  # classes 2..4 occur nowhere
    assert evaluation.macro_f1(cm) == pytest.approx(skm.f1_score(y, pred, average="macro"))


def test_ece_on_a_hand_made_example():
    # two bins are used: confidence 0.9 (4 rows, 3 right) and 0.6 (2 rows, 2 right)
    probabilities = np.array([[0.9, 0.1]] * 4 + [[0.4, 0.6]] * 2)
    y = np.array([0, 0, 0, 1, 1, 1])
    expected = 4 / 6 * abs(0.75 - 0.9) + 2 / 6 * abs(1.0 - 0.6)
    assert evaluation.expected_calibration_error(probabilities, y) == pytest.approx(expected)
    # a perfectly confident, always-right model is perfectly calibrated
    assert evaluation.expected_calibration_error(np.eye(3), np.arange(3)) == 0.0


def test_softmax_and_temperature():
    logits = np.array([[2.0, 0.0, -1.0]])
    p = evaluation.softmax(logits)
    assert p.sum() == pytest.approx(1.0) and p[0, 0] == pytest.approx(np.exp(2) / np.exp([2, 0, -1]).sum())
    hot, cold = evaluation.softmax(logits, 5.0), evaluation.softmax(logits, 0.2)
    assert hot.max() < p.max() < cold.max()


def test_most_confused_pairs():
    cm = np.array([[5, 3, 0], [1, 6, 0], [0, 4, 2]])
    pairs = evaluation.most_confused(cm, ["a", "b", "c"])
    assert [(p["true"], p["predicted"], p["count"]) for p in pairs] == [
        ("c", "b", 4),
        ("a", "b", 3),
        ("b", "a", 1),
    ]
    assert pairs[0]["share_of_true"] == pytest.approx(4 / 6)


def test_groups_and_noise_bins():
    noise = np.array([0.005, 0.02, 0.05, 0.5, 0.02])
    labels = evaluation.noise_labels(noise)
    assert labels.tolist() == ["0-1%", "1-3%", "3-10%", ">10%", "1-3%"]
    by = evaluation.accuracy_by_group(np.array([1, 0, 1, 1, 1], bool), labels)
    assert by["1-3%"] == {"n": 2, "accuracy": 0.5}


def test_energy_threshold_flags_the_requested_share(labelled):
    _, logits = labelled
    threshold = evaluation.energy_threshold(logits, 1.0, 0.95)
    assert np.mean(evaluation.energy_score(logits) > threshold) == pytest.approx(0.05, abs=0.005)
    # energy is −logsumexp: a confident row has lower energy
    assert (
        evaluation.energy_score(np.array([[10.0, 0.0]]))[0]
        < evaluation.energy_score(np.array([[0.1, 0.0]]))[0]
    )


def test_report_has_the_contract_keys(labelled):
    y, logits = labelled
    sf = (y % 2).astype(int)
    sf_logits = np.stack([-(sf - 0.5), sf - 0.5], 1) * 4.0
    result = evaluation.report(
        y,
        logits,
        sf,
        sf_logits,
        class_names=list("abcdef"),
        structure_factors=["none", "hardsphere"],
        temperatures=(1.5, 1.0),
        noise=np.full(len(y), 0.02),
        setup=np.array(["saxs-lab"] * len(y)),
        families=["x", "x", "y", "y", "z", "z"],
    )
    assert result["n"] == 500
    predicted = logits.argmax(1)
    both = [0, 0, 1, 1, 2, 2]
    expected = np.mean([both[p] == both[t] for p, t in zip(predicted, y, strict=True)])
    assert result["form_factor"]["family_top1"] == pytest.approx(expected)
    assert result["form_factor"]["family_top1"] >= result["form_factor"]["top1"]
    assert set(result["form_factor"]) >= {"top1", "top3", "macro_f1"}
    assert result["structure_factor"]["accuracy"] == 1.0
    assert isinstance(result["ece"], float) and "ece_before_calibration" in result
    assert set(result["per_class"]) == set("abcdef")
    assert result["by_setup"]["saxs-lab"]["n"] == 500 and result["by_noise"]["1-3%"]["n"] == 500
    assert np.sum(result["confusion_matrix"]["counts"]) == 500


def test_the_confidence_threshold_keeps_the_largest_share_that_reaches_the_target():
    from sasnn.learn.evaluation import confidence_for_accuracy, top_k_confidence

    confidence = np.array([0.99, 0.95, 0.9, 0.8, 0.7, 0.6])
    correct = np.array([1, 1, 1, 0, 1, 0], bool)
    assert confidence_for_accuracy(correct, confidence, 1.0) == 0.9
    assert confidence_for_accuracy(correct, confidence, 0.8) == 0.7  # 4 of 5 right
    assert confidence_for_accuracy(~correct, confidence, 0.9) == 1.0  # never reached: flag all
    rng = np.random.default_rng(0)
    conf = rng.random(2000)
    right = rng.random(2000) < conf  # right as often as confident
    t = confidence_for_accuracy(right, conf, 0.9)
    kept = conf >= t
    assert right[kept].mean() >= 0.9 and 0.1 < kept.mean() < 0.35  # brute force agrees
    assert all(right[conf >= s].mean() < 0.9 for s in np.sort(conf[conf < t])[-20:])
    p = np.array([[0.5, 0.3, 0.1, 0.1], [0.25, 0.25, 0.25, 0.25]])
    np.testing.assert_allclose(top_k_confidence(p, 3), [0.9, 0.75])
