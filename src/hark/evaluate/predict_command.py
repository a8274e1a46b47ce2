"""`hark predict RUN FILE...`: top-k words per file; detections with times in longer audio."""

from __future__ import annotations

import argparse
import json
import math
import re
import sys
from dataclasses import asdict
from pathlib import Path

from hark.errors import AudioError, UsageError
from hark.evaluate.inference import FileResult
from hark.evaluate.streaming import StreamingPredictor
from hark.train.devices import torch_device

DEVICE = re.compile(r"auto|cpu|cuda(:\d+)?")


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("run", type=Path, help="run folder written by `hark train`")
    parser.add_argument("files", type=Path, nargs="+", metavar="FILE", help="audio files (any rate, channels, length)")
    parser.add_argument(
        "--top-k",
        type=int,
        default=3,
        help="words to show per file, with each word's best window in long audio (default 3)",
    )
    parser.add_argument("--checkpoint", default="best", help="best, last or a checkpoint path (default best)")
    parser.add_argument("--hop", type=float, default=0.25, help="seconds between windows in long audio (default 0.25)")
    parser.add_argument(
        "--threshold", type=float, default=0.5, help="probability a window needs to detect a word (default 0.5)"
    )
    parser.add_argument("--device", default="auto", help="auto, cpu, cuda, cuda:N (default auto)")
    parser.add_argument("--json", action="store_true", help="one JSON object per file instead of text")


def format_result(result: FileResult) -> str:
    words = ", ".join(f"{label} {prob:.3f}" for label, prob in result.top)
    lines = [f"{result.path} ({result.duration:.2f} s): {words}"]
    if result.detections == []:
        lines.append("  no word detected in any window")
    for d in result.detections or []:
        lines.append(f"  {d.start:7.2f}-{d.end:6.2f} s  {d.label:<12} p={d.probability:.3f} (peak {d.peak:.2f} s)")
    return "\n".join(lines)


def check_options(args: argparse.Namespace) -> None:
    """Every option in its range, before the run is loaded."""
    if not (math.isfinite(args.hop) and args.hop > 0):
        raise UsageError(f"--hop {args.hop}: must be a finite number of seconds > 0")
    if args.top_k < 1:
        raise UsageError(f"--top-k {args.top_k}: must be at least 1")
    if not 0 <= args.threshold <= 1:  # NaN fails this too
        raise UsageError(f"--threshold {args.threshold}: must be a probability in [0, 1]")
    if not DEVICE.fullmatch(args.device):
        raise UsageError(f"--device {args.device!r}: must be auto, cpu, cuda or cuda:N")
    torch_device(args.device)


def run(args: argparse.Namespace) -> int:
    check_options(args)
    predictor = StreamingPredictor.from_run(args.run, checkpoint=args.checkpoint, device=args.device)
    if args.hop * predictor.sample_rate < 1:
        raise UsageError(f"--hop {args.hop:g}: shorter than one sample at the model's {predictor.sample_rate} Hz")
    failed = 0
    for path in args.files:
        try:
            result = predictor.predict_file(path, top_k=args.top_k, hop_seconds=args.hop, threshold=args.threshold)
        except AudioError as err:  # one bad file must not hide the others' results
            print(f"hark predict: error: {err}", file=sys.stderr)
            failed += 1
            continue
        print(json.dumps(asdict(result)) if args.json else format_result(result), flush=True)
    return 1 if failed else 0
