"""Classification metrics over label arrays: what training reports every epoch, and what
evaluation, analysis and the explorer build on (one confusion matrix for all of them)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from sklearn import metrics


def accuracy(y_true, y_pred) -> float:
    return float(metrics.accuracy_score(y_true, y_pred)) if len(y_true) else 0.0


def macro_f1(y_true, y_pred) -> float:
    """Mean F1 over the classes that occur in `y_true` or `y_pred`: a class absent from a
    small split would otherwise count as a zero and punish every model alike."""
    if not len(y_true):
        return 0.0
    return float(metrics.f1_score(y_true, y_pred, average="macro", zero_division=0))


def confusion_matrix(y_true, y_pred, classes: Sequence) -> np.ndarray:
    """`[true, predicted]` counts in the order of `classes` (class indices or names, covering
    every true label), every class included even when it never occurs."""
    if not len(classes) or not len(y_true):
        return np.zeros((len(classes), len(classes)), np.int64)
    return metrics.confusion_matrix(np.asarray(y_true), np.asarray(y_pred), labels=np.asarray(classes))
