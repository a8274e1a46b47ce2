"""Benchmark 1: one training epoch of `m5` (the seed-m5 recipe: 8 kHz, batch 256, Adam) with
hark's pipeline against the PyTorch tutorial's loop, on the same clips and machine.

- tutorial: a Dataset that decodes each WAV with soundfile, the default DataLoader (no workers
  on CPU, as the tutorial), a collate function that pads to the longest clip, and the
  16 kHz -> 8 kHz resampling of every batch in the training loop.
- hark: batches from the memory-mapped cache (built once, timed separately), gathered ahead
  by a background thread, training loop of `hark train`.
- compute only: the same epoch over a tensor already in memory, the floor for any pipeline.

Then, for every registered model, the achieved training FLOP/s (FLOP counted by
`torch.utils.flop_counter`, timed SGD steps at batch 100) next to the rate of a dense matmul and
a dense convolution on the same threads in the same run (measured before and after the models,
the better kept, since the machine is shared), and each model's rate against MatchboxNet's.

`--part norm`: BC-ResNet training steps with the CPU's layout-keeping SubSpectralNorm against
its reference form (reshape to channel x band, BatchNorm2d, reshape back); `--part temporal`:
BC-ResNet training steps with the dilated temporal convolutions as shifted taps against oneDNN's
convolution; `--part allocator`:
training steps with glibc's default malloc thresholds against `hark train`'s
(`hark.train.allocator`), in fresh processes taking turns. `norm` alternates its two forms in one
process, as does `temporal`. Every part runs with `hark train`'s allocator setting unless `--allocator glibc`.

    python benchmarks/bench_train_throughput.py [--speakers 60] [--epochs 2]
        [--part all|pipeline|flops|norm|temporal|allocator]
        [--threads 2] [--steps 4]
"""

from __future__ import annotations

import argparse
import contextlib
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import soundfile as sf
import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.data import DataLoader, Dataset

from hark.data.audio import resample
from hark.data.cache import load_split
from hark.data.datasets import load_dataset
from hark.models import create_model, list_models
from hark.models.bcresnet import TemporalDepthwiseConv
from hark.models.flops import training_flops
from hark.models.subspectral import SubSpectralNorm
from hark.train.allocator import keep_freed_blocks
from hark.train.data import ClipTable, epoch_order, iterate, shard_batches
from hark.train.distributed import Context
from hark.train.loop import Precision, train_epoch
from hark.train.presets import seed_m5

WORDS = ("yes", "no", "up", "down", "left", "right", "on", "off", "stop", "go")


def make_dataset(root: Path, speakers: int) -> Path:
    """eSpeak NG speech via hark.synth (train split only is used)."""
    from hark.synth.generate import synthesize

    return synthesize(root, words=WORDS, speakers=speakers, utterances=3, seed=0, faults="none", progress=False)


class TutorialSet(Dataset):
    def __init__(self, dataset):
        self.root, self.labels = dataset.root, dataset.labels
        self.items = [(e.file, dataset.label_index(e.label)) for e in dataset.split("train")]

    def __len__(self):
        return len(self.items)

    def __getitem__(self, i):
        path, label = self.items[i]
        wave, _ = sf.read(str(self.root / path), dtype="float32")
        return torch.from_numpy(wave), label


def pad_collate(batch):
    waves = torch.nn.utils.rnn.pad_sequence([w for w, _ in batch], batch_first=True)
    return waves, torch.tensor([label for _, label in batch])


def tutorial_epoch(model, optimizer, loader) -> float:
    started = time.perf_counter()
    model.train()
    for waves, labels in loader:
        waves = torch.from_numpy(resample(waves.numpy().T.copy(), 16000, 8000).T.copy())
        loss = F.cross_entropy(model(waves), labels)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    return time.perf_counter() - started


def hark_epoch(model, optimizer, scheduler, table, generator, batch_size) -> float:
    started = time.perf_counter()
    shards = shard_batches(epoch_order(len(table), generator, True), batch_size, Context())
    cpu = torch.device("cpu")
    train_epoch(
        model,
        iterate(table, shards, cpu),
        len(shards),
        optimizer,
        scheduler,
        Precision.choose(cpu, False),
        Context(),
        0.0,
        lambda w: w,
        "hark",
    )
    return time.perf_counter() - started


def compute_epoch(model, optimizer, waves, labels, batch_size) -> float:
    started = time.perf_counter()
    model.train()
    order = torch.randperm(len(waves))
    for start in range(0, len(waves), batch_size):
        index = order[start : start + batch_size]
        loss = F.cross_entropy(model(waves[index]), labels[index])
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    return time.perf_counter() - started


def fresh(config, num_classes):
    torch.manual_seed(0)
    model = create_model("m5", num_classes, config.data.sample_rate)
    optimizer = torch.optim.Adam(model.parameters(), lr=config.optim.lr, weight_decay=config.optim.weight_decay)
    return model, optimizer, torch.optim.lr_scheduler.LambdaLR(optimizer, lambda step: 1.0)


def best_seconds(call, repeats: int) -> float:
    call()  # builds oneDNN's kernels
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        call()
        times.append(time.perf_counter() - started)
    return min(times)


def dense_rates(repeats: int) -> tuple[float, float]:
    """GFLOP/s of a 1024^3 float32 matmul and of a 3x3, 64-channel convolution on [16, 64, 40, 101]."""
    a, b = torch.randn(1024, 1024), torch.randn(1024, 1024)
    conv = torch.nn.Conv2d(64, 64, 3, padding=1, bias=False).eval()
    x = torch.randn(16, 64, 40, 101)
    matmul = 2 * 1024**3 / best_seconds(lambda: a @ b, repeats)
    with torch.no_grad():
        conv_rate = 2 * 64 * 9 * x.numel() / best_seconds(lambda: conv(x), repeats)
    return matmul / 1e9, conv_rate / 1e9


def sgd_step(name: str, rate: int, batch: int, classes: int):
    """A fresh model and a closure that runs one SGD training step on a fixed random batch."""
    torch.manual_seed(0)
    model = create_model(name, classes, sample_rate=rate).train()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    waves, labels = 0.1 * torch.randn(batch, rate), torch.arange(batch) % classes

    def step():
        loss = F.cross_entropy(model(waves), labels)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()

    return model, step


def flops_table(steps: int, models: list[str], batch: int = 100, classes: int = 12) -> None:
    rows = {}
    before = dense_rates(steps)
    for name in models:
        rate = 8000 if name == "m5" else 16000
        model, step = sgd_step(name, rate, batch, classes)
        # Counted with the convolution the shifted taps replace: the counter counts their
        # element-wise work as zero, and a faster form of a layer must not count fewer FLOP.
        with swapped(TemporalDepthwiseConv, "forward", nn.Conv2d.forward):
            flops = training_flops(model, rate, classes)
        seconds = best_seconds(step, steps) / batch
        rows[name] = (flops, 1 / seconds, flops / seconds / 1e9)
        print(f"  timed {name}", flush=True)
    after = dense_rates(steps)
    matmul, conv = max(before[0], after[0]), max(before[1], after[1])
    print(
        f"\ntraining step, batch {batch}, SGD, {torch.get_num_threads()} threads, best of {steps}; "
        f"dense matmul {matmul:.1f} GFLOP/s, dense conv {conv:.1f} GFLOP/s (same run)"
    )
    reference = rows.get("matchboxnet-3x1x64", (0, 0, float("nan")))[2]
    print(
        f"{'model':<22}{'MFLOP/clip':>11}{'clips/s':>9}{'GFLOP/s':>9}{'of matmul':>11}{'of conv':>9}"
        f"{'of MatchboxNet':>16}"
    )
    for name, (flops, clips, gflops) in rows.items():
        print(
            f"{name:<22}{flops / 1e6:>11.1f}{clips:>9.0f}{gflops:>9.2f}{gflops / matmul:>10.0%}{gflops / conv:>9.0%}"
            f"{gflops / reference:>15.2f}x"
        )
    print("goal: every BC-ResNet at >= 0.60x MatchboxNet's FLOP/s")


def alternating_best(step, forms: dict, steps: int) -> dict[str, float]:
    """Best seconds of `step` under each form (a callable that switches to it), the forms taking
    turns so that every one sees the same machine."""
    best = dict.fromkeys(forms, float("inf"))
    for _ in range(steps):
        for form, switch in forms.items():
            switch()
            best[form] = min(best[form], best_seconds(step, 1))
    return best


def ab_table(title: str, names: tuple[str, str], forms: dict, models: list[str], steps: int, batch: int = 100) -> None:
    """One row per model: clips/s of a training step under the two `forms` and their ratio."""
    print(f"{title}; training step, batch {batch}, SGD, {torch.get_num_threads()} threads, best of {steps} per form")
    print(f"{'model':<22}{names[0]:>20}{names[1]:>20}{'speed-up':>10}")
    for name in models:
        _, step = sgd_step(name, 8000 if name == "m5" else 16000, batch, 12)
        best = alternating_best(step, forms, steps)
        before, after = (batch / best[form] for form in forms)
        print(f"{name:<22}{before:>20.0f}{after:>20.0f}{after / before:>9.2f}x")


@contextlib.contextmanager
def swapped(owner: type, attribute: str, method):
    """`owner.attribute` is `method` inside the block, and what it was again after it."""
    kept = getattr(owner, attribute)
    setattr(owner, attribute, method)
    try:
        yield
    finally:
        setattr(owner, attribute, kept)


def swapped_table(title: str, names: tuple[str, str], owner: type, attribute: str, reference, steps, models) -> None:
    """`ab_table` of `owner.attribute` as written (the fast form) against `reference`."""
    fast = getattr(owner, attribute)

    def use(method):
        return lambda: setattr(owner, attribute, method)

    with swapped(owner, attribute, fast):
        ab_table(title, names, {names[0]: use(reference), names[1]: use(fast)}, models, steps)


def norm_table(steps: int, models: list[str]) -> None:
    names = ("reference clips/s", "layout-keeping")
    reference = SubSpectralNorm._reference
    swapped_table("SubSpectralNorm", names, SubSpectralNorm, "_channels_last_batch_norm", reference, steps, models)


def temporal_table(steps: int, models: list[str]) -> None:
    names = ("oneDNN conv clips/s", "shifted taps")
    reference = nn.Conv2d.forward
    swapped_table("dilated temporal conv", names, TemporalDepthwiseConv, "forward", reference, steps, models)


def step_rates(steps: int, models: list[str], batch: int = 100) -> None:
    """`--part steps` (what `--part allocator` runs in each child): one `name clips/s` line per model."""
    for name in models:
        _, step = sgd_step(name, 8000 if name == "m5" else 16000, batch, 12)
        print(f"{name} {batch / best_seconds(step, steps):.1f}", flush=True)


def allocator_table(steps: int, models: list[str], threads: int, rounds: int = 3) -> None:
    """glibc's own (dynamic) mmap threshold cannot be restored once set, so each form and model
    runs in a fresh process, the forms taking turns."""
    best = {form: dict.fromkeys(models, 0.0) for form in ("glibc", "hark")}
    for _ in range(rounds):
        for name in models:  # one model a process: glibc's threshold adapts to what ran before
            for form in best:
                command = [sys.executable, __file__, "--part", "steps", "--allocator", form, "--threads", str(threads)]
                output = subprocess.run(
                    [*command, "--steps", str(steps), "--models", name], capture_output=True, text=True, check=True
                ).stdout
                rate = next(line for line in output.splitlines() if line.startswith(f"{name} "))
                best[form][name] = max(best[form][name], float(rate.rsplit(" ", 1)[1]))
    print(
        f"training step, batch 100, SGD, {threads} threads; best of {rounds} processes x {steps} steps per form, "
        "the forms taking turns"
    )
    print(f"{'model':<22}{'glibc default':>15}{'hark train':>12}{'speed-up':>10}")
    for name in models:
        glibc, hark = best["glibc"][name], best["hark"][name]
        print(f"{name:<22}{glibc:>15.0f}{hark:>12.0f}{hark / glibc:>9.2f}x")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--speakers", type=int, default=60)
    parser.add_argument("--epochs", type=int, default=2, help="epochs timed per pipeline (the best one counts)")
    parser.add_argument("--data", type=Path, help="an existing dataset instead of a synthetic one")
    parser.add_argument(
        "--part", choices=["all", "pipeline", "flops", "norm", "temporal", "allocator", "steps"], default="all"
    )
    parser.add_argument(
        "--allocator", choices=["hark", "glibc"], default="hark", help="malloc settings: hark train's, or glibc's own"
    )
    parser.add_argument("--threads", type=int, default=2, help="torch threads (default 2, the project machine's cores)")
    parser.add_argument("--steps", type=int, default=4, help="timed training steps per model (the best counts)")
    parser.add_argument("--models", nargs="+", default=list_models(), help="default: every registered model")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    if args.part in ("norm", "temporal"):
        table = norm_table if args.part == "norm" else temporal_table
        table(args.steps, [m for m in args.models if m.startswith("bcresnet")])
        return
    if args.allocator == "hark":
        keep_freed_blocks()
    if args.part == "allocator":
        allocator_table(args.steps, args.models, args.threads)
        return
    if args.part == "steps":
        step_rates(args.steps, args.models)
        return
    if args.part != "pipeline":
        flops_table(args.steps, args.models)
    if args.part == "flops":
        return
    work = Path(tempfile.mkdtemp(prefix="hark-bench-"))
    os.environ.setdefault("HARK_CACHE_DIR", str(work / "cache"))
    dataset = load_dataset(args.data or make_dataset(work / "data", args.speakers))
    config = seed_m5()
    sr, n, batch = config.data.sample_rate, config.data.num_samples, config.run.batch_size
    classes = len(dataset.labels)

    started = time.perf_counter()
    table = ClipTable.build(dataset, dataset.split("train"), sr, n)
    cache_seconds = time.perf_counter() - started
    generator = torch.Generator().manual_seed(0)
    model, optimizer, scheduler = fresh(config, classes)
    hark = min(hark_epoch(model, optimizer, scheduler, table, generator, batch) for _ in range(args.epochs))

    model, optimizer, _ = fresh(config, classes)
    loader = DataLoader(TutorialSet(dataset), batch_size=batch, shuffle=True, collate_fn=pad_collate)
    tutorial = min(tutorial_epoch(model, optimizer, loader) for _ in range(args.epochs))

    model, optimizer, _ = fresh(config, classes)
    waves = torch.from_numpy(np.array(load_split(dataset, "train", sr, n).waves))
    compute = min(compute_epoch(model, optimizer, waves, table.labels, batch) for _ in range(args.epochs))

    print(f"clips: {len(table)} train, m5 at {sr} Hz, batch {batch}, torch threads {torch.get_num_threads()}")
    print(f"{'pipeline':<34}{'epoch s':>9}{'clips/s':>10}")
    for name, seconds in (
        ("tutorial loop (decode+resample)", tutorial),
        ("hark (memmap cache)", hark),
        ("compute only (tensor in memory)", compute),
    ):
        print(f"{name:<34}{seconds:>9.2f}{len(table) / seconds:>10.0f}")
    print(f"hark vs tutorial: {tutorial / hark:.2f}x faster (goal >= 5x)")
    print(
        f"hark vs compute only: {hark / compute:.2f}x the pure-compute time "
        f"(cache built once in {cache_seconds:.1f} s, reused by later epochs and runs)"
    )


if __name__ == "__main__":
    main()
