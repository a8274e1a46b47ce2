"""SpeechBrain's Speech Commands CSVs (`ID, duration, start, stop, wav, spk_id, command`), one
per split (`train.csv`, `valid.csv`, `test.csv`), or a folder holding them.

`start`/`stop` count samples; `wav` is usually absolute (SpeechBrain writes it so), else
relative to the CSV's folder, where a leading `$data_root` also points. The dataset root is
the deepest folder holding every file, so clip paths stay short and relative."""

from __future__ import annotations

import os
from pathlib import Path

from hark.data.example import ClipDataset
from hark.data.tabular import Row, build_dataset, read_table_rows
from hark.errors import HarkError

COLUMNS = ("ID", "wav", "command")  # the ones hark needs; duration is re-read from the file
SPLIT_FILES = {"train.csv": "train", "valid.csv": "validation", "dev.csv": "validation", "test.csv": "test"}
DATA_ROOT = "$data_root"


def _columns(path: Path) -> list[str]:
    try:
        with path.open(encoding="utf-8-sig") as handle:
            return [c.strip() for c in handle.readline().strip().split(",")]
    except (OSError, UnicodeDecodeError):
        return []


def is_speechbrain_csv(path: Path) -> bool:
    return path.is_file() and path.suffix.lower() == ".csv" and set(COLUMNS) <= set(_columns(path))


def speechbrain_files(path: Path) -> list[Path]:
    """The SpeechBrain CSVs `path` stands for: itself, or the split files of a folder."""
    if path.is_dir():
        return [path / name for name in SPLIT_FILES if is_speechbrain_csv(path / name)]
    return [path] if is_speechbrain_csv(path) else []


def load_speechbrain(
    path: str | Path, validation_percentage: float = 10.0, testing_percentage: float = 10.0
) -> ClipDataset:
    path = Path(path)
    files = speechbrain_files(path)
    if not files:
        raise HarkError(f"{path}: no SpeechBrain CSV (needs columns {', '.join(COLUMNS)})")
    listed: list[tuple[Row, str]] = []  # (row with the wav path as written, absolute wav)
    for csv_file in files:
        _, table, _ = read_table_rows(csv_file)
        split = SPLIT_FILES.get(csv_file.name.lower(), "")
        for number, row in table:
            wav = row["wav"].strip()
            if wav.startswith(DATA_ROOT):
                wav = wav[len(DATA_ROOT) :].lstrip("/\\")
            absolute = wav if os.path.isabs(wav) else os.path.join(csv_file.parent, wav)
            listed.append(
                (
                    Row(
                        f"{csv_file.name} line {number}",
                        wav,
                        row["command"],
                        split,
                        row.get("spk_id", "").strip(),
                        row.get("start", "").strip(),
                        row.get("stop", "").strip(),
                    ),
                    os.path.normpath(absolute),
                )
            )
    if not listed:
        raise HarkError(f"{path}: the SpeechBrain CSVs list no clips")
    root = Path(os.path.commonpath([os.path.dirname(a) for _, a in listed]))
    rows = [
        Row(r.where, Path(a).relative_to(root).as_posix(), r.label, r.split, r.speaker, r.start, r.end)
        for r, a in listed
    ]
    name = path.name if path.is_dir() else path.parent.name
    return build_dataset(
        files[0] if len(files) == 1 else path,
        root,
        rows,
        name=name,
        frames=True,
        validation_percentage=validation_percentage,
        testing_percentage=testing_percentage,
    )
