"""`hark predict RUN FILE...`: top-k words per file; detections with times in longer audio."""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import asdict
from pathlib import Path

from hark.errors import AudioError
from hark.evaluate.inference import FileResult
from hark.evaluate.streaming import StreamingPredictor


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("run", type=Path, help="run folder written by `hark train`")
    parser.add_argument("files", type=Path, nargs="+", metavar="FILE", help="audio files (any rate, channels, length)")
    parser.add_argument("--top-k", type=int, default=3, help="words to show per file, with each word's best window in long audio (default 3)")
    parser.add_argument("--checkpoint", default="best", help="best, last or a checkpoint path (default best)")
    parser.add_argument("--hop", type=float, default=0.25, help="seconds between windows in long audio (default 0.25)")
    parser.add_argument("--threshold", type=float, default=0.5, help="probability a window needs to detect a word (default 0.5)")
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


def run(args: argparse.Namespace) -> int:
    predictor = StreamingPredictor.from_run(args.run, checkpoint=args.checkpoint, device=args.device)
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
