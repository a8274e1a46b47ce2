"""Run folders: start or resume training one (`train_run`), train in-process on any subset
(`fit`), and load the model a run folder holds back for evaluation, prediction, export and
analysis (`load_trained`)."""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from torch import nn

from hark import schema
from hark.data.datasets import load_dataset
from hark.data.example import ClipDataset, Example
from hark.errors import HarkError
from hark.fileio import ensure_writable_dir
from hark.models.frontend import front_end_settings
from hark.train import distributed
from hark.train.checkpoint import clean_temporaries, load_checkpoint, load_weights
from hark.train.config import TrainConfig
from hark.train.trainer import Trainer, build_model

# Fields that may differ when a run is resumed: where it runs, not what it computes.
RESUMABLE_CHANGES = {"run.device", "run.workers"}


@dataclass
class TrainedModel:
    """The model of one checkpoint of a run folder, with the recipe and classes it was trained on."""

    config: TrainConfig
    labels: list[str]
    model: nn.Module  # on the CPU, in eval mode
    dataset_source: str
    checkpoint: Path
    epoch: int


def checkpoint_path(run_dir: Path, checkpoint: str = "best") -> Path:
    """`best`, `last`, `epoch_NNN` (in RUN/checkpoints/) or a path to a `.pt` file."""
    candidate = Path(checkpoint)
    if candidate.suffix == ".pt" and candidate.is_file():
        return candidate
    path = Path(run_dir) / schema.CHECKPOINT_DIR / f"{checkpoint}.pt"
    if not path.is_file():
        present = sorted(p.stem for p in (Path(run_dir) / schema.CHECKPOINT_DIR).glob("*.pt"))
        raise HarkError(f"{path}: no such checkpoint; this run has: {', '.join(present) or 'none (not trained?)'}")
    return path


def load_trained(run_dir: Path, checkpoint: str = "best") -> TrainedModel:
    path = checkpoint_path(run_dir, checkpoint)
    payload = load_checkpoint(path)
    config = TrainConfig.from_dict(payload["config"], origin=str(path))
    labels = list(payload["labels"])
    model = build_model(config, len(labels), training=False)
    load_weights(model, payload, path)
    return TrainedModel(
        config, labels, model.eval(), payload.get("dataset_source", config.data.source), path, payload["epoch"]
    )


def fit(
    config: TrainConfig,
    dataset: ClipDataset,
    train_examples: Sequence[Example],
    val_examples: Sequence[Example],
    out: Path | None = None,
    report: Callable[[str], None] = print,
    progress: bool = True,
    estimate: bool = True,
) -> nn.Module:
    """Train on exactly `train_examples` (validating on `val_examples`) and return the model in
    eval mode. With `out`, the run folder is written as by `hark train`. `progress`: bars;
    `estimate`: the time estimate before a CPU run."""
    trainer = Trainer(config, dataset, train_examples, val_examples, out, report, progress, estimate)
    if out is not None and trainer.ctx.is_main:
        Path(out).mkdir(parents=True, exist_ok=True)
        config.save(Path(out) / schema.CONFIG_FILE, trainer.labels, front_end_settings(trainer.model))
    return trainer.fit()


def train_run(config: TrainConfig, out: Path, resume: bool = False, report: Callable[[str], None] = print) -> Path:
    """`hark train`: the dataset's train split, validated on its validation split, into `out`.
    The run folder and the cache must take files before the dataset is read."""
    from hark.data.cache import ensure_cache_writable

    out = Path(out)
    last = out / schema.CHECKPOINT_DIR / schema.LAST_CHECKPOINT
    saved = out / schema.CONFIG_FILE
    if resume and saved.is_file():
        _check_same_recipe(TrainConfig.load(saved), config, out)
    elif not resume and last.is_file():
        raise HarkError(f"{out} already holds a run ({last}); pass --resume to continue it or choose another --out")
    ensure_writable_dir(out, "run folder")
    ensure_cache_writable()
    if os.environ.get("RANK", "0") == "0":  # torchrun's rank, before the process group exists
        clean_temporaries(out)
    dataset = load_dataset(config.data.source, config.data.task)
    for problem in dataset.problems:
        report(f"skipped {problem}")
    trainer = Trainer(config, dataset, dataset.split(schema.TRAIN), dataset.split(schema.VALIDATION), out, report)
    try:
        if resume and last.is_file():
            trainer.resume(last)
            report(f"resuming {out} after epoch {trainer.epoch}")
        elif resume:
            report(f"note: {out} has no checkpoint yet; starting from the beginning")
        if trainer.ctx.is_main:
            out.mkdir(parents=True, exist_ok=True)
            config.save(saved, trainer.labels, front_end_settings(trainer.model))
        trainer.fit()
    finally:
        distributed.teardown()
    return out


def _check_same_recipe(saved: TrainConfig, requested: TrainConfig, out: Path) -> None:
    old, new = _flatten(saved.to_dict()), _flatten(requested.to_dict())
    changed = sorted(k for k in old.keys() | new.keys() if old.get(k) != new.get(k) and k not in RESUMABLE_CHANGES)
    if changed:
        details = ", ".join(f"{k}: {old.get(k)!r} -> {new.get(k)!r}" for k in changed)
        saved = out / schema.CONFIG_FILE
        raise HarkError(
            f"{saved}: --resume must continue the same recipe; changed: {details} "
            f"(resume with `hark train --config {saved} --out {out} --resume`)"
        )


def _flatten(config: dict) -> dict:
    return {f"{section}.{key}": value for section, values in config.items() for key, value in values.items()}
