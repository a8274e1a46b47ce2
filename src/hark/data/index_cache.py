"""The dataset-index cache: the `ClipDataset` that `load_dataset` builds for a folder or archive
(about 20 s for the 105,829 clips of Speech Commands v0.02) is kept under
`cache_dir()/index/<fingerprint>.pkl`, so a second run starts in a moment.

Keyed like the clip cache, by what can change the answer: the call's arguments, the resolved
source, the size and mtime of the source (an archive) or of the folder, its sub-folders and its
top-level files (split lists), and the source code of `hark.data`, so a loader fix never serves
an index built by the old loader. Adding, removing or renaming a clip changes its folder's mtime;
overwriting a clip in place with other content does not, but the clip cache, which stats every
file, still rebuilds that clip's waveform. Manifests (`.json`) are read directly: they are the
index already. An unreadable cache entry is rebuilt, never an error."""

from __future__ import annotations

import functools
import hashlib
import json
import logging
import os
import pickle
from collections.abc import Callable
from pathlib import Path

from hark.data.example import ClipDataset
from hark.data.paths import cache_dir
from hark.errors import OutputError
from hark.fileio import atomic_write

log = logging.getLogger(__name__)

INDEX_VERSION = 1  # bump when the stored form changes
DEPTH = 2  # folder levels whose mtimes the key covers (root/word/ for every layout hark reads)


def _stat_key(path: Path) -> str:
    st = path.stat()
    return f"{st.st_size}:{st.st_mtime_ns}"


def _tree_stats(root: Path, depth: int = DEPTH) -> list[str]:
    entries = [f"./{_stat_key(root)}"]
    folders = [root]
    for level in range(depth):
        found = []
        for folder in folders:
            with os.scandir(folder) as listing:
                for entry in listing:
                    if entry.is_dir(follow_symlinks=True):
                        found.append(Path(entry.path))
                        entries.append(f"{Path(entry.path).relative_to(root)}/{_stat_key(Path(entry.path))}")
                    elif level == 0 and entry.is_file():
                        entries.append(f"{entry.name}:{_stat_key(Path(entry.path))}")
        folders = found
    return sorted(entries)


@functools.cache
def _loader_code_digest() -> str:
    digest = hashlib.sha256()
    for source in sorted(Path(__file__).parent.glob("*.py")):
        digest.update(source.name.encode() + b"\0" + source.read_bytes())
    return digest.hexdigest()


def fingerprint(source: Path, arguments: dict) -> str | None:
    """The cache key for loading `source` with `arguments`, or None when it is not cached."""
    if source.is_file() and source.suffix.lower() == ".json":
        return None
    try:
        state = [_stat_key(source)] if source.is_file() else _tree_stats(source)
    except OSError:
        return None
    document = {
        "version": INDEX_VERSION,
        "source": str(source),
        "arguments": arguments,
        "state": state,
        "code": _loader_code_digest(),
    }
    return hashlib.sha256(json.dumps(document, sort_keys=True, default=str).encode()).hexdigest()[:32]


def _read(path: Path) -> ClipDataset | None:
    try:
        with path.open("rb") as handle:
            dataset = pickle.load(handle)
    except FileNotFoundError:
        return None
    except Exception as err:  # a truncated or foreign file: rebuild it
        log.warning("%s: unreadable dataset index (%s); rebuilding it", path, err)
        return None
    return dataset if isinstance(dataset, ClipDataset) else None


def index_cached(load: Callable[..., ClipDataset]) -> Callable[..., ClipDataset]:
    """Decorator for `load_dataset(source, task="all", version=None, **opts)`."""

    @functools.wraps(load)
    def cached(source, task: str = "all", version: str | None = None, **opts) -> ClipDataset:
        path = Path(source).expanduser()
        key = fingerprint(path.resolve(), {"task": task, "version": version, **opts}) if path.exists() else None
        if key is None or os.environ.get("HARK_NO_INDEX_CACHE"):
            return load(source, task, version, **opts)
        entry = cache_dir() / "index" / f"{key}.pkl"
        dataset = _read(entry)
        if dataset is None:
            dataset = load(source, task, version, **opts)
            try:
                entry.parent.mkdir(parents=True, exist_ok=True)
                atomic_write(entry, lambda tmp: tmp.write_bytes(pickle.dumps(dataset, pickle.HIGHEST_PROTOCOL)))
            except (OSError, OutputError) as err:  # a read-only cache slows the next run, nothing more
                log.warning("cannot keep the dataset index in %s: %s", entry.parent, err)
        return dataset

    return cached
