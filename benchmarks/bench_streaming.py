"""Real-time factor of `hark predict` on a long file: window-by-window (today: the whole model,
front end included, on every window) against streaming (one log-mel pass per file, the network
on slices of it), same model, same hop, one CPU thread, in one run. RTF = compute s / audio s.

    python benchmarks/bench_streaming.py [--minutes 10] [--hop 0.1] [--model bcresnet-3]
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch

from hark.evaluate.inference import Predictor
from hark.evaluate.streaming import StreamingPredictor
from hark.models import create_model


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--hop", type=float, default=0.1, help="seconds between windows (default 0.1)")
    parser.add_argument("--model", default="bcresnet-3")
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    model = create_model(args.model, 12).eval()
    labels = [str(i) for i in range(12)]
    wave = 0.05 * np.random.default_rng(0).standard_normal(int(args.minutes * 60 * 16000)).astype(np.float32)
    audio_s = len(wave) / 16000
    results = {}
    for name, cls in (("window by window", Predictor), ("streaming", StreamingPredictor)):
        predictor = cls(model, labels, 16000, 16000)
        started = time.perf_counter()
        starts, probs = predictor.sliding(wave, args.hop)
        results[name] = (time.perf_counter() - started, probs)
        print(
            f"{name:<18} {len(starts)} windows  {results[name][0]:8.1f} s  RTF {results[name][0] / audio_s:.4f}",
            flush=True,
        )
    (plain_s, plain), (stream_s, stream) = results.values()
    print(
        f"{args.model}, {args.minutes:g} min of audio, hop {args.hop} s, {args.threads} thread(s): streaming is "
        f"{plain_s / stream_s:.2f}x faster; max |prob difference| {np.abs(plain - stream).max():.4f}"
    )


if __name__ == "__main__":
    main()
