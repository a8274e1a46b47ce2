"""The preprocessing cache: every clip of a split is decoded, down-mixed, resampled and
padded/cropped once into one memory-mapped float32 array that every later run reuses.

An array lives in `cache_dir()/arrays/<fingerprint>/`; the fingerprint covers the clips
(paths, labels, file sizes and mtimes) and the settings, so changed data gets a new array
instead of a stale one. A build is written into a temporary folder and renamed into place,
so a killed build never leaves a cache that looks complete."""

from __future__ import annotations

import errno
import hashlib
import json
import logging
import os
import shutil
import uuid
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass
from functools import partial
from multiprocessing import get_all_start_methods, get_context
from pathlib import Path
from typing import Any, TypeVar

import numpy as np
import soundfile as sf
from tqdm import tqdm

from hark.data.audio import load_clip
from hark.data.example import ClipDataset, Example, Problem
from hark.data.paths import cache_dir
from hark.errors import AudioError, OutputError
from hark.fileio import ensure_writable_dir, output_error

log = logging.getLogger(__name__)

# Part of every fingerprint: bump it when the stored layout or the preprocessing changes.
CACHE_VERSION = 1
# Clips per task sent to a worker: large enough to amortise the hand-off, small enough for a
# smooth progress bar and an even spread over the workers.
CHUNK_SIZE = 64
# Problems with the underlying libraries that mean "this file is unusable", not "hark has a bug".
DECODE_ERRORS = (AudioError, sf.LibsndfileError, OSError, ValueError, RuntimeError)
# What reading a damaged cache entry raises: missing or truncated files, garbled JSON.
DAMAGE_ERRORS = (OSError, ValueError, EOFError, TypeError, KeyError)

R = TypeVar("R")


@dataclass
class CachedSplit:
    """One split as the network sees it. `waves[i]` belongs to `examples[i]`; rows whose clip
    could not be decoded are zeros with `valid[i] == False` and a `Problem` in `problems`."""

    examples: list[Example]
    waves: np.ndarray
    valid: np.ndarray
    problems: list[Problem]
    sample_rate: int
    directory: Path

    def __len__(self) -> int:
        return len(self.examples)


def default_workers() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def map_chunks(
    task: Callable[[Sequence[Any]], R],
    items: Sequence[Any],
    *,
    workers: int | None = None,
    progress: bool = True,
    desc: str = "",
    chunk_size: int | None = None,
) -> Iterator[tuple[int, R]]:
    """Yield `(start, task(items[start:start + chunk_size]))` for every chunk, in completion
    order, on a process pool (in this process when one worker or one chunk suffices).
    `task` must be picklable: a module-level function, maybe wrapped in `functools.partial`."""
    chunk_size = chunk_size or CHUNK_SIZE
    starts = range(0, len(items), chunk_size)
    workers = min(workers or default_workers(), len(starts))
    with tqdm(total=len(items), desc=desc, unit="clip", disable=not progress) as bar:
        if workers <= 1:
            for start in starts:
                chunk = items[start : start + chunk_size]
                yield start, task(chunk)
                bar.update(len(chunk))
            return
        with ProcessPoolExecutor(workers, mp_context=_pool_context()) as pool:
            futures = {pool.submit(task, items[s : s + chunk_size]): s for s in starts}
            try:
                for future in as_completed(futures):
                    start = futures[future]
                    yield start, future.result()
                    bar.update(min(chunk_size, len(items) - start))
            finally:  # on Ctrl-C or an error, do not decode the remaining chunks first
                pool.shutdown(cancel_futures=True)


def _pool_context():
    """fork where there is one, as torch's DataLoader does: workers start at once, and a user's
    script without a `__main__` guard is not re-run in each of them (as spawn would). The
    workers touch only numpy, soundfile and soxr, never the parent's threads (torch, tqdm)."""
    return get_context("fork" if "fork" in get_all_start_methods() else None)


def load_split(
    dataset: ClipDataset,
    split: str,
    sample_rate: int = 16000,
    num_samples: int = 16000,
    workers: int | None = None,
    progress: bool = True,
) -> CachedSplit:
    """The cached array of `split`, built on first use (decoding in parallel)."""
    examples = dataset.split(split)
    settings = {"kind": "split", "split": split, "sample_rate": sample_rate, "num_samples": num_samples}
    directory = _arrays_dir() / _fingerprint(dataset, [(e.path, e.label, e.file) for e in examples], settings)
    build = partial(
        _write_split, dataset, examples, sample_rate, num_samples, workers, progress, f"caching {dataset.name}/{split}"
    )
    waves, valid, problems = _cached(directory, build, partial(_read_split, len(examples), num_samples))
    return CachedSplit(examples, waves, valid, problems, sample_rate, directory)


def load_noise(dataset: ClipDataset, sample_rate: int = 16000) -> list[np.ndarray]:
    """Every background-noise file at `sample_rate`, full length, mono (read-only arrays).
    Undecodable noise files are reported and left out."""
    files = list(dataset.noise_files)
    settings = {"kind": "noise", "sample_rate": sample_rate}
    directory = _arrays_dir() / _fingerprint(dataset, [(f, "", f) for f in files], settings)
    return _cached(directory, partial(_write_noise, dataset, files, sample_rate), _read_noise)


def _cached(directory: Path, write: Callable[[Path], dict], read: Callable[[Path], R]) -> R:
    """`read(directory)`, building the entry first when it is absent. An entry that cannot be
    read (a file truncated, deleted or garbled after it was built) is reported, removed and
    built again."""
    if _is_complete(directory):
        try:
            return read(directory)
        except DAMAGE_ERRORS as err:
            log.warning(
                "%s: damaged cache entry (%s: %s); rebuilding it",
                directory,
                type(err).__name__,
                str(err).splitlines()[0] if str(err) else "",
            )
            shutil.rmtree(directory, ignore_errors=True)
    _build(directory, write)
    return read(directory)


def _read_split(clips: int, num_samples: int, directory: Path) -> tuple[np.ndarray, np.ndarray, list[Problem]]:
    waves = np.load(directory / "waves.npy", mmap_mode="r")
    valid = np.load(directory / "valid.npy")
    problems = [Problem(**p) for p in json.loads((directory / "problems.json").read_text())]
    if waves.shape != (clips, num_samples) or waves.dtype != np.float32 or valid.shape != (clips,):
        raise ValueError(
            f"arrays of shape {waves.shape} {waves.dtype} and {valid.shape}, "
            f"expected ({clips}, {num_samples}) float32 and ({clips},)"
        )
    return waves, valid.astype(bool, copy=False), problems


def _read_noise(directory: Path) -> list[np.ndarray]:
    samples = np.load(directory / "noise.npy", mmap_mode="r")
    bounds = np.load(directory / "bounds.npy")
    if bounds.ndim != 2 or bounds.shape[1] != 2 or (len(bounds) and bounds[-1, 1] != len(samples)):
        raise ValueError(f"{len(samples)} noise samples do not match the bounds {bounds.shape}")
    return [samples[start:end] for start, end in bounds]


def _arrays_dir() -> Path:
    return cache_dir() / "arrays"


def ensure_cache_writable() -> Path:
    """Prove that the preprocessing cache takes files before any dataset is read for it."""
    return ensure_writable_dir(_arrays_dir(), "preprocessing cache (HARK_CACHE_DIR moves it)")


def _fingerprint(dataset: ClipDataset, entries: list[tuple[str, str, str]], settings: dict) -> str:
    """Hash of the settings and, per entry (identity, label, file), the file's size and mtime:
    cheap to compute (one stat per file) and changed by any edit, copy-over or touch."""
    digest = hashlib.sha256()
    header = {"version": CACHE_VERSION, "root": str(dataset.root.resolve()), **settings}
    digest.update(json.dumps(header, sort_keys=True).encode())
    stats: dict[str, tuple[int, int]] = {}
    for identity, label, file in entries:
        if file not in stats:
            try:
                st = dataset.abspath(file).stat()
                stats[file] = (st.st_size, st.st_mtime_ns)
            except OSError:  # a missing file is a fact about the data too; decoding reports it
                stats[file] = (-1, -1)
        size, mtime = stats[file]
        digest.update(f"{identity}\0{label}\0{size}\0{mtime}\n".encode())
    return digest.hexdigest()[:32]


def _is_complete(directory: Path) -> bool:
    # meta.json is written last, before the folder is renamed into place.
    return (directory / "meta.json").is_file()


def _build(directory: Path, write: Callable[[Path], dict]) -> None:
    """Run `write(tmp)` into a private temporary folder, then rename it to `directory`. A cache
    that cannot be written (read-only, full) is an OutputError naming it."""
    tmp = directory.parent / f".tmp-{directory.name}-{os.getpid()}-{uuid.uuid4().hex[:8]}"
    try:
        directory.parent.mkdir(parents=True, exist_ok=True)
        _remove_abandoned_builds(directory.parent)
        tmp.mkdir()
        meta = write(tmp)
        (tmp / "meta.json").write_text(json.dumps(meta, indent=1))
        try:
            tmp.rename(directory)
        except OSError:
            if not _is_complete(directory):  # not a concurrent build that won the race
                raise
    except OSError as err:
        raise output_error(directory, err) from None
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _remove_abandoned_builds(arrays: Path) -> None:
    """Delete temporary folders of builds whose process is gone (killed mid-build)."""
    for tmp in arrays.glob(".tmp-*"):
        try:
            pid = int(tmp.name.split("-")[-2])
            os.kill(pid, 0)
        except ProcessLookupError:
            shutil.rmtree(tmp, ignore_errors=True)
        except (ValueError, IndexError, PermissionError):
            continue  # not ours to judge: a foreign name, or a live process of another user


def _write_split(
    dataset: ClipDataset,
    examples: list[Example],
    sample_rate: int,
    num_samples: int,
    workers: int | None,
    progress: bool,
    desc: str,
    tmp: Path,
) -> dict:
    waves_file = tmp / "waves.npy"
    np.lib.format.open_memmap(waves_file, mode="w+", dtype=np.float32, shape=(len(examples), num_samples)).flush()
    _reserve(waves_file)
    valid = np.ones(len(examples), dtype=bool)
    problems: list[Problem] = []
    paths = [e.path for e in examples]
    task = partial(_decode_into, dataset.root, waves_file, sample_rate, num_samples)
    for _, failures in map_chunks(task, list(enumerate(paths)), workers=workers, progress=progress, desc=desc):
        for index, problem in failures:
            valid[index] = False
            problems.append(Problem(paths[index], problem))
    problems.sort(key=lambda p: p.path)
    if problems:
        shown = "\n  ".join(map(str, problems[:10]))
        more = f"\n  ... and {len(problems) - 10} more" if len(problems) > 10 else ""
        log.warning(
            "%s: %d of %d clips cannot be decoded and are left out:\n  %s%s",
            desc,
            len(problems),
            len(examples),
            shown,
            more,
        )
    np.save(tmp / "valid.npy", valid)
    (tmp / "problems.json").write_text(json.dumps([p.__dict__ for p in problems], indent=1))
    return {
        "clips": len(examples),
        "sample_rate": sample_rate,
        "num_samples": num_samples,
        "invalid": int((~valid).sum()),
        "root": str(dataset.root),
    }


def _reserve(path: Path) -> None:
    """Allocate the blocks of a memory-mapped file before writing into it: on a full disk a
    write into the map is a SIGBUS that kills the process; here it is a message with the size."""
    if not hasattr(os, "posix_fallocate"):  # not on macOS: the writes then find out
        return
    size = path.stat().st_size
    fd = os.open(path, os.O_RDWR)
    try:
        os.posix_fallocate(fd, 0, size)
    except OSError as err:
        if err.errno != errno.ENOSPC:
            raise
        free = shutil.disk_usage(path.parent).free
        raise OutputError(
            f"{cache_dir()}: no space left for the preprocessing cache: this split needs "
            f"{size / 1e6:.1f} MB, {free / 1e6:.1f} MB free (HARK_CACHE_DIR moves the cache)"
        ) from None
    finally:
        os.close(fd)


def _decode_into(
    root: Path,
    waves_file: Path,
    sample_rate: int,
    num_samples: int,
    chunk: Sequence[tuple[int, str]],
) -> list[tuple[int, str]]:
    """Decode `(row, path)` pairs straight into the shared array file; return the failures.
    Writing in the worker keeps the audio out of the inter-process pipe."""
    waves = np.load(waves_file, mmap_mode="r+")
    failures = []
    for index, path in chunk:
        try:
            wave = load_clip(root, path, sample_rate, num_samples)
        except DECODE_ERRORS as err:
            failures.append((index, getattr(err, "problem", None) or f"cannot decode audio ({err})"))
            continue
        waves[index] = wave
    waves.flush()
    return failures


def _write_noise(dataset: ClipDataset, files: list[str], sample_rate: int, tmp: Path) -> dict:
    waves, skipped = [], []
    for file in files:
        try:
            waves.append(load_clip(dataset.root, file, sample_rate, None))
        except DECODE_ERRORS as err:
            skipped.append(str(err))
    if skipped:
        log.warning(
            "%s: %d background-noise files cannot be decoded and are left out:\n  %s",
            dataset.name,
            len(skipped),
            "\n  ".join(skipped),
        )
    lengths = np.array([len(w) for w in waves], dtype=np.int64)
    ends = np.cumsum(lengths)
    np.save(tmp / "noise.npy", np.concatenate(waves) if waves else np.zeros(0, np.float32))
    np.save(tmp / "bounds.npy", np.stack([ends - lengths, ends], axis=1))
    return {"files": len(files), "skipped": skipped, "sample_rate": sample_rate}
