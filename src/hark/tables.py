"""Reading the Parquet tables a run folder holds (predictions, per-clip analysis), so that a
missing, damaged or outdated file is one clear message naming it and what to run, in every stage."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from hark.errors import HarkError


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
