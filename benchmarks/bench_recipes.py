"""Recipe quality: the `default` recipe against `seed-m5` (the PyTorch tutorial) on a synthetic
dataset with the demo faults, same epoch budget, test accuracy and macro-F1 side by side.

    python benchmarks/bench_recipes.py [--words 10] [--speakers 20] [--utterances 3] [--epochs 10]
                                       [--out DIR]

A short budget compresses each recipe's schedule instead of cutting it: the warm-up keeps its
share of the recipe's epochs (default: 5 of 200), so the cosine still decays to its end."""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from hark.evaluate.command import evaluate_run
from hark.synth import DEFAULT_WORDS, synthesize
from hark.train.presets import preset
from hark.train.run import train_run

RECIPES = ("seed-m5", "default")


def train_and_test(name: str, data: Path, out: Path, epochs: int, device: str) -> tuple[dict, float]:
    config = preset(name)
    config.optim.warmup_epochs *= epochs / config.run.epochs
    config.run.epochs = epochs
    config.run.device = device
    config.data.source = str(data)
    start = time.perf_counter()
    train_run(config, out / name, report=lambda line: print(f"[{name}] {line}", flush=True))
    seconds = time.perf_counter() - start
    return evaluate_run(out / name, checkpoint="best", device=device).metrics["test"], seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--words", type=int, default=10, help="the first N of the 35 Speech Commands words")
    parser.add_argument("--speakers", type=int, default=20)
    parser.add_argument("--utterances", type=int, default=3)
    parser.add_argument("--epochs", type=int, default=10, help="epochs for both recipes")
    parser.add_argument("--seed", type=int, default=0, help="dataset seed")
    parser.add_argument("--device", default="auto")
    parser.add_argument("--out", type=Path, help="keep the dataset and runs here (default: a temporary folder)")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        out = args.out or Path(tmp)
        data = synthesize(out / "data", DEFAULT_WORDS[:args.words], args.speakers, args.utterances, seed=args.seed)
        results = {name: train_and_test(name, data, out, args.epochs, args.device) for name in RECIPES}

    print(f"\n{args.words} words x {args.speakers} speakers x {args.utterances} utterances, demo faults, "
          f"{args.epochs} epochs each; test split, best checkpoint by validation macro-F1")
    print(f"{'recipe':<20}{'test acc':>10}{'macro-F1':>10}{'train s':>9}")
    for name, (metrics, seconds) in results.items():
        print(f"{name:<20}{metrics['accuracy']:>10.4f}{metrics['macro_f1']:>10.4f}{seconds:>9.0f}")
    base, best = results["seed-m5"][0], results["default"][0]
    print(f"{'default - seed-m5':<20}{best['accuracy'] - base['accuracy']:>+10.4f}"
          f"{best['macro_f1'] - base['macro_f1']:>+10.4f}"
          f"   ratio of error rates {(1 - best['accuracy']) / max(1 - base['accuracy'], 1e-9):.2f}")


if __name__ == "__main__":
    main()
