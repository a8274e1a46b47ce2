"""A rehearsal at the size of Speech Commands v0.02: synthesise a 35-word set of --clips clips
(105,829 is the real size), then time and record the peak memory of every stage as a user runs
it, each stage its own `hark` process: dataset index (cold, then served by the index cache),
check, cache build, one training epoch of M5 (`seed-m5`) and of the `cpu` preset, evaluate,
analyze (`--no-crossval`; with cross-validation on M5), report, explorer start.

    python benchmarks/bench_full_scale.py --clips 10000 30000 [105829] [--out DIR] [--skip-cv]

With two or more sizes it prints, per stage, the growth exponent between consecutive sizes
(time ~ n^k) next to n log n's, and flags a stage that grows faster than n log n (beyond 25% in
time ratio, the noise of a shared machine). Run it under `nice`; 105,829 clips take hours on two
cores (README.md, "Full-scale rehearsal", has the figures measured)."""

from __future__ import annotations

import argparse
import math
import os
import resource
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

WORDS = 35
UTTERANCES = 3
NOISE_LIMIT = 1.25  # a stage's time ratio may exceed n log n's by this factor before it is flagged


def run_stage(command: list[str], env: dict, log: Path, wait_for_port: int | None = None) -> tuple[float, float]:
    """(seconds, peak RSS in MiB) of one child process; an explorer is stopped once it listens."""
    started = time.perf_counter()
    with log.open("a") as out:
        out.write(f"\n$ {' '.join(command)}\n")
        out.flush()
        child = subprocess.Popen(command, env=env, stdout=out, stderr=subprocess.STDOUT)
        if wait_for_port is not None:
            while child.poll() is None:
                with socket.socket() as probe:
                    if probe.connect_ex(("127.0.0.1", wait_for_port)) == 0:
                        break
                time.sleep(0.2)
            seconds = time.perf_counter() - started
            child.terminate()
        _, status, usage = os.wait4(child.pid, 0)
    if wait_for_port is None:
        seconds = time.perf_counter() - started
        if os.waitstatus_to_exitcode(status) != 0:
            sys.exit(f"stage failed: {' '.join(command)} (see {log})")
    return seconds, usage.ru_maxrss / 1024


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def rehearse(clips: int, out: Path, skip_cv: bool) -> dict[str, tuple[float, float]]:
    from hark.synth import DEFAULT_WORDS

    folder = out / f"n{clips}"
    folder.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "HARK_CACHE_DIR": str(folder / "cache")}
    log = folder / "stages.log"
    hark = [sys.executable, "-m", "hark.cli"]
    speakers = max(2, math.ceil(clips / (WORDS * UTTERANCES)))
    data, m5, cpu = folder / "data", folder / "run-m5", folder / "run-cpu"
    words = ",".join(DEFAULT_WORDS[:WORDS])
    stages: dict[str, list[str]] = {
        "synthesise (not timed as a stage)": hark
        + [
            "synth",
            str(data),
            "--words",
            words,
            "--speakers",
            str(speakers),
            "--utterances",
            str(UTTERANCES),
            "--quiet",
        ],
        "index (cold)": hark + ["data", "info", str(data)],
        "index (cached)": hark + ["data", "info", str(data)],
        "check": hark + ["check", str(data), "--out", str(folder / "check"), "--no-plots", "--quiet"],
        "cache build": [
            sys.executable,
            "-c",
            "import sys; from hark.data.datasets import load_dataset; "
            "from hark.data.cache import load_split; d = load_dataset(sys.argv[1]); "
            "[load_split(d, s, 8000, 8000, progress=False) for s in ('train', 'validation', 'test')]",
            str(data),
        ],
        "train 1 epoch m5 (seed-m5)": hark
        + ["train", str(data), "--out", str(m5), "--preset", "seed-m5", "--epochs", "1", "--device", "cpu"],
        "train 1 epoch cpu preset": hark
        + ["train", str(data), "--out", str(cpu), "--preset", "cpu", "--epochs", "1", "--device", "cpu"],
        "evaluate m5": hark + ["evaluate", str(m5), "--device", "cpu"],
        "analyze --no-crossval --no-report": hark + ["analyze", str(m5), "--no-crossval", "--no-report", "--quiet"],
        "analyze + report (cross-validation, m5)": hark + ["analyze", str(m5), "--quiet"],
    }
    if skip_cv:
        stages["analyze + report (no cross-validation)"] = stages.pop("analyze + report (cross-validation, m5)")
        stages["analyze + report (no cross-validation)"].insert(-1, "--no-crossval")
    # A rerun times every stage again: the runs and check of an earlier one would be refused, and
    # its index cache would make the cold index warm.
    for earlier in (m5, cpu, folder / "check", folder / "cache" / "index"):
        shutil.rmtree(earlier, ignore_errors=True)
    results = {}
    for name, command in stages.items():
        if name.startswith("synthesise") and (data / "validation_list.txt").is_file():
            continue
        results[name] = run_stage(command, env, log)
        print(f"  n={clips}: {name}: {results[name][0]:.1f} s, {results[name][1]:.0f} MiB", flush=True)
    port = free_port()
    results["explorer start"] = run_stage(hark + ["explore", str(m5), "--port", str(port)], env, log, port)
    results.pop("synthesise (not timed as a stage)", None)
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clips", type=int, nargs="+", default=[10000, 30000])
    parser.add_argument("--out", type=Path, default=Path("full-scale"))
    parser.add_argument("--skip-cv", action="store_true", help="analyze without cross-validation in the report stage")
    args = parser.parse_args()
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    sizes = sorted(args.clips)
    table = {n: rehearse(n, args.out, args.skip_cv) for n in sizes}
    stages = list(table[sizes[0]])
    print(f"\n{'stage':<42}" + "".join(f"{f'n={n} s':>12}{'MiB':>7}" for n in sizes) + "   growth k (n log n's k)")
    for stage in stages:
        cells = "".join(f"{table[n][stage][0]:>12.1f}{table[n][stage][1]:>7.0f}" for n in sizes)
        growth = []
        for small, big in zip(sizes, sizes[1:], strict=False):
            ratio = table[big][stage][0] / max(table[small][stage][0], 1e-9)
            nlogn = big * math.log(big) / (small * math.log(small))
            k, k_ref = math.log(ratio) / math.log(big / small), math.log(nlogn) / math.log(big / small)
            growth.append(f"{k:.2f} ({k_ref:.2f}){' FASTER THAN n log n' if ratio > NOISE_LIMIT * nlogn else ''}")
        print(f"{stage:<42}{cells}   {'; '.join(growth)}")


if __name__ == "__main__":
    main()
