"""`hark data index RECORDINGS --pattern "{label}_{speaker}_{take}.wav" --out manifest.csv`: a
flat folder whose file names carry the label, turned into a CSV manifest.

A pattern is matched against each audio file's path relative to RECORDINGS (so it may hold
folders: `"{speaker}/{label}-{take}.wav"`). Fields: `{label}` (required), `{speaker}` and
`{split}` go into the manifest, any other name matches and is ignored. A field matches as little
as it can, so `{label}_{speaker}_{take}` reads `0_george_12.wav` as label 0, speaker george."""

from __future__ import annotations

import csv
import io
import os
import re
from pathlib import Path

from hark.data.naming import is_audio_name
from hark.data.tabular import ROOT_DIRECTIVE
from hark.errors import HarkError, UsageError
from hark.fileio import write_text

_FIELD = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)\}")
KEPT_FIELDS = ("speaker", "split")
NOT_MATCHED_SHOWN = 3


def compile_pattern(pattern: str) -> re.Pattern:
    names = _FIELD.findall(pattern)
    if "label" not in names:
        raise UsageError(f"--pattern {pattern!r}: needs a {{label}} field")
    if len(names) != len(set(names)):
        raise UsageError(f"--pattern {pattern!r}: a field is named twice")
    parts, last = [], 0
    for match in _FIELD.finditer(pattern):
        parts.append(re.escape(pattern[last : match.start()]))
        parts.append(f"(?P<{match[1]}>[^/]+?)")
        last = match.end()
    parts.append(re.escape(pattern[last:]))
    return re.compile("".join(parts))


def index_by_pattern(folder: str | Path, pattern: str) -> tuple[list[dict], list[str]]:
    """([{path, label[, speaker][, split]}] sorted by path, paths of audio files that did not match)."""
    folder = Path(folder)
    if not folder.is_dir():
        raise HarkError(f"{folder}: not a folder")
    regex = compile_pattern(pattern)
    kept = [name for name in regex.groupindex if name in KEPT_FIELDS]
    rows, unmatched = [], []
    for directory, subdirs, names in os.walk(folder):
        subdirs[:] = sorted(d for d in subdirs if not d.startswith("."))
        relative = Path(directory).relative_to(folder).as_posix()
        for name in sorted(n for n in names if is_audio_name(n)):
            path = name if relative == "." else f"{relative}/{name}"
            match = regex.fullmatch(path)
            if match is None:
                unmatched.append(path)
            else:
                rows.append({"path": path, "label": match["label"], **{k: match[k] for k in kept}})
    if not rows:
        seen = f"; e.g. {', '.join(unmatched[:NOT_MATCHED_SHOWN])}" if unmatched else " (no audio files at all)"
        raise HarkError(f"{folder}: no file matches the pattern {pattern!r} ({len(unmatched)} audio files{seen})")
    return sorted(rows, key=lambda r: r["path"]), unmatched


def write_pattern_manifest(folder: str | Path, rows: list[dict], out: str | Path) -> Path:
    """The manifest CSV. Paths are relative to the manifest when `folder` lies below it (so both
    move together); otherwise they stay relative to `folder`, which a `# root:` line names."""
    folder, out = Path(folder).resolve(), Path(out)
    base = out.parent.resolve()
    buffer = io.StringIO()
    if folder.is_relative_to(base):
        prefix = folder.relative_to(base).as_posix()
        rows = [{**r, "path": r["path"] if prefix == "." else f"{prefix}/{r['path']}"} for r in rows]
    else:
        buffer.write(f"{ROOT_DIRECTIVE} {folder}\n")
    writer = csv.DictWriter(buffer, fieldnames=list(rows[0]), lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    out.parent.mkdir(parents=True, exist_ok=True)
    return write_text(out, buffer.getvalue())
