"""Preprocessing cache vs a naive per-clip load-and-resample loop, measured in the same run.

Builds its own dataset of 44.1 kHz stereo tone clips (so that decoding, down-mixing and
resampling all cost what they cost on real recordings of that kind), then times:
  naive  every clip through hark.data.audio.load_clip, one after the other (what a training
         loop without a cache pays every epoch);
  cold   hark.data.cache.load_split for every split, building the cache (parallel decoding),
         and once more in a fresh cache with one worker (the cache's own overhead);
  warm   the same calls again, reusing the cache (and reading every sample once).

    python benchmarks/bench_cache.py [--clips 3000] [--workers N]
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

import numpy as np
import soundfile as sf

from hark.data.audio import load_clip
from hark.data.example import SPLITS

WORDS = ("yes", "no", "up", "down", "left", "right", "on", "off", "stop", "go")
RATE = 44100


def write_dataset(root: Path, clips: int, seed: int = 0) -> None:
    """`clips` stereo 44.1 kHz 16-bit clips of 0.6-1.2 s (so both padding and cropping occur)."""
    rng = np.random.default_rng(seed)
    for i in range(clips):
        word = WORDS[i % len(WORDS)]
        speaker = f"{i // len(WORDS) // 3:08x}"
        seconds = rng.uniform(0.6, 1.2)
        t = np.arange(int(RATE * seconds)) / RATE
        tone = 0.3 * np.sin(2 * np.pi * (200 + 40 * (i % len(WORDS))) * t)
        stereo = np.stack([tone, 0.5 * tone], axis=1) + 0.01 * rng.standard_normal((len(t), 2))
        path = root / word / f"{speaker}_nohash_{(i // len(WORDS)) % 3}.wav"
        path.parent.mkdir(parents=True, exist_ok=True)
        sf.write(path, stereo, RATE, subtype="PCM_16")


def timed(action):
    start = time.perf_counter()
    result = action()
    return time.perf_counter() - start, result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clips", type=int, default=3000)
    parser.add_argument("--workers", type=int, default=None, help="cache build processes (default: all CPUs)")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="hark-bench-cache-") as tmp:
        os.environ["HARK_CACHE_DIR"] = str(Path(tmp) / "cache")
        # Imported after HARK_CACHE_DIR is set, so nothing can touch the user's cache.
        from hark.data.cache import default_workers, load_split
        from hark.data.datasets import load_dataset

        root = Path(tmp) / "data"
        write_seconds, _ = timed(lambda: write_dataset(root, args.clips))
        dataset = load_dataset(root)
        n = len(dataset)
        workers = args.workers or default_workers()
        print(
            f"{n} clips, {RATE} Hz stereo 16-bit, 0.6-1.2 s -> 16000 Hz mono 1 s "
            f"(written in {write_seconds:.1f} s); cache workers: {workers}; CPUs here: {os.cpu_count()}"
        )

        naive_seconds, naive = timed(lambda: [load_clip(root, e.path, 16000, 16000) for e in dataset.examples])
        build = lambda workers: [load_split(dataset, s, workers=workers, progress=False) for s in SPLITS]  # noqa: E731
        cold_seconds, splits = timed(lambda: build(workers))
        warm_seconds, _ = timed(lambda: [float(np.asarray(s.waves).sum()) for s in build(workers)])
        os.environ["HARK_CACHE_DIR"] = str(Path(tmp) / "cache-one-worker")
        serial_seconds, _ = timed(lambda: build(1))

        cached = {e.path: row for s in splits for e, row in zip(s.examples, s.waves, strict=True)}
        assert all(np.array_equal(cached[e.path], wave) for e, wave in zip(dataset.examples, naive, strict=True)), (
            "cache and naive loop disagree"
        )

        print(f"{'method':<34}{'seconds':>9}{'clips/s':>11}{'vs naive':>10}")
        for name, seconds in (
            ("naive per-clip load+resample", naive_seconds),
            (f"cache build (cold, {workers} workers)", cold_seconds),
            ("cache build (cold, 1 worker)", serial_seconds),
            ("cache reuse (warm, reads all)", warm_seconds),
        ):
            print(f"{name:<34}{seconds:>9.3f}{n / seconds:>11.0f}{naive_seconds / seconds:>9.1f}x")


if __name__ == "__main__":
    main()
