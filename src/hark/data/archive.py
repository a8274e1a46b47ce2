"""Datasets shipped as `.tar.gz`: extracted once into the cache, safely, and atomically.

Extraction goes into a temporary folder beside the target and is renamed into place only when
complete, so an interrupted extraction is redone rather than mistaken for a dataset. Members
pass tarfile's "data" filter: absolute paths, `..`, links leaving the folder and device files
are refused."""

from __future__ import annotations

import hashlib
import os
import shutil
import tarfile
import zlib
from pathlib import Path

from tqdm import tqdm

from hark.data.paths import cache_dir
from hark.errors import HarkError

ARCHIVE_SUFFIXES = (".tar.gz", ".tgz")
# The gzip trailer (CRC-32 and length of the whole content) sits in the last bytes, so the
# head and tail identify an archive without reading gigabytes.
_FINGERPRINT_BYTES = 1 << 20


def is_archive(path: Path) -> bool:
    return path.name.lower().endswith(ARCHIVE_SUFFIXES)


def archive_stem(path: Path) -> str:
    name = path.name
    return next((name[: -len(s)] for s in ARCHIVE_SUFFIXES if name.lower().endswith(s)), name)


def archive_fingerprint(archive: Path) -> str:
    size = archive.stat().st_size
    digest = hashlib.sha256(str(size).encode())
    with archive.open("rb") as handle:
        digest.update(handle.read(_FINGERPRINT_BYTES))
        handle.seek(max(0, size - _FINGERPRINT_BYTES))
        digest.update(handle.read())
    return digest.hexdigest()[:20]


def extract_cached(archive: str | Path) -> Path:
    """The dataset folder of `archive`, extracted under `cache_dir()/archives/` on first use."""
    archive = Path(archive)
    target = cache_dir() / "archives" / archive_fingerprint(archive)
    if not target.is_dir():
        extract_to(archive, target)
    return unwrapped_root(target)


def extract_to(archive: Path, target: Path) -> None:
    """Extract `archive` so that `target` appears complete or not at all."""
    target.parent.mkdir(parents=True, exist_ok=True)
    _remove_abandoned_partials(target)
    partial = target.with_name(f".{target.name}.partial-{os.getpid()}")
    shutil.rmtree(partial, ignore_errors=True)
    try:
        with tarfile.open(archive, "r:*") as tar:
            for member in tqdm(tar, desc=f"extracting {archive.name}", unit="file", disable=None, leave=False):
                tar.extract(member, partial, filter="data")
    except BaseException as err:
        shutil.rmtree(partial, ignore_errors=True)
        if isinstance(err, tarfile.FilterError):
            raise HarkError(f"{archive}: refusing unsafe member ({err})") from None
        if isinstance(err, (tarfile.TarError, EOFError, zlib.error, OSError)):
            raise HarkError(f"{archive}: cannot extract, corrupt or truncated archive? ({err})") from None
        raise
    try:
        os.rename(partial, target)
    except OSError:
        # Another process finished the same extraction first; theirs is as good as ours.
        shutil.rmtree(partial, ignore_errors=True)
        if not target.is_dir():
            raise


def unwrapped_root(extracted: Path) -> Path:
    """Archives often wrap the dataset in one top folder; the official one does not. A lone
    folder holding only files is a dataset's single class, not a wrapper."""
    entries = [p for p in extracted.iterdir() if not p.name.startswith(".")]
    if len(entries) == 1 and entries[0].is_dir() and any(p.is_dir() for p in entries[0].iterdir()):
        return unwrapped_root(entries[0])
    return extracted


def _remove_abandoned_partials(target: Path) -> None:
    """Partial extractions of processes that died (a kill leaves no chance to clean up)."""
    for partial in target.parent.glob(f".{target.name}.partial-*"):
        pid = partial.name.rsplit("-", 1)[-1]
        if pid.isdigit() and not _process_alive(int(pid)):
            shutil.rmtree(partial, ignore_errors=True)


def _process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
