"""The runner's accuracy figures (hil/results/runner_metrics.py): AUC against an independent ROC
computation (thresholds, true/false positive rates, trapezoids: scikit-learn's definition) and
Top 1% against the runner's procedure written out long-hand."""

from __future__ import annotations

import numpy as np
import pytest

from tinyrig.hil.results.runner_metrics import auc, binary_auc, normalised, runner_accuracy, top1_percent


def roc_area(scores, positive) -> float:
    """ROC area as scikit-learn computes it: one ROC point per distinct score, trapezoids between."""
    scores, positive = np.asarray(scores, float), np.asarray(positive, bool)
    order = np.argsort(-scores, kind="mergesort")
    scores, positive = scores[order], positive[order]
    cut = np.r_[np.where(np.diff(scores))[0], len(scores) - 1]
    tps = np.r_[0, np.cumsum(positive)[cut]]
    fps = np.r_[0, np.cumsum(~positive)[cut]]
    tpr, fpr = tps / tps[-1], fps / fps[-1]
    return float(np.sum(np.diff(fpr) * (tpr[1:] + tpr[:-1]) / 2))


def test_binary_auc_equals_the_trapezoidal_roc_area():
    rng = np.random.default_rng(5)
    for _ in range(50):
        n = int(rng.integers(4, 40))
        scores = np.round(rng.normal(size=n), 1)  # rounding makes ties
        positive = rng.random(n) < 0.4
        if positive.all() or not positive.any():
            continue
        assert binary_auc(scores, positive) == pytest.approx(roc_area(scores, positive), abs=1e-12)
    assert binary_auc([1.0, 2.0], [True, True]) is None


def test_multiclass_auc_is_the_mean_one_vs_rest_area():
    rng = np.random.default_rng(7)
    vectors = rng.random((30, 4))
    vectors /= vectors.sum(axis=1, keepdims=True)
    labels = np.r_[np.arange(4), rng.integers(0, 4, 26)]
    expected = np.mean([roc_area(vectors[:, c], labels == c) for c in range(4)])
    assert auc(vectors, labels) == pytest.approx(expected, abs=1e-12)
    # Two classes: the runner takes class 1's column only.
    two = vectors[:, :2] / vectors[:, :2].sum(axis=1, keepdims=True)
    binary = labels % 2
    assert auc(two, binary) == pytest.approx(roc_area(two[:, 1], binary == 1), abs=1e-12)


def test_anomaly_top1_is_the_best_threshold_score():
    errors = np.array([1.0, 2.0, 2.5, 3.0, 7.0, 8.0, 4.0, 9.0])
    labels = np.array([0, 0, 0, 0, 1, 1, 1, 1])
    best = 0.0
    for k in range(100):  # the runner: 100 thresholds from the lowest score, 1 % of the range apart
        threshold = errors.min() + k * 0.01 * (errors.max() - errors.min())
        flagged = errors > threshold
        tp, fp = (flagged & (labels == 1)).sum(), (flagged & (labels == 0)).sum()
        fn = (~flagged & (labels == 1)).sum()
        best = max(best, 100 * (tp / (tp + fp + 1e-8) + tp / (tp + fn + 1e-8)) / 2)
    assert top1_percent(errors[:, None], labels) == pytest.approx(best, abs=1e-9)
    assert f"{best:2.1f}" == "100.0"  # separable: the +1e-8 only shows past the printed digits


def test_classifier_scores_are_normalised_before_averaging():
    # Two files whose raw scores sum to different totals: the AUC depends on normalising first.
    files = [[0.2, 0.2, 0.0], [0.5, 0.4, 0.1]]
    labels = [1, 0]
    top1, area = runner_accuracy(files, labels)
    assert normalised(files[0]) == [0.5, 0.5, 0.0]
    assert top1 == 50.0  # file 0's argmax is class 0 (the first maximum), not its label
    # class 0: positive 0.5 vs negative 0.5 (a tie, 0.5); class 1: positive 0.5 vs negative 0.4 (1.0);
    # class 2 has no positive file. Unnormalised, class 0 would compare 0.5 with 0.2 (1.0) and class 1
    # 0.2 with 0.4 (0.0).
    assert area == pytest.approx((0.5 + 1.0) / 2)
    assert auc(np.array(files), labels) == pytest.approx((1.0 + 0.0) / 2)
    assert runner_accuracy([], []) == (None, None)
    assert normalised([0.0, 0.0]) == [0.0, 0.0] and normalised([4.5]) == [4.5]
