"""The `metrics.json` entry of a split and its text summaries (`hark evaluate`, `hark compare`)."""

from __future__ import annotations

import numpy as np
from sklearn.metrics import precision_recall_fscore_support

from hark.train.metrics import accuracy, macro_f1


def split_metrics(y_true, y_pred, labels: list[str]) -> dict:
    """The `metrics.json` entry of one split: accuracy, macro-F1 and per-class scores."""
    precision, recall, f1, support = precision_recall_fscore_support(
        y_true,
        y_pred,
        labels=np.arange(len(labels)),
        zero_division=0,
    )
    per_class = {
        label: {"precision": float(p), "recall": float(r), "f1": float(f), "support": int(s)}
        for label, p, r, f, s in zip(labels, precision, recall, f1, support, strict=True)
    }
    return {"accuracy": accuracy(y_true, y_pred), "macro_f1": macro_f1(y_true, y_pred), "per_class": per_class}


def format_split_table(metrics: dict[str, dict]) -> str:
    """One line per split: clips, accuracy, macro-F1."""
    lines = [f"{'split':<12}{'clips':>8}{'accuracy':>10}{'macro-F1':>10}"]
    for split, m in metrics.items():
        clips = sum(c["support"] for c in m["per_class"].values())
        lines.append(f"{split:<12}{clips:>8}{m['accuracy']:>10.4f}{m['macro_f1']:>10.4f}")
    return "\n".join(lines)


def format_per_class(split_entry: dict, title: str = "") -> str:
    """Per-class precision/recall/F1/support, worst F1 first so that problems are on top."""
    rows = sorted(split_entry["per_class"].items(), key=lambda kv: (kv[1]["f1"], kv[0]))
    width = max([len("class")] + [len(label) for label, _ in rows])
    lines = [title] if title else []
    lines.append(f"{'class':<{width}}{'precision':>11}{'recall':>9}{'F1':>8}{'support':>9}")
    for label, c in rows:
        lines.append(f"{label:<{width}}{c['precision']:>11.3f}{c['recall']:>9.3f}{c['f1']:>8.3f}{c['support']:>9d}")
    return "\n".join(lines)
