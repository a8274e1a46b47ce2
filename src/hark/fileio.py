"""Writing a run's files so that a crash, a kill or a full disk never leaves a half-written
file under the real name: every file is written beside its target and renamed into place.
Also the up-front check that an output folder is writable, before any work is done."""

from __future__ import annotations

import errno
import json
import os
import shutil
import uuid
from contextlib import contextmanager
from pathlib import Path
from collections.abc import Callable, Iterator
from typing import Any

from hark.errors import OutputError

TEMP_SUFFIX = ".tmp"


def temporary_name(path: Path) -> Path:
    """A hidden sibling of `path`, unique per writer, that `clean_temporaries` recognises."""
    return path.with_name(f".{path.name}.{os.getpid()}-{uuid.uuid4().hex[:8]}{TEMP_SUFFIX}")


def output_error(path: Path, err: OSError) -> OutputError:
    """`err` (from writing `path`) as one line naming `path`; the free space when the disk is full."""
    if err.errno == errno.ENOSPC:
        try:
            free = shutil.disk_usage(path.parent).free
        except OSError:
            free = 0
        return OutputError(f"{path}: no space left on the device ({free / 1e6:.1f} MB free)")
    if err.errno in (errno.EROFS, errno.EACCES, errno.EPERM):
        return OutputError(f"{path}: cannot write here ({os.strerror(err.errno)})")
    return OutputError(f"{path}: cannot write ({err.strerror or err})")


@contextmanager
def atomic_path(path: str | Path) -> Iterator[Path]:
    """Yields a temporary path to write; on success it replaces `path`, on failure it is removed
    and `path` keeps its previous content. OS errors become an OutputError naming `path`."""
    path = Path(path)
    temporary = temporary_name(path)
    try:
        yield temporary
        os.replace(temporary, path)
    except OSError as err:
        temporary.unlink(missing_ok=True)
        raise output_error(path, err) from None
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise


def atomic_write(path: str | Path, write: Callable[[Path], Any]) -> Path:
    """`write(temporary)` then rename into place (see `atomic_path`)."""
    with atomic_path(path) as temporary:
        write(temporary)
    return Path(path)


def write_text(path: str | Path, text: str) -> Path:
    return atomic_write(path, lambda p: p.write_text(text, encoding="utf-8"))


def write_json(path: str | Path, document: Any) -> Path:
    return write_text(path, json.dumps(document, indent=1) + "\n")


def clean_temporaries(folder: str | Path) -> list[Path]:
    """Remove temporaries that a killed writer left in `folder`; returns what was removed."""
    removed = []
    for leftover in Path(folder).glob(f".*{TEMP_SUFFIX}"):
        leftover.unlink(missing_ok=True)
        removed.append(leftover)
    return removed


def ensure_writable_dir(folder: str | Path, what: str = "output folder") -> Path:
    """Create `folder` if needed and prove it takes a file, before any expensive work starts."""
    folder = Path(folder)
    try:
        folder.mkdir(parents=True, exist_ok=True)
        probe = temporary_name(folder / ".write-probe")
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as err:
        raise OutputError(f"{folder}: the {what} is not writable ({err.strerror or err})") from None
    return folder
