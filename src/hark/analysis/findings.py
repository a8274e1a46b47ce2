"""The machine-readable outputs the explorer and `hark fix`/`hark compare` read:
`findings.json` (failure modes, in rank order) and `clips.parquet` (one row per clip)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from hark.analysis.failure_modes import FailureMode
from hark.evaluate.predictions import describe_table, vector_column
from hark.fileio import atomic_write, write_json
from hark.runfiles import read_json
from hark.schema import CLIP_COLUMNS, ERROR_DEFINED_BY_METADATA_KEY, OOF_PROBS, PATH


def build_findings(modes: list[FailureMode], clips: pd.DataFrame) -> list[dict]:
    paths = clips[PATH].to_numpy()
    return [
        {
            "title": m.title,
            "description": m.description,
            "size": int(len(m.rows)),
            "clips": paths[m.rows].tolist(),
            "cluster": int(m.cluster),
            **m.details,
        }
        for m in sorted(modes, key=lambda m: m.cluster)
    ]


def write_findings(findings: list[dict], path: Path) -> None:
    write_json(path, findings)


def clips_table(clips: pd.DataFrame, labels: list[str], root: Path | str, defining: str) -> pa.Table:
    """clips.parquet's table: `oof_probs` as fixed_size_list<float32>[C], and metadata naming the
    class order, the data root and the prediction column that defines `error`."""
    plain = clips[[c for c in CLIP_COLUMNS if c != OOF_PROBS]]
    table = pa.Table.from_pandas(plain, preserve_index=False)
    probs = vector_column(np.stack(clips[OOF_PROBS].to_numpy()))
    table = describe_table(table.add_column(CLIP_COLUMNS.index(OOF_PROBS), OOF_PROBS, probs), labels, root)
    return table.replace_schema_metadata({**table.schema.metadata, ERROR_DEFINED_BY_METADATA_KEY: defining.encode()})


def write_clips(clips: pd.DataFrame, path: Path, labels: list[str], root: Path | str, defining: str) -> None:
    table = clips_table(clips, labels, root, defining)
    atomic_write(path, lambda temporary: pq.write_table(table, temporary))


def read_findings(path: Path) -> list[dict]:
    return read_json(path, "findings", "hark analyze RUN")
