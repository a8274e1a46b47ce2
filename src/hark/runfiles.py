"""Reading the files a run folder holds (config, metrics, findings, predictions, per-clip
analysis), so that a missing, damaged or outdated file is one clear message naming it and the
command that writes it, in every stage."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

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


def read_table(path: str | Path, what: str, produced_by: str, required: tuple[str, ...] = (),
               columns: list[str] | None = None) -> pa.Table:
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
