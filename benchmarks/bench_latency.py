"""Inference latency per 1-s clip on one CPU thread, every registered model, PyTorch against
ONNX Runtime (the exported model, log-mel front end included), measured in the same run, with
FLOP per clip (`torch.utils.flop_counter`: convolutions and matmuls; the FFT of the log-mel
front end counts zero) and microseconds per MFLOP on ONNX Runtime against M5's.

    python benchmarks/bench_latency.py [--repeats 100] [--models m5 bcresnet-3 ...]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from hark.evaluate.onnx_export import INPUT_NAME, OUTPUT_NAME, export_onnx, onnx_session
from hark.models import count_parameters, create_model, list_models
from hark.models.flops import inference_flops

NUM_CLASSES = 35  # Speech Commands v0.02, all words


def median_ms(call, repeats: int, warmup: int = 10, warmup_s: float = 1.0) -> float:
    # Warm up by time as well as by count: the first model of a run otherwise pays for lazy
    # initialisation and the core's clock ramp (BC-ResNet-1 first read 8.9 ms in torch, 3.7 later).
    started = time.perf_counter()
    calls = 0
    while calls < warmup or time.perf_counter() - started < warmup_s:
        call()
        calls += 1
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        call()
        times.append(time.perf_counter() - start)
    return 1000 * statistics.median(times)


def measure(name: str, sample_rate: int, repeats: int, folder: Path) -> tuple[int, int, float, float]:
    torch.manual_seed(0)
    model = create_model(name, num_classes=NUM_CLASSES, sample_rate=sample_rate).eval()
    clip = np.random.default_rng(0).uniform(-0.5, 0.5, (1, sample_rate)).astype(np.float32)
    tensor = torch.from_numpy(clip)
    with torch.inference_mode():
        torch_ms = median_ms(lambda: model(tensor), repeats)
    path = export_onnx(model, folder / f"{name}.onnx", [str(i) for i in range(NUM_CLASSES)], sample_rate, sample_rate)
    session = onnx_session(path, threads=1)
    onnx_ms = median_ms(lambda: session.run([OUTPUT_NAME], {INPUT_NAME: clip}), repeats)
    return count_parameters(model), inference_flops(model, sample_rate), torch_ms, onnx_ms


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=100, help="timed runs per model and runtime (median shown)")
    parser.add_argument("--models", nargs="+", default=list_models(), help="default: every registered model")
    parser.add_argument("--m5-rate", type=int, default=8000, help="m5's sample rate (the seed recipe uses 8 kHz)")
    args = parser.parse_args()
    torch.set_num_threads(1)
    torch.set_num_interop_threads(1)

    print(f"one 1-s clip, batch 1, one CPU thread, median of {args.repeats} runs; torch {torch.__version__}")
    print(
        f"{'model':<20}{'rate':>7}{'params':>10}{'MFLOP':>8}{'torch ms':>10}{'onnx ms':>10}{'torch/onnx':>12}"
        f"{'onnx us/MFLOP':>15}"
    )
    rows = {}
    with tempfile.TemporaryDirectory() as tmp:
        for name in args.models:
            rate = args.m5_rate if name == "m5" else 16000
            params, flops, torch_ms, onnx_ms = measure(name, rate, args.repeats, Path(tmp))
            rows[name] = per_mflop = 1000 * onnx_ms / (flops / 1e6)
            print(
                f"{name:<20}{rate:>7}{params:>10,}{flops / 1e6:>8.2f}{torch_ms:>10.2f}{onnx_ms:>10.2f}"
                f"{torch_ms / onnx_ms:>11.2f}x{per_mflop:>15.0f}",
                flush=True,
            )
    if "m5" in rows:
        print(
            "onnx us/MFLOP against m5's (goal: every model <= 2x): "
            + ", ".join(f"{name} {value / rows['m5']:.1f}x" for name, value in rows.items() if name != "m5")
        )


if __name__ == "__main__":
    main()
