"""Recipe quality on real speech: the presets (and a few models under the `default` recipe) trained
on FSDD with whole speakers held out, test accuracy and macro-F1 side by side, at a fixed number
of epochs and, with --budget-s, at a fixed CPU time; `--synthetic` gives the same table on a
hark.synth dataset as a second figure.

    python benchmarks/bench_recipes.py [--epochs 40] [--test-speakers theo] [--val-speakers george]
        [--recipes seed-m5 default bcresnet-paper default:bcresnet-1] [--budget-s 300] [--out DIR]
    python benchmarks/bench_recipes.py --epochs 0 --recipes default cpu   # each on its own schedule
    python benchmarks/bench_recipes.py --synthetic [--words 10 --speakers 20 --utterances 3]

FSDD (../shared/data/fsdd) is 8 kHz, so every recipe runs at 8 kHz with 1-s clips here, unless
`--rate` resamples the clips (`--rate 16000`: the rate Speech Commands and the log-mel presets
use; `--rate 0`: each preset's own rate, 8 kHz for seed-m5 and 16 kHz for the others); the
background noise that recipes mix in is Speech Commands' six real noise recordings. A short
budget compresses each recipe's schedule instead of cutting it: the warm-up keeps its share of
the recipe's epochs (bcresnet-paper: 5 of 200), so the cosine still decays to its end. `NAME:MODEL`
trains preset NAME with another model."""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from pathlib import Path

from hark.data.example import ClipDataset, Example
from hark.data.manifest import write_manifest
from hark.evaluate.command import evaluate_run
from hark.synth import DEFAULT_WORDS, synthesize
from hark.train.presets import drop_options_the_model_lacks, on_schedule, preset
from hark.train.run import train_run

SHARED = Path(__file__).resolve().parents[1] / ".." / "shared" / "data"
# `cpu` is `default` on a shorter schedule: at a fixed number of epochs it is `default` again.
RECIPES = ("seed-m5", "default", "bcresnet-paper")


def fsdd_split(fsdd: Path, noise: Path, out: Path, test_speakers: list[str], val_speakers: list[str]) -> Path:
    """A manifest of FSDD (`recordings/{digit}_{speaker}_{take}.wav`) with the given speakers
    as the test and validation splits, the rest for training: no speaker is in two splits.
    With no validation speakers, validation is takes 0-4 of the training speakers (FSDD's own
    held-out takes), which leaves one more speaker to train on; the test stays speaker-disjoint."""
    root = out / "fsdd-data"
    root.mkdir(parents=True, exist_ok=True)
    for name, target in (("recordings", fsdd / "recordings"), ("_background_noise_", noise)):
        if not (root / name).exists():
            (root / name).symlink_to(target.resolve(), target_is_directory=True)
    examples = []
    for wav in sorted((fsdd / "recordings").glob("*.wav")):
        digit, speaker, take = wav.stem.split("_")
        if speaker in test_speakers:
            split = "test"
        elif speaker in val_speakers or (not val_speakers and int(take) < 5):
            split = "validation"
        else:
            split = "train"
        examples.append(Example(f"recordings/{wav.name}", digit, split, speaker, int(take)))
    noise_files = sorted(f"_background_noise_/{p.name}" for p in noise.glob("*.wav"))
    dataset = ClipDataset(root, examples, sorted({e.label for e in examples}), noise_files, name="fsdd")
    return write_manifest(dataset, out / "fsdd.json")


def recipe_config(
    spec: str, data: Path, epochs: int, device: str, sample_rate: int | None, model_kwargs: dict | None = None
):
    """Preset `spec` on `data`, compressed or stretched to `epochs` (0: the preset's own)."""
    name, _, model = spec.partition(":")
    config = preset(name)
    if model:
        config.model.name = model
        drop_options_the_model_lacks(config)
    config.model.kwargs.update(model_kwargs or {})
    if sample_rate:
        config.data.sample_rate = config.data.num_samples = sample_rate
    on_schedule(config, epochs or config.run.epochs)
    config.run.device = device
    config.data.source = str(data)
    return config


def train_and_test(
    spec: str, data: Path, out: Path, epochs: int, device: str, sample_rate: int | None, model_kwargs: dict
) -> dict:
    config = recipe_config(spec, data, epochs, device, sample_rate, model_kwargs)
    folder = out / f"{spec.replace(':', '_')}-{config.run.epochs}ep"
    wall, cpu = time.perf_counter(), time.process_time()
    train_run(config, folder, report=lambda line: print(f"[{spec} {config.run.epochs} ep] {line}", flush=True))
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    test = evaluate_run(folder, checkpoint="best", device=device).metrics["test"]
    return {
        "recipe": spec,
        "model": config.model.name,
        "epochs": config.run.epochs,
        "accuracy": test["accuracy"],
        "macro_f1": test["macro_f1"],
        "wall_s": wall,
        "cpu_s": cpu,
    }


def print_table(title: str, rows: list[dict]) -> None:
    print(f"\n{title}")
    print(
        f"{'recipe':<28}{'model':<20}{'epochs':>7}{'test acc':>10}{'macro-F1':>10}{'error':>8}{'wall s':>8}{'CPU s':>8}"
    )
    for r in rows:
        print(
            f"{r['recipe']:<28}{r['model']:<20}{r['epochs']:>7}{r['accuracy']:>10.4f}{r['macro_f1']:>10.4f}"
            f"{1 - r['accuracy']:>8.4f}{r['wall_s']:>8.0f}{r['cpu_s']:>8.0f}"
        )
    base = next((r for r in rows if r["recipe"] == "seed-m5"), None)
    if base:
        for r in rows:
            if r is not base:
                ratio = (1 - r["accuracy"]) / max(1 - base["accuracy"], 1e-9)
                print(
                    f"  {r['recipe']} ({r['epochs']} ep): error {ratio:.2f}x "
                    f"seed-m5's (goal <= 0.16x), CPU time {r['cpu_s'] / max(base['cpu_s'], 1e-9):.1f}x"
                )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--recipes", nargs="+", default=list(RECIPES), help="presets, or PRESET:MODEL")
    parser.add_argument("--epochs", type=int, default=40, help="every recipe's epochs; 0: each preset's own")
    parser.add_argument(
        "--budget-s",
        type=float,
        help="also train each recipe for as many epochs as fit this many "
        "seconds, counted from its own epoch time in the fixed-epoch run",
    )
    parser.add_argument("--fsdd", type=Path, default=SHARED / "fsdd")
    parser.add_argument("--noise", type=Path, default=SHARED / "speech_commands_mini_v0.02" / "_background_noise_")
    parser.add_argument("--test-speakers", nargs="+", default=["theo"])
    parser.add_argument(
        "--val-speakers",
        nargs="*",
        default=["george"],
        help="validation speakers; none: takes 0-4 of the training speakers",
    )
    parser.add_argument(
        "--rate", type=int, default=8000, help="FSDD: train and test at this rate (0: each preset's own)"
    )
    parser.add_argument("--synthetic", action="store_true", help="a hark.synth dataset instead of FSDD")
    parser.add_argument("--words", type=int, default=10, help="synthetic: the first N of the 35 words")
    parser.add_argument("--speakers", type=int, default=20, help="synthetic: speakers")
    parser.add_argument("--utterances", type=int, default=3, help="synthetic: takes per speaker and word")
    parser.add_argument("--threads", type=int, default=2, help="torch threads (the project machine has 2 cores)")
    parser.add_argument("--device", default="auto")
    parser.add_argument(
        "--model-kwargs", type=json.loads, default={}, help="JSON for every model, e.g. '{\"mean_normalise\": true}'"
    )
    parser.add_argument("--out", type=Path, help="keep the dataset and runs here (default: a temporary folder)")
    args = parser.parse_args()
    import torch

    torch.set_num_threads(args.threads)
    with tempfile.TemporaryDirectory() as tmp:
        out = args.out or Path(tmp)
        os.environ.setdefault("HARK_CACHE_DIR", str(out / "cache"))
        if args.synthetic:
            data = synthesize(out / "synth", DEFAULT_WORDS[: args.words], args.speakers, args.utterances, seed=0)
            rate, title = (
                None,
                (
                    f"synthetic: {args.words} words x {args.speakers} speakers x {args.utterances} "
                    "utterances, demo faults"
                ),
            )
        else:
            data = fsdd_split(args.fsdd, args.noise, out, args.test_speakers, args.val_speakers)
            rate, title = (
                args.rate or None,
                (
                    f"FSDD, speaker-disjoint: test {','.join(args.test_speakers)}, validation "
                    f"{','.join(args.val_speakers) or 'takes 0-4 of training speakers'}, "
                    + (f"{args.rate / 1000:g} kHz" if args.rate else "each preset's own rate")
                ),
            )
        rows = [
            train_and_test(spec, data, out, args.epochs, args.device, rate, args.model_kwargs) for spec in args.recipes
        ]
        schedule = f"{args.epochs} epochs each" if args.epochs else "each preset's own epochs"
        print_table(f"{title}; {schedule}; test split, best checkpoint by validation macro-F1", rows)
        if args.budget_s:
            budget = []
            for row in rows:
                epochs = max(1, int(args.budget_s / (row["wall_s"] / row["epochs"])))
                budget.append(train_and_test(row["recipe"], data, out, epochs, args.device, rate, args.model_kwargs))
            print_table(f"{title}; about {args.budget_s:.0f} s of training each", budget)


if __name__ == "__main__":
    main()
