"""Accuracy figures as the MLPerf Tiny runner computes them (benchmark/runner/main.py in mlcommons/tiny).

The runner keeps, per dataset file, the mean over the file's inferences of each inference's
scores, a class vector first normalised to sum 1 (a single value, ad01's reconstruction error,
is kept as it is). From those per-file vectors it prints:

- `Top 1%`: classifiers, the share of files whose argmax is the label (in percent); ad01, the
  best (precision + recall) / 2 over 100 thresholds spread evenly from the lowest score to just
  below the highest (precision and recall each with 1e-8 added to the denominator);
- `AUC`: ad01, the ROC area of the mean error (label 1 = anomaly); two classes (vww01), the ROC
  area of class 1's probability; more classes (kws01, ic01), the unweighted mean of each class's
  one-vs-rest ROC area.

The runner hands the AUC to scikit-learn, which refuses (and the runner stops) when a class has
no file; here such a class is left out of the mean, and an AUC that no class defines is None.
ROC areas are the Mann-Whitney statistic with ties counted half, which equals scikit-learn's
trapezoidal area.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def normalised(scores: Sequence[float]) -> list[float]:
    """One inference's scores as the runner keeps them (a class vector divided by its sum)."""
    if len(scores) == 1:
        return [float(scores[0])]
    total = sum(float(s) for s in scores)
    if total == 0:
        return [float(s) for s in scores]  # the runner would divide by zero; keep the scores
    return [float(s) / total for s in scores]


def binary_auc(scores: Sequence[float], positive: Sequence[bool]) -> float | None:
    """ROC area of `scores` for the `positive` files; None without both kinds of file."""
    s = np.asarray(scores, dtype=np.float64)
    y = np.asarray(positive, dtype=bool)
    pos, neg = s[y], s[~y]
    if len(pos) == 0 or len(neg) == 0:
        return None
    greater = (pos[:, None] > neg[None, :]).sum()
    ties = (pos[:, None] == neg[None, :]).sum()
    return float((greater + 0.5 * ties) / (len(pos) * len(neg)))


def anomaly_top1_percent(errors: np.ndarray, labels: np.ndarray) -> float:
    """ad01's `Top 1%`: the best (precision + recall) / 2 in percent over the runner's thresholds."""
    low, high = np.amin(errors), np.amax(errors)
    best = 0.0
    for threshold in low + np.arange(0.0, 1.0, 0.01) * (high - low):
        flagged = errors > threshold
        tp = np.sum(flagged[labels == 1])
        fp = np.sum(flagged[labels == 0])
        fn = np.sum(~flagged[labels == 1])
        precision = tp / (tp + fp + 1e-8)
        recall = tp / (tp + fn + 1e-8)
        best = max(best, 100 * (precision + recall) / 2)
    return float(best)


def top1_percent(vectors: np.ndarray, labels: Sequence[int]) -> float | None:
    """The runner's `Top 1%` over per-file vectors (one row per file)."""
    y = np.asarray(labels)
    if len(y) == 0:
        return None
    if vectors.shape[1] == 1:
        return anomaly_top1_percent(vectors[:, 0], y)
    return float(100 * np.sum(y == np.argmax(vectors, axis=1)) / len(vectors))


def auc(vectors: np.ndarray, labels: Sequence[int]) -> float | None:
    """The runner's `AUC` over per-file vectors (one row per file)."""
    y = np.asarray(labels)
    if len(y) == 0:
        return None
    if vectors.shape[1] == 1:
        return binary_auc(vectors[:, 0], y != 0)
    if vectors.shape[1] == 2:
        return binary_auc(vectors[:, 1], y == 1)
    areas = [binary_auc(vectors[:, c], y == c) for c in range(vectors.shape[1])]
    defined = [a for a in areas if a is not None]
    return float(np.mean(defined)) if defined else None


def runner_accuracy(file_scores: Sequence[Sequence[float]], labels: Sequence[int]) -> tuple[float | None, float | None]:
    """(`Top 1%`, `AUC`) from each file's stored scores (the mean over its inferences) and label.

    A stored class vector is normalised here: exact for one inference per file, which is how
    every classifier's dataset is read (only ad01 files hold several inferences, of one value)."""
    if not file_scores:
        return None, None
    vectors = np.array([normalised(s) for s in file_scores], dtype=np.float64)
    return top1_percent(vectors, labels), auc(vectors, labels)
