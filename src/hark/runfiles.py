"""Reading the files a run folder holds (config, metrics, findings, predictions, per-clip
analysis), so that a missing, damaged or outdated file is one clear message naming it and the
command that writes it, in every stage."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from hark import schema
from hark.errors import HarkError


_REQUIRED = object()


def read_json(path: str | Path, what: str, produced_by: str, default: Any = _REQUIRED) -> Any:
    """The JSON document at `path`, or `default` when it is absent and optional."""
    path = Path(path)
    if not path.exists():
        if default is not _REQUIRED:
            return default
        raise HarkError(f"{path}: no {what}; run `{produced_by}` first")
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as err:
        raise HarkError(f"{path}: cannot read the {what} ({err})") from None


def read_table(
    path: str | Path, what: str, produced_by: str, required: tuple[str, ...] = (), columns: list[str] | None = None
) -> pa.Table:
    """The table at `path`; `what` names its content and `produced_by` the command that writes it."""
    path = Path(path)
    if not path.exists():
        raise HarkError(f"{path}: no {what}; run `{produced_by}` first")
    try:
        table = pq.read_table(path, columns=columns)
    except Exception as err:  # pyarrow raises many kinds for a damaged file
        raise HarkError(f"{path}: cannot read the {what} ({err})") from None
    missing = [c for c in required if c not in table.column_names]
    if missing:
        raise HarkError(f"{path}: missing column(s) {', '.join(missing)}; re-run `{produced_by}`")
    return table


def read_clips(path: str | Path, required: tuple[str, ...] = (), defaults: dict | None = None) -> pd.DataFrame:
    """`RUN/analysis/clips.parquet` as a DataFrame; a column in `defaults` that an older
    analysis did not write is filled with its default value."""
    clips = read_table(path, "per-clip analysis", "hark analyze RUN", required).to_pandas()
    for column, value in (defaults or {}).items():
        if column not in clips.columns:
            clips[column] = value
    return clips


def read_labels(table: pa.Table) -> list[str] | None:
    """The class order a hark table carries in its metadata (see `schema.LABELS_METADATA_KEY`)."""
    metadata = table.schema.metadata or {}
    if schema.LABELS_METADATA_KEY not in metadata:
        return None
    return json.loads(metadata[schema.LABELS_METADATA_KEY])
