"""`hark export RUN --onnx PATH`: the whole model, log-mel front end included, as ONNX."""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from hark.evaluate.inference import Predictor
from hark.evaluate.onnx_export import export_onnx, max_abs_difference, sidecar_path
from hark.errors import HarkError

# Logits of float32 conv nets agree to ~1e-5; beyond this the export is wrong, not imprecise.
TOLERANCE = 1e-3


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("run", type=Path, help="run folder written by `hark train`")
    parser.add_argument("--onnx", type=Path, required=True, metavar="PATH", help="where to write the .onnx file")
    parser.add_argument("--checkpoint", default="best", help="best, last or a checkpoint path (default best)")


def run(args: argparse.Namespace) -> int:
    predictor = Predictor.from_run(args.run, checkpoint=args.checkpoint, device="cpu")
    path = export_onnx(predictor.model, args.onnx, predictor.labels, predictor.sample_rate, predictor.num_samples)
    probe = np.random.default_rng(0).uniform(-0.5, 0.5, (3, predictor.num_samples)).astype(np.float32)
    difference = max_abs_difference(predictor.model, path, probe)
    if difference > TOLERANCE:
        raise HarkError(f"{path}: onnxruntime and torch disagree (max |logit difference| {difference:.2e})")
    print(
        f"wrote {path} and {sidecar_path(path)} (input waveform [batch, {predictor.num_samples}] "
        f"at {predictor.sample_rate} Hz; onnxruntime matches torch to {difference:.1e})"
    )
    return 0
