"""How fast `hark synth` writes clips, against the goal (10,000 clips in 2 minutes on 2 cores)
and against a one-process baseline measured in the same run.

    python benchmarks/bench_synth.py [--clips 10000] [--workers N] [--baseline-clips 1000]
"""

from __future__ import annotations

import argparse
import math
import tempfile
import time
from pathlib import Path

from hark.synth import DEFAULT_FAULTS, DEFAULT_WORDS, synthesize
from hark.synth.generate import available_cores

GOAL_CLIPS, GOAL_SECONDS = 10_000, 120.0


def timed(out: Path, clips: int, workers: int) -> tuple[float, int]:
    """Seconds to synthesize about `clips` clips (35 words x 50 speakers x enough utterances)."""
    speakers = max(1, min(50, math.ceil(clips / len(DEFAULT_WORDS))))
    utterances = max(1, round(clips / (len(DEFAULT_WORDS) * speakers)))
    start = time.perf_counter()
    synthesize(out, DEFAULT_WORDS, speakers, utterances, seed=0, faults=DEFAULT_FAULTS, workers=workers, progress=False)
    return time.perf_counter() - start, len(DEFAULT_WORDS) * speakers * utterances


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clips", type=int, default=GOAL_CLIPS)
    parser.add_argument("--workers", type=int, default=available_cores())
    parser.add_argument("--baseline-clips", type=int, default=1000, help="clips for the one-process baseline")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        base_s, base_n = timed(Path(tmp) / "one", args.baseline_clips, workers=1)
        par_s, par_n = timed(Path(tmp) / "pool", args.clips, workers=args.workers)
    base_rate, par_rate = base_n / base_s, par_n / par_s
    goal_rate = GOAL_CLIPS / GOAL_SECONDS
    print(f"{'':<22}{'clips':>8}{'seconds':>10}{'clips/s':>10}")
    print(f"{'1 process (baseline)':<22}{base_n:>8}{base_s:>10.1f}{base_rate:>10.1f}")
    print(
        f"{f'{args.workers} workers':<22}{par_n:>8}{par_s:>10.1f}{par_rate:>10.1f}   "
        f"x{par_rate / base_rate:.2f} vs baseline"
    )
    print(
        f"{'goal':<22}{GOAL_CLIPS:>8}{GOAL_SECONDS:>10.1f}{goal_rate:>10.1f}   "
        f"x{par_rate / goal_rate:.2f} of goal -> 10,000 clips in {GOAL_CLIPS / par_rate:.0f} s "
        f"({'meets' if par_rate >= goal_rate else 'misses'} the goal)"
    )


if __name__ == "__main__":
    main()
