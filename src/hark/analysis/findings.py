"""The machine-readable outputs the explorer and `hark fix`/`hark compare` read:
`findings.json` (failure modes, largest first) and `clips.parquet` (one row per clip, the
columns of `hark.schema.CLIP_COLUMNS`)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from hark import schema
from hark.analysis.failure_modes import FailureMode
from hark.fileio import atomic_write, write_json
from hark.runfiles import read_json


def build_findings(modes: list[FailureMode], clips: pd.DataFrame) -> list[dict]:
    paths = clips[schema.PATH].to_numpy()
    return [
        {"title": m.title, "description": m.description, "size": int(len(m.rows)), "clips": paths[m.rows].tolist(),
         "cluster": int(m.cluster), **m.details}
        for m in sorted(modes, key=lambda m: -len(m.rows))
    ]


def write_findings(findings: list[dict], path: Path) -> None:
    write_json(path, findings)


def write_clips(clips: pd.DataFrame, path: Path) -> None:
    atomic_write(path, lambda temporary: clips[list(schema.CLIP_COLUMNS)].to_parquet(temporary, index=False))


def read_findings(path: Path) -> list[dict]:
    return read_json(path, "findings", "hark analyze RUN")
