"""Confusable pairs: the off-diagonal of the confusion matrix, both directions of a pair together."""

from __future__ import annotations

import numpy as np
import pandas as pd

from hark.schema import PRED


def confusion_counts(labels_true: pd.Series, labels_pred: pd.Series, labels: list[str]) -> np.ndarray:
    index = {label: i for i, label in enumerate(labels)}
    matrix = np.zeros((len(labels), len(labels)), np.int64)
    np.add.at(matrix, (labels_true.map(index).to_numpy(), labels_pred.map(index).to_numpy()), 1)
    return matrix


def confusable_pairs(clips: pd.DataFrame, labels: list[str], pred_column: str = PRED, top: int = 20,
                     examples: int = 4) -> list[dict]:
    """Pairs ranked by errors in both directions: {a, b, a_as_b, b_as_a, total, examples}.
    Examples are the most confident mistakes, the clearest to listen to."""
    matrix = confusion_counts(clips["label"], clips[pred_column], labels)
    pairs = []
    for a in range(len(labels)):
        for b in range(a + 1, len(labels)):
            total = int(matrix[a, b] + matrix[b, a])
            if total:
                pairs.append((total, a, b))
    pairs.sort(key=lambda t: (-t[0], labels[t[1]], labels[t[2]]))
    result = []
    for total, a, b in pairs[:top]:
        wrong = clips[((clips["label"] == labels[a]) & (clips[pred_column] == labels[b]))
                      | ((clips["label"] == labels[b]) & (clips[pred_column] == labels[a]))]
        picked = wrong.sort_values("confidence", ascending=False).head(examples)
        result.append({
            "a": labels[a], "b": labels[b], "a_as_b": int(matrix[a, b]), "b_as_a": int(matrix[b, a]),
            "total": total, "examples": picked["path"].tolist(),
        })
    return result
