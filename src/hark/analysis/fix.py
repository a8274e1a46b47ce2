"""A fixed copy of a run's dataset, as a manifest: cut-off clips moved to their own class,
flagged clips dropped, human label corrections applied (e.g. exported from the explorer)."""

from __future__ import annotations

import csv
from dataclasses import dataclass, field, replace
from pathlib import Path

import pandas as pd

from hark.data.example import ClipDataset
from hark.errors import HarkError, UsageError
from hark.schema import (
    CUTOFF_LABEL,
    DETECTOR_BY_NAME,
    DETECTORS,
    LABEL,
    LABEL_ISSUE,
    PATH,
    SPLIT,
    SUGGESTED_LABEL,
    UNUSABLE_LABEL,
)

CUTOFF_CLASS = CUTOFF_LABEL
UNUSABLE = UNUSABLE_LABEL
DROPPABLE = tuple(d.name for d in DETECTORS) + (LABEL_ISSUE,)
CUTOFF = DETECTOR_BY_NAME["cutoff"]


@dataclass
class FixPlan:
    cutoff_class: bool = False
    drop: list[str] = field(default_factory=list)  # detector names (or label_issue) whose flagged clips go
    relabel: Path | None = None  # CSV with columns path,label; label "unusable" drops the clip
    relabel_suggested: bool = False  # training clips flagged as label errors take the suggested label
    # With `cutoff_class`: only clips whose cut-off score reaches this move (the detector is sure).
    cutoff_min_score: float = 0.0


@dataclass
class FixSummary:
    to_cutoff: int = 0
    dropped: int = 0
    relabelled: int = 0
    kept: int = 0


def read_relabel_csv(path: Path) -> dict[str, str]:
    try:
        with open(path, newline="", encoding="utf-8") as handle:
            reader = csv.DictReader(handle)
            if not reader.fieldnames or not {"path", "label"} <= set(reader.fieldnames):
                raise HarkError(f"{path}: needs a header with columns path,label (found {reader.fieldnames})")
            rows = {row["path"].strip(): row["label"].strip() for row in reader if row.get("path")}
    except OSError as err:
        raise HarkError(f"{path}: cannot read label corrections ({err.strerror})") from None
    empty = [p for p, label in rows.items() if not label]
    if empty:
        raise HarkError(f"{path}: empty label for {', '.join(empty[:3])}")
    return rows


def _flag_column(name: str) -> str:
    name = name.removeprefix("flag_")
    if name not in DROPPABLE:
        raise UsageError(f"--drop {name}: unknown flag; valid: {', '.join(DROPPABLE)}")
    return name if name == LABEL_ISSUE else DETECTOR_BY_NAME[name].flag_column


def suggested_labels(clips: pd.DataFrame) -> dict[str, str]:
    """Training clips the analysis calls label errors, with the label it suggests. Only the
    training split: relabelling test clips by the model would grade the model by itself."""
    flagged = clips[
        clips[LABEL_ISSUE].astype(bool) & (clips[SPLIT] == "train") & (clips[SUGGESTED_LABEL] != clips[LABEL])
    ]
    return dict(zip(flagged[PATH], flagged[SUGGESTED_LABEL], strict=True))


def suggested_plan(findings: list[dict], clips: pd.DataFrame) -> FixPlan:
    """The fixes hark recommends, only those measured to pay on real speech
    (benchmarks/bench_analysis_real.py): a cut-off class when a cut-off slice is among the
    failure modes, and the suggested labels when the training split has likely label errors."""
    return FixPlan(
        cutoff_class=any(f.get("slice") == CUTOFF.flag_column for f in findings),
        relabel_suggested=bool(suggested_labels(clips)),
    )


def fix_dataset(dataset: ClipDataset, table: pd.DataFrame, plan: FixPlan) -> tuple[ClipDataset, FixSummary]:
    """The dataset with the plan applied to the analysis' clips table (clips.parquet); human
    corrections win over flags."""
    clips = table.set_index(PATH)
    drop_columns = [_flag_column(name) for name in plan.drop]
    # Human corrections win over the analysis' suggestions.
    corrections = {
        **(suggested_labels(table) if plan.relabel_suggested else {}),
        **(read_relabel_csv(plan.relabel) if plan.relabel else {}),
    }
    unknown = sorted(set(corrections) - {e.path for e in dataset.examples})
    if unknown:
        raise HarkError(f"{plan.relabel}: {len(unknown)} path(s) not in the dataset, e.g. {', '.join(unknown[:3])}")
    dropped = set(clips.index[clips[drop_columns].any(axis=1)]) if drop_columns else set()
    sure = clips[CUTOFF.flag_column].astype(bool) & (clips[CUTOFF.score_column] >= plan.cutoff_min_score)
    cutoff = set(clips.index[sure]) if plan.cutoff_class else set()
    summary, examples = FixSummary(), []
    labels = list(dataset.labels)
    for example in dataset.examples:
        if example.path in corrections:
            new_label = corrections[example.path]
            if new_label == UNUSABLE:
                summary.dropped += 1
                continue
            if new_label not in labels:
                labels.append(new_label)
            summary.relabelled += new_label != example.label
            examples.append(replace(example, label=new_label))
        elif example.path in dropped:
            summary.dropped += 1
        elif example.path in cutoff:
            summary.to_cutoff += 1
            examples.append(replace(example, label=CUTOFF_CLASS))
        else:
            examples.append(example)
    if summary.to_cutoff and CUTOFF_CLASS not in labels:
        labels.append(CUTOFF_CLASS)
    summary.kept = len(examples)
    fixed = ClipDataset(
        dataset.root, examples, labels, list(dataset.noise_files), list(dataset.problems), f"{dataset.name} (fixed)"
    )
    return fixed, summary
