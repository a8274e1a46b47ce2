"""The machine-readable outputs the explorer and `hark fix`/`hark compare` read:
`findings.json` (failure modes, largest first) and `clips.parquet` (one row per clip)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pandas as pd

from hark.analysis.detectors import detector_columns
from hark.analysis.failure_modes import FailureMode
from hark.runfiles import read_json, read_table

CLIP_COLUMNS = [
    "path", "split", "label", "speaker_id", "pred", "confidence", "loss",
    "oos_pred", "oos_confidence", "error", "label_quality", "label_issue", "suggested_label", "cleanlab_issue",
    *detector_columns(), "cluster", "x", "y", "outlier_score",
]


def build_findings(modes: list[FailureMode], clips: pd.DataFrame) -> list[dict]:
    paths = clips["path"].to_numpy()
    return [
        {"title": m.title, "description": m.description, "size": int(len(m.rows)), "clips": paths[m.rows].tolist(),
         "cluster": int(m.cluster), **m.details}
        for m in sorted(modes, key=lambda m: -len(m.rows))
    ]


def _atomic(path: Path, write) -> None:
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    write(temporary)
    os.replace(temporary, path)


def write_findings(findings: list[dict], path: Path) -> None:
    _atomic(path, lambda p: p.write_text(json.dumps(findings, indent=1) + "\n", encoding="utf-8"))


def write_clips(clips: pd.DataFrame, path: Path) -> None:
    _atomic(path, lambda p: clips[CLIP_COLUMNS].to_parquet(p, index=False))


def read_findings(path: Path) -> list[dict]:
    return read_json(path, "findings", "hark analyze RUN")


def read_clips(path: Path) -> pd.DataFrame:
    return read_table(path, "per-clip analysis", "hark analyze RUN").to_pandas()
