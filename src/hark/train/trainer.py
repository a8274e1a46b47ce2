"""Everything one training run holds (model, optimiser, schedule, data, RNG) and the epoch loop
that advances it, writing the run folder when it has one."""

from __future__ import annotations

import csv
import io
import math
import random
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
import torch
from torch import nn
from torch.nn.parallel import DistributedDataParallel

from hark.data.cache import load_noise
from hark import schema
from hark.data.example import ClipDataset, Example
from hark.data.folder import load_noise_folder
from hark.errors import HarkError
from hark.features.augment import NoiseBank
from hark.fileio import write_text
from hark.models import create_model
from hark.train import distributed
from hark.train.allocator import keep_freed_blocks
from hark.train.checkpoint import capture_rng, load_checkpoint, load_weights, restore_rng, save_atomic
from hark.train.config import OPTIMIZERS, SCHEDULES, SPEC_AUGMENT_FIELDS, TrainConfig
from hark.train.data import ClipTable, epoch_order, iterate, shard_batches
from hark.train.estimate import estimate_line
from hark.train.loop import Precision, augment_batch, train_epoch, validate
from hark.train.presets import longer_than_cpu_preset

HISTORY_FIELDS = ["epoch", "train_loss", "train_acc", "val_loss", "val_acc", "val_macro_f1", "lr", "seconds"]


def build_model(config: TrainConfig, num_classes: int, training: bool = True) -> nn.Module:
    """The configured model; SpecAugment (training only) when the recipe asks for masks or a
    time stretch."""
    aug = config.augment
    options = dict(config.model.kwargs)
    if training and any(getattr(aug, name) for name in SPEC_AUGMENT_FIELDS):
        options["spec_augment"] = {
            "freq_masks": aug.freq_masks,
            "freq_width": aug.freq_mask_width,
            "time_masks": aug.time_masks,
            "time_width": aug.time_mask_width,
            "time_stretch": aug.time_stretch,
        }
    try:
        return create_model(config.model.name, num_classes, config.data.sample_rate, **options)
    except HarkError as err:
        if "spec_augment" not in str(err):
            raise
        off = " ".join(f"augment.{name}=0" for name in SPEC_AUGMENT_FIELDS)
        raise HarkError(f"{err} (it takes no spectrogram: set {off})") from None


def _optimizer(config: TrainConfig, model: nn.Module) -> torch.optim.Optimizer:
    o = config.optim
    if o.optimizer == "sgd":
        return torch.optim.SGD(model.parameters(), lr=o.lr, momentum=o.momentum, weight_decay=o.weight_decay)
    if o.optimizer == "adam":
        return torch.optim.Adam(model.parameters(), lr=o.lr, weight_decay=o.weight_decay)
    if o.optimizer == "adamw":
        return torch.optim.AdamW(model.parameters(), lr=o.lr, weight_decay=o.weight_decay)
    raise HarkError(f"unknown optimizer {o.optimizer!r}; valid: {', '.join(OPTIMIZERS)}")


def _schedule(config: TrainConfig, optimizer, steps_per_epoch: int) -> torch.optim.lr_scheduler.LambdaLR:
    """Stepped after every batch. `step`: the tutorial's StepLR (decay every `step_size` epochs);
    `cosine`: linear warm-up from 0 then half a cosine down to `min_lr` at the last step."""
    o = config.optim
    if o.schedule not in SCHEDULES:
        raise HarkError(f"unknown schedule {o.schedule!r}; valid: {', '.join(SCHEDULES)}")
    warmup = round(o.warmup_epochs * steps_per_epoch)
    total = config.run.epochs * steps_per_epoch
    floor = o.min_lr / o.lr if o.lr else 0.0

    def factor(step: int) -> float:
        if o.schedule == "step":
            return o.gamma ** ((step // steps_per_epoch) // o.step_size)
        if step < warmup:
            return (step + 1) / warmup
        progress = min((step - warmup) / max(total - warmup, 1), 1.0)
        return floor + (1 - floor) * 0.5 * (1 + math.cos(math.pi * progress))

    return torch.optim.lr_scheduler.LambdaLR(optimizer, factor)


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


class Trainer:
    def __init__(
        self,
        config: TrainConfig,
        dataset: ClipDataset,
        train_examples: Sequence[Example],
        val_examples: Sequence[Example],
        out: Path | None = None,
        report: Callable[[str], None] = print,
        progress: bool = True,
        estimate: bool = True,
    ):
        self.config, self.out, self.labels = config, Path(out) if out else None, list(dataset.labels)
        self.estimate = estimate
        self.dataset_source = config.data.source or str(dataset.root)
        self.ctx, self.device = distributed.setup(config.run.device)
        if self.device.type == "cpu":
            keep_freed_blocks()
        self.report = report if self.ctx.is_main else (lambda message: None)
        self.progress = progress and self.ctx.is_main
        data, loop = config.data, config.run
        self.train_set, self.val_set = (
            ClipTable.build(
                dataset, examples, data.sample_rate, data.num_samples, loop.workers, self.report, self.progress
            )
            for examples in (train_examples, val_examples)
        )
        if len(self.train_set) < self.ctx.world_size:
            raise HarkError(f"{dataset.root}: {len(self.train_set)} usable training clips; nothing to train on")
        if not len(self.val_set):
            self.report(
                f"note: {dataset.root} has no validation clips that decode; training without validation "
                "(best.pt is the latest epoch, and history.csv has no validation scores)"
            )

        seed_everything(loop.seed)
        self.model = build_model(config, len(self.labels)).to(self.device)
        # Same weights on every rank, different augmentation draws per rank.
        seed_everything(int(np.random.SeedSequence([loop.seed, self.ctx.rank]).generate_state(1)[0]))
        self.shuffle = torch.Generator().manual_seed(loop.seed)  # identical order on every rank
        self.network = self.model
        if self.ctx.distributed:
            self.model = distributed.sync_batchnorm(self.model, self.device)
            self.network = DistributedDataParallel(
                self.model, device_ids=[self.device.index] if self.device.type == "cuda" else None
            )
        self.optimizer = _optimizer(config, self.model)
        self.steps_per_epoch = len(shard_batches(np.arange(len(self.train_set)), loop.batch_size, self.ctx))
        self.scheduler = _schedule(config, self.optimizer, self.steps_per_epoch)
        self.precision = Precision.choose(self.device, loop.amp)
        self.noise = self._noise_bank(dataset)
        self.epoch, self.best_score, self.history = 0, -1.0, []

    def _noise_bank(self, dataset: ClipDataset) -> NoiseBank | None:
        augment = self.config.augment
        if augment.noise_prob <= 0:
            return None
        source = load_noise_folder(augment.noise_dir) if augment.noise_dir else dataset
        noises = load_noise(source, self.config.data.sample_rate)
        if not noises:
            self.report(
                f"note: {source.root} has no background-noise recordings; training without noise mixing "
                "(give a folder of them with --set augment.noise_dir=DIR)"
            )
            return None
        return NoiseBank(noises, self.device)

    # -- checkpoints ---------------------------------------------------------------------------
    def resume(self, path: Path) -> None:
        payload = load_checkpoint(path)
        saved_model = payload["config"].get("model", {}).get("name")
        if saved_model != self.config.model.name or list(payload.get("labels", [])) != self.labels:
            raise HarkError(
                f"{path}: checkpoint of model {saved_model!r} with classes {payload.get('labels')} cannot "
                f"continue a run of {self.config.model.name!r} with classes {self.labels}"
            )
        load_weights(self.model, payload, path)
        self.optimizer.load_state_dict(payload["optimizer"])
        self.scheduler.load_state_dict(payload["scheduler"])
        self.precision.scaler.load_state_dict(payload["scaler"])
        rng = payload["rng"]
        if len(rng) == self.ctx.world_size:
            restore_rng(rng[self.ctx.rank], self.shuffle)
        else:
            self.report(
                f"note: {path} was written by {len(rng)} processes, not {self.ctx.world_size}; "
                "the random streams restart, so the result will differ from an uninterrupted run"
            )
            self.shuffle.manual_seed(self.config.run.seed + payload["epoch"])
        self.epoch, self.best_score, self.history = payload["epoch"], payload["best_score"], payload["history"]

    def _payload(self, rng: list[dict]) -> dict:
        return {
            "model": self.model.state_dict(),
            "optimizer": self.optimizer.state_dict(),
            "scheduler": self.scheduler.state_dict(),
            "scaler": self.precision.scaler.state_dict(),
            "rng": rng,
            "epoch": self.epoch,
            "best_score": self.best_score,
            "history": self.history,
            "config": self.config.to_dict(),
            "labels": self.labels,
            "dataset_source": self.dataset_source,
        }

    def _save(self, rng: list[dict], improved: bool) -> None:
        folder = self.out / schema.CHECKPOINT_DIR
        paths = [folder / schema.BEST_CHECKPOINT] if improved else []
        if self.epoch % self.config.run.checkpoint_every == 0:
            paths.append(folder / f"epoch_{self.epoch:03d}.pt")
        # The last checkpoint is written last: its presence means every file of this epoch is complete.
        save_atomic(self._payload(rng), *paths, folder / schema.LAST_CHECKPOINT)
        buffer = io.StringIO()
        writer = csv.DictWriter(buffer, HISTORY_FIELDS)
        writer.writeheader()
        writer.writerows(self.history)
        write_text(self.out / schema.HISTORY_FILE, buffer.getvalue())

    def _augment(self, waves: torch.Tensor) -> torch.Tensor:
        return augment_batch(waves, self.config.augment, self.noise, self.config.data.sample_rate)

    def _report_estimate(self) -> None:
        line = estimate_line(
            self.model,
            self.optimizer,
            self.train_set,
            self.val_set,
            self.config.run.batch_size,
            self.config.run.epochs - self.epoch,
            self._augment,
            suggest_cpu_preset=longer_than_cpu_preset(self.config),
        )
        if line:
            self.report(line)

    # -- the loop ------------------------------------------------------------------------------
    def fit(self) -> nn.Module:
        loop, augment, sr = self.config.run, self.config.augment, self.config.data.sample_rate
        board = None
        if self.out is not None and self.ctx.is_main:
            # tensorboard is slow to import; training without a folder skips it
            from hark.train.tblog import CLIPS_SHOWN, TensorBoard

            board = TensorBoard(self.out / schema.TENSORBOARD_DIR, first_epoch=self.epoch + 1)
            shown = np.arange(min(CLIPS_SHOWN, len(self.val_set)))
        if self.estimate and self.ctx.is_main and self.device.type == "cpu":
            self._report_estimate()
        val_batches = shard_batches(np.arange(len(self.val_set)), loop.batch_size, distributed.Context())
        try:
            while self.epoch < loop.epochs:
                self.epoch += 1
                started = time.perf_counter()
                order = epoch_order(len(self.train_set), self.shuffle, shuffle=True)
                shards = shard_batches(order, loop.batch_size, self.ctx)
                train_loss, train_acc = train_epoch(
                    self.network,
                    iterate(self.train_set, shards, self.device),
                    len(shards),
                    self.optimizer,
                    self.scheduler,
                    self.precision,
                    self.ctx,
                    augment.label_smoothing,
                    self._augment,
                    f"epoch {self.epoch}/{loop.epochs}",
                    self.progress,
                )
                rng = distributed.gather(capture_rng(self.shuffle), self.ctx)
                if not self.ctx.is_main:
                    continue
                val = (
                    validate(
                        self.model, iterate(self.val_set, val_batches, self.device), len(self.labels), self.precision
                    )
                    if len(self.val_set)
                    else None
                )
                row = {
                    "epoch": self.epoch,
                    "train_loss": train_loss,
                    "train_acc": train_acc,
                    "val_loss": val and val.loss,
                    "val_acc": val and val.accuracy,
                    "val_macro_f1": val and val.macro_f1,
                    "lr": self.scheduler.get_last_lr()[0],
                    "seconds": time.perf_counter() - started,
                }
                self.history.append(row)
                # Without validation the latest model is the best guess.
                improved = val is None or val.macro_f1 > self.best_score
                self.best_score = max(self.best_score, val.macro_f1) if val else self.best_score
                scores = (
                    (
                        f"val loss {val.loss:.4f} acc {val.accuracy:.3f} macro-F1 {val.macro_f1:.3f}"
                        f"{' (best)' if improved else ''}"
                    )
                    if val
                    else "no validation"
                )
                self.report(
                    f"epoch {self.epoch}/{loop.epochs}  train loss {train_loss:.4f} acc {train_acc:.3f}  "
                    f"{scores}  lr {row['lr']:.2e}  {row['seconds']:.1f}s"
                )
                if self.out is not None:
                    self._save(rng, improved)
                    board.log_epoch(
                        self.epoch,
                        row,
                        val,
                        self.labels,
                        self.val_set.waves(shown),
                        self.val_set.labels[shown].numpy(),
                        [self.val_set.examples[i].path for i in shown],
                        sr,
                    )
            if board is not None and self.history:
                board.log_end(
                    self.config.to_dict(),
                    self.history[-1],
                    self.best_score,
                    self.model,
                    self.val_set,
                    self.labels,
                    self.epoch,
                    self.device,
                )
        finally:
            if board is not None:
                board.close()
        distributed.barrier(self.ctx)
        return self.model.eval()
