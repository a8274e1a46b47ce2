"""Two runs side by side: metric deltas overall and per class, clips fixed and broken, and how
each failure mode of the first run fared in the second."""

from __future__ import annotations

from dataclasses import dataclass
from html import escape
from pathlib import Path

import pandas as pd

from hark.analysis.findings import read_findings
from hark.analysis.report import STYLE, table_html
from hark.evaluate.metrics import split_metrics


@dataclass
class Comparison:
    overall: pd.DataFrame  # split, metric, a, b, delta
    per_class: pd.DataFrame  # label, f1_a, f1_b, delta (on the evaluation split)
    clips: pd.DataFrame  # path, split, label_a, pred_a, label_b, pred_b, status
    modes: pd.DataFrame  # title, size, in_b, fixed_in_b, share_fixed
    split: str


def _metrics(predictions: pd.DataFrame, labels: list[str]) -> dict:
    """Per split metrics from predictions, so that both runs are scored the same way."""
    index = {label: i for i, label in enumerate(labels)}
    return {split: split_metrics(group["label"].map(index).to_numpy(), group["pred"].map(index).to_numpy(), labels)
            for split, group in predictions.groupby("split")}


def clip_status(a: pd.DataFrame, b: pd.DataFrame) -> pd.DataFrame:
    """Clips in both runs (same path and split); each judged against its own run's label, so a
    clip moved to a new class counts as right when the new run predicts that class."""
    merged = a[["path", "split", "label", "pred"]].merge(b[["path", "split", "label", "pred"]], on=["path", "split"], suffixes=("_a", "_b"))
    right_a = merged["label_a"] == merged["pred_a"]
    right_b = merged["label_b"] == merged["pred_b"]
    merged["status"] = "both wrong"
    merged.loc[right_a & right_b, "status"] = "both right"
    merged.loc[~right_a & right_b, "status"] = "fixed"
    merged.loc[right_a & ~right_b, "status"] = "broken"
    return merged


def compare_runs(run_a, run_b) -> Comparison:
    """`run_a`, `run_b`: RunData of the two runs."""
    metrics_a, metrics_b = _metrics(run_a.clips, run_a.labels), _metrics(run_b.clips, run_b.labels)
    rows = []
    for split in [s for s in ("train", "validation", "test") if s in metrics_a and s in metrics_b]:
        for metric in ("accuracy", "macro_f1"):
            a, b = metrics_a[split][metric], metrics_b[split][metric]
            rows.append({"split": split, "metric": metric, "a": a, "b": b, "delta": b - a})
    overall = pd.DataFrame(rows, columns=["split", "metric", "a", "b", "delta"])
    split = next((s for s in ("test", "validation", "train") if s in metrics_a and s in metrics_b), None)
    per_class = pd.DataFrame(columns=["label", "f1_a", "f1_b", "delta"])
    if split:
        per_a, per_b = metrics_a[split]["per_class"], metrics_b[split]["per_class"]
        per_class = pd.DataFrame([{"label": label, "f1_a": per_a.get(label, {}).get("f1", float("nan")),
                                   "f1_b": per_b.get(label, {}).get("f1", float("nan"))}
                                  for label in list(dict.fromkeys([*run_a.labels, *run_b.labels]))])
        per_class["delta"] = per_class["f1_b"] - per_class["f1_a"]
        per_class = per_class.sort_values("delta", na_position="last").reset_index(drop=True)
    clips = clip_status(run_a.clips, run_b.clips)
    modes = _modes_in_b(run_a.run_dir / "analysis" / "findings.json", clips)
    return Comparison(overall, per_class, clips, modes, split or "")


def _modes_in_b(findings_path: Path, clips: pd.DataFrame) -> pd.DataFrame:
    columns = ["title", "size", "in_b", "fixed_in_b", "share_fixed"]
    if not findings_path.exists():
        return pd.DataFrame(columns=columns)
    right_b = clips.set_index("path")["label_b"] == clips.set_index("path")["pred_b"]
    rows = []
    for finding in read_findings(findings_path):
        present = right_b[right_b.index.isin(finding["clips"])]
        rows.append({"title": finding["title"], "size": finding["size"], "in_b": len(present),
                     "fixed_in_b": int(present.sum()), "share_fixed": present.mean() if len(present) else float("nan")})
    return pd.DataFrame(rows, columns=columns)


def status_counts(comparison: Comparison) -> pd.DataFrame:
    return comparison.clips.groupby(["split", "status"]).size().unstack(fill_value=0).reset_index()


def format_comparison(comparison: Comparison, name_a: str, name_b: str, classes: int = 10) -> str:
    """The terminal tables."""
    lines = [f"A = {name_a}   B = {name_b}", "", comparison.overall.to_string(index=False, float_format="{:.4f}".format), ""]
    lines += ["clips (each judged against its own run's label):", status_counts(comparison).to_string(index=False), ""]
    if len(comparison.per_class):
        lines += [f"per-class F1 on {comparison.split} (largest drops first):",
                  comparison.per_class.head(classes).to_string(index=False, float_format="{:.3f}".format), ""]
    if len(comparison.modes):
        lines += ["failure modes of A in B:", comparison.modes.to_string(index=False, float_format="{:.2f}".format)]
    return "\n".join(lines)


def comparison_html(comparison: Comparison, name_a: str, name_b: str) -> str:
    changed = comparison.clips[comparison.clips["status"].isin(["fixed", "broken"])].sort_values(["status", "path"])
    sections = [
        ("Metrics", table_html(comparison.overall, "{:.4f}")),
        ("Clips fixed and broken", table_html(status_counts(comparison))),
        (f"Per-class F1 ({comparison.split})", table_html(comparison.per_class)),
        ("Failure modes of A in B", table_html(comparison.modes) if len(comparison.modes) else "<p>A has no findings.json.</p>"),
        ("Changed clips", table_html(changed.head(500))),
    ]
    title = f"hark compare: {name_a} vs {name_b}"
    body = "".join(f"<h2>{escape(t)}</h2>{html}" for t, html in sections)
    return (f'<!DOCTYPE html><html><head><meta charset="utf-8"><title>{escape(title)}</title><style>{STYLE}</style></head>'
            f"<body><h1>{escape(title)}</h1>{body}</body></html>")
