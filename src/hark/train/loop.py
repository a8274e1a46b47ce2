"""One training epoch and one validation pass."""

from __future__ import annotations

import contextlib
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn
from tqdm import tqdm

from hark.features.augment import NoiseBank, mix_background_noise, random_speed, random_time_shift
from hark.train.config import AugmentConfig
from hark.train.distributed import Context, sum_tensor
from hark.train.metrics import accuracy, confusion_matrix, macro_f1


@dataclass
class Precision:
    """Autocast settings: bf16 where the GPU has it, else fp16 with a GradScaler; off on CPU."""

    device: torch.device
    dtype: torch.dtype | None
    scaler: torch.amp.GradScaler

    @classmethod
    def choose(cls, device: torch.device, amp: bool) -> Precision:
        dtype = None
        if amp and device.type == "cuda":
            dtype = torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
        return cls(device, dtype, torch.amp.GradScaler(device.type, enabled=dtype == torch.float16))

    def autocast(self):
        if self.dtype is None:
            return contextlib.nullcontext()
        return torch.autocast(self.device.type, dtype=self.dtype)


def augment_batch(waves: torch.Tensor, cfg: AugmentConfig, noise: NoiseBank | None, sample_rate: int) -> torch.Tensor:
    """Waveform augmentation on the batch's device; SpecAugment lives in the model."""
    if cfg.speed_change > 0:
        waves = random_speed(waves, cfg.speed_change)
    if cfg.time_shift_ms > 0:
        waves = random_time_shift(waves, int(round(cfg.time_shift_ms * sample_rate / 1000)))
    if cfg.noise_prob > 0 and noise is not None:
        waves = mix_background_noise(waves, noise, cfg.noise_prob, cfg.noise_snr_db)
    return waves


def train_epoch(
    model: nn.Module,
    batches,
    num_batches: int,
    optimizer,
    scheduler,
    precision: Precision,
    ctx: Context,
    label_smoothing: float,
    augment,
    description: str,
    progress: bool = True,
) -> tuple[float, float]:
    """Train on `batches` of (waves, labels, global batch size); returns mean loss and accuracy
    over the global epoch. The loss is a sum over this rank's clips divided by the global batch
    size and multiplied by the world size, so that DDP's gradient averaging yields exactly the
    gradient of the global batch mean, even for an unevenly split last batch."""
    model.train()
    totals = torch.zeros(3, dtype=torch.float64)  # loss sum, correct, clips (this rank)
    bar = tqdm(
        batches, total=num_batches, desc=description, leave=False, disable=not (progress and ctx.is_main), unit="batch"
    )
    for waves, labels, global_size in bar:
        waves = augment(waves)
        with precision.autocast():
            logits = model(waves)
        loss_sum = F.cross_entropy(logits.float(), labels, reduction="sum", label_smoothing=label_smoothing)
        optimizer.zero_grad(set_to_none=True)
        precision.scaler.scale(loss_sum * ctx.world_size / global_size).backward()
        precision.scaler.step(optimizer)
        precision.scaler.update()
        scheduler.step()
        totals += torch.tensor(
            [loss_sum.item(), (logits.argmax(1) == labels).sum().item(), len(labels)], dtype=torch.float64
        )
        bar.set_postfix(loss=f"{totals[0] / totals[2]:.4f}", acc=f"{totals[1] / totals[2]:.3f}")
    totals = sum_tensor(totals, ctx)
    clips = max(float(totals[2]), 1.0)
    return float(totals[0]) / clips, float(totals[1]) / clips


@dataclass
class ValidationResult:
    """One validation pass of the model being trained (`hark evaluate` scores a finished run)."""

    loss: float
    accuracy: float
    macro_f1: float
    confusion: np.ndarray
    predictions: np.ndarray
    probabilities: np.ndarray


@torch.no_grad()
def validate(model: nn.Module, batches, num_classes: int, precision: Precision) -> ValidationResult:
    """Plain cross-entropy (no smoothing, no augmentation) over `batches`."""
    model.eval()
    losses, predictions, probabilities, truth = [], [], [], []
    for waves, labels, _ in batches:
        with precision.autocast():
            logits = model(waves)
        logits = logits.float()
        losses.append(F.cross_entropy(logits, labels, reduction="sum").item())
        probabilities.append(torch.softmax(logits, 1).cpu().numpy())
        predictions.append(logits.argmax(1).cpu().numpy())
        truth.append(labels.cpu().numpy())
    y_true = np.concatenate(truth) if truth else np.zeros(0, np.int64)
    y_pred = np.concatenate(predictions) if predictions else np.zeros(0, np.int64)
    probs = np.concatenate(probabilities) if probabilities else np.zeros((0, num_classes), np.float32)
    return ValidationResult(
        loss=sum(losses) / max(len(y_true), 1),
        accuracy=accuracy(y_true, y_pred),
        macro_f1=macro_f1(y_true, y_pred),
        confusion=confusion_matrix(y_true, y_pred, np.arange(num_classes)),
        predictions=y_pred,
        probabilities=probs,
    )
