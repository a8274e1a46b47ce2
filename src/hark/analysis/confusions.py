"""Confusable pairs: the off-diagonal of the confusion matrix, both directions of a pair together."""

from __future__ import annotations

import pandas as pd

from hark import schema
from hark.train.metrics import confusion_matrix


def confusable_pairs(
    clips: pd.DataFrame, labels: list[str], pred_column: str = schema.PRED, top: int = 20, examples: int = 4
) -> list[dict]:
    """Pairs ranked by errors in both directions: {a, b, a_as_b, b_as_a, total, examples}.
    Examples are the most confident mistakes, the clearest to listen to."""
    matrix = confusion_matrix(clips[schema.LABEL], clips[pred_column], labels)
    pairs = []
    for a in range(len(labels)):
        for b in range(a + 1, len(labels)):
            total = int(matrix[a, b] + matrix[b, a])
            if total:
                pairs.append((total, a, b))
    pairs.sort(key=lambda t: (-t[0], labels[t[1]], labels[t[2]]))
    result = []
    for total, a, b in pairs[:top]:
        truth, predicted = clips[schema.LABEL], clips[pred_column]
        wrong = clips[
            ((truth == labels[a]) & (predicted == labels[b])) | ((truth == labels[b]) & (predicted == labels[a]))
        ]
        picked = wrong.sort_values(schema.CONFIDENCE, ascending=False).head(examples)
        result.append(
            {
                "a": labels[a],
                "b": labels[b],
                "a_as_b": int(matrix[a, b]),
                "b_as_a": int(matrix[b, a]),
                "total": total,
                "examples": picked[schema.PATH].tolist(),
            }
        )
    return result
