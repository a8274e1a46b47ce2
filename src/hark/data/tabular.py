"""Datasets listed in a table: a CSV, TSV or JSONL manifest with one row per clip.

Columns: `path` and `label` (required), `split`, `speaker`, `start`, `end` (optional; `start`/
`end` in seconds cut a clip out of a longer file, as a `path#N` window). Paths are relative to
the manifest's folder, or to the folder a first line `# root: FOLDER` names (relative to the
manifest or absolute), so that a manifest can live apart from read-only recordings.

Mistakes in the table itself (missing columns, duplicate rows, paths that leave the root, two
spellings of one label, unknown splits) stop loading with one message naming the file and the
lines; files that are missing or do not decode are reported as Problems and skipped, as a
folder's are. The split comes from the table, else from the official speaker hash when a
speaker is known, else from a hash of the file name (see `naming.hash_split`)."""

from __future__ import annotations

import csv
import json
import math
import os
import posixpath
from dataclasses import dataclass
from pathlib import Path

from tqdm import tqdm

from hark.data.audio import audio_info
from hark.data.example import SPLITS, ClipDataset, Example, Problem
from hark.data.naming import hash_split
from hark.errors import AudioError, HarkError
from hark.schema import windowed

REQUIRED_COLUMNS = ("path", "label")
OPTIONAL_COLUMNS = ("split", "speaker", "start", "end")
DELIMITERS = {".csv": ",", ".tsv": "\t"}
TABLE_SUFFIXES = (*DELIMITERS, ".jsonl")
ROOT_DIRECTIVE = "# root:"
# Split names other tools use for hark's three.
SPLIT_ALIASES = {
    "valid": "validation",
    "val": "validation",
    "dev": "validation",
    "testing": "test",
    "training": "train",
}
ERRORS_SHOWN = 5


@dataclass(frozen=True)
class Row:
    """One clip as a source lists it. `where` names the file and line for messages; `start`/`end`
    are in seconds, or in frames for a source with `frames=True` (see `build_dataset`)."""

    where: str
    path: str
    label: str
    split: str = ""
    speaker: str = ""
    start: str = ""
    end: str = ""


class RowErrors:
    """Collects what is wrong with a table's rows, to raise once with the first few."""

    def __init__(self, source: Path):
        self.source = source
        self.messages: list[str] = []

    def add(self, where: str, problem: str) -> None:
        self.messages.append(f"{where}: {problem}")

    def raise_if_any(self) -> None:
        if not self.messages:
            return
        shown = "; ".join(self.messages[:ERRORS_SHOWN])
        more = f" (and {len(self.messages) - ERRORS_SHOWN} more)" if len(self.messages) > ERRORS_SHOWN else ""
        raise HarkError(f"{self.source}: {len(self.messages)} bad row(s): {shown}{more}")


def is_table_manifest(path: Path) -> bool:
    return path.is_file() and path.suffix.lower() in TABLE_SUFFIXES


def read_table_rows(path: Path) -> tuple[list[str], list[tuple[int, dict]], Path]:
    """(columns, [(line number, row)], root) of a CSV/TSV/JSONL manifest."""
    try:
        lines = path.read_text(encoding="utf-8-sig").splitlines()
    except (OSError, UnicodeDecodeError) as err:
        raise HarkError(f"{path}: cannot read the manifest ({err})") from None
    root, first = path.parent, 0
    if lines and lines[0].startswith(ROOT_DIRECTIVE):
        root, first = (path.parent / lines[0][len(ROOT_DIRECTIVE) :].strip()).resolve(), 1
    numbered = [(number, line) for number, line in enumerate(lines, 1) if number > first and line.strip()]
    if path.suffix.lower() == ".jsonl":
        columns, rows = _jsonl_rows(path, numbered)
    else:
        columns, rows = _delimited_rows(path, numbered, DELIMITERS[path.suffix.lower()])
    return columns, rows, root


def _delimited_rows(path: Path, numbered: list[tuple[int, str]], delimiter: str) -> tuple[list[str], list]:
    if not numbered:
        raise HarkError(f"{path}: empty manifest (expected a header line {','.join(REQUIRED_COLUMNS)}[,...])")
    # One line at a time, so that every message names the line it is about.
    header = [column.strip() for column in next(csv.reader([numbered[0][1]], delimiter=delimiter))]
    rows = []
    for number, line in numbered[1:]:
        values = next(csv.reader([line], delimiter=delimiter))
        if len(values) != len(header):
            raise HarkError(f"{path}: line {number}: {len(values)} fields, the header has {len(header)}")
        rows.append((number, dict(zip(header, values, strict=True))))
    return header, rows


def _jsonl_rows(path: Path, numbered: list[tuple[int, str]]) -> tuple[list[str], list]:
    rows, columns = [], []
    for number, line in numbered:
        try:
            entry = json.loads(line)
        except json.JSONDecodeError as err:
            raise HarkError(f"{path}: line {number}: not JSON ({err.msg})") from None
        if not isinstance(entry, dict):
            raise HarkError(f"{path}: line {number}: expected a JSON object per line")
        row = {key: "" if value is None else str(value) for key, value in entry.items()}
        columns += [key for key in row if key not in columns]
        rows.append((number, row))
    return columns, rows


def load_table_manifest(
    path: str | Path, validation_percentage: float = 10.0, testing_percentage: float = 10.0
) -> ClipDataset:
    path = Path(path)
    columns, table, root = read_table_rows(path)
    missing = [c for c in REQUIRED_COLUMNS if c not in columns]
    if missing:
        raise HarkError(
            f"{path}: missing column(s) {', '.join(missing)} (has: {', '.join(columns) or 'none'}); "
            f"a manifest needs {','.join(REQUIRED_COLUMNS)}[,{','.join(OPTIONAL_COLUMNS)}]"
        )
    if not root.is_dir():
        raise HarkError(f"{path}: its data folder {root} does not exist")
    rows = [
        Row(f"line {number}", row["path"].strip(), row["label"], *(row.get(c, "").strip() for c in OPTIONAL_COLUMNS))
        for number, row in table
    ]
    return build_dataset(
        path,
        root,
        rows,
        name=path.stem,
        validation_percentage=validation_percentage,
        testing_percentage=testing_percentage,
    )


def relative_path_problem(path: str) -> str | None:
    """Why `path` cannot name a file below a dataset root, or None."""
    if not path:
        return "empty path"
    if path.startswith(("/", "\\")) or (len(path) > 1 and path[1] == ":"):
        return f"path {path!r} is absolute; paths are relative to the manifest's folder (or its `# root:`)"
    if ".." in path.replace("\\", "/").split("/"):
        return f"path {path!r} leaves the data folder (`..`)"
    if "#" in path:
        return f"path {path!r} contains '#'; use the start and end columns for a part of a file"
    return None


def build_dataset(
    source: Path,
    root: Path,
    rows: list[Row],
    *,
    name: str,
    frames: bool = False,
    validation_percentage: float = 10.0,
    testing_percentage: float = 10.0,
) -> ClipDataset:
    """Check `rows` (see the module docstring), read every file's header and return the dataset.
    `frames`: `start`/`end` count samples (SpeechBrain) rather than seconds."""
    errors = RowErrors(source)
    seen: dict[tuple[str, str], str] = {}
    spelling: dict[str, tuple[str, str]] = {}  # normalised label -> (label, where first seen)
    kept: list[Row] = []
    for row in rows:
        problem = relative_path_problem(row.path) or _label_problem(row, spelling) or _split_problem(row)
        problem = problem or _window_problem(row)
        key = (posixpath.normpath(row.path), row.start)
        if problem is None and key in seen:
            problem = f"{row.path}{' from ' + row.start if row.start else ''} is listed twice (also {seen[key]})"
        if problem:
            errors.add(row.where, problem)
            continue
        seen[key] = row.where
        kept.append(row)
    errors.raise_if_any()
    if not kept:
        raise HarkError(f"{source}: lists no clips")
    problems: list[Problem] = []
    examples = []
    for row in tqdm(kept, desc="indexing clips", unit="clip", disable=None, leave=False):
        example = _example(root, row, frames, problems, validation_percentage, testing_percentage)
        if example is not None:
            examples.append(example)
    return ClipDataset(root, examples, sorted({e.label for e in examples}), problems=problems, name=name)


def _label_problem(row: Row, spelling: dict[str, tuple[str, str]]) -> str | None:
    if not row.label.strip():
        return "empty label"
    if row.label != row.label.strip():
        return f"label {row.label!r} has leading or trailing spaces"
    normal = " ".join(row.label.split()).casefold()
    first, where = spelling.setdefault(normal, (row.label, row.where))
    if first != row.label:
        return f"label {row.label!r} is another spelling of {first!r} ({where}); use one spelling"
    return None


def _split_problem(row: Row) -> str | None:
    split = SPLIT_ALIASES.get(row.split.lower(), row.split.lower())
    if row.split and split not in SPLITS:
        return f"split {row.split!r} is not one of {', '.join(SPLITS)}"
    return None


def _window_problem(row: Row) -> str | None:
    bounds = []
    for column, value in (("start", row.start), ("end", row.end)):
        if not value:
            bounds.append(None)
            continue
        try:
            number = float(value)
        except ValueError:
            return f"{column} {value!r} is not a number"
        if not math.isfinite(number) or number < 0:
            return f"{column} {value!r} must be a finite number >= 0"
        bounds.append(number)
    start, end = bounds
    if end is not None and end <= (start or 0.0):
        return f"end {row.end} is not after start {row.start or 0}"
    return None


def _example(
    root: Path, row: Row, frames: bool, problems: list[Problem], validation_percentage: float, testing_percentage: float
) -> Example | None:
    file = row.path.replace("\\", "/")
    try:
        total, rate = audio_info(os.path.join(root, file))
    except AudioError as err:
        problems.append(Problem(file, f"{row.where}: {err.problem}; skipped"))
        return None
    scale = 1 if frames else rate
    start = round(float(row.start) * scale) if row.start else 0
    end = min(round(float(row.end) * scale), total) if row.end else total
    if start >= total or end <= start:
        problems.append(
            Problem(file, f"{row.where}: the window starts after the file's end ({total / rate:.2f} s); skipped")
        )
        return None
    # A window from the first sample to the file's end is the file itself.
    path = file if start == 0 and end == total else windowed(file, start, None if end == total else end)
    speaker = row.speaker or None
    split = SPLIT_ALIASES.get(row.split.lower(), row.split.lower()) or hash_split(
        file, speaker, validation_percentage, testing_percentage
    )
    return Example(path, row.label, split, speaker, None, end - start, rate)
