"""How long a CPU run will take, measured before it starts on a throw-away copy of the model.

A few real training steps (augmentation, forward, backward, optimiser) on the first training
batches and one validation batch give the time per epoch; the run itself is untouched: the
copy has its own optimiser and the global RNG (dropout, augmentation, SpecAugment) is put back,
so a run with the estimate trains exactly as one without."""

from __future__ import annotations

import copy
import math
import time
from collections.abc import Callable

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from hark.train.data import ClipTable, iterate

TIMED_STEPS = 2  # after one untimed step that builds oneDNN's kernels
MIN_STEPS = 20  # runs shorter than this finish before an estimate would be worth reading
# A run this short already fits a CPU budget: pointing it to a cheaper recipe would only distract.
WORTH_A_CHEAPER_RECIPE_S = 600.0


def _format(seconds: float) -> str:
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 7200:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"


def measure_epoch_seconds(
    model: nn.Module,
    optimizer: torch.optim.Optimizer,
    train: ClipTable,
    val: ClipTable,
    batch_size: int,
    augment: Callable[[torch.Tensor], torch.Tensor],
) -> tuple[float, int]:
    """(seconds per epoch, clips timed): training steps on `train`'s first batches plus one
    validation batch, scaled to the tables' sizes."""
    rng = torch.get_rng_state()
    # One deepcopy of both, so that the copied optimiser (state included) holds the copied
    # model's parameters.
    trial, trial_optimizer = copy.deepcopy((model, optimizer))
    trial.train()
    size = min(batch_size, len(train))
    batches = [(np.arange(i * size, (i + 1) * size) % len(train), size) for i in range(1 + TIMED_STEPS)]
    device = next(trial.parameters()).device
    step_seconds = []
    try:
        for waves, labels, _ in iterate(train, batches, device):
            started = time.perf_counter()
            loss = F.cross_entropy(trial(augment(waves)), labels)
            trial_optimizer.zero_grad(set_to_none=True)
            loss.backward()
            trial_optimizer.step()
            step_seconds.append(time.perf_counter() - started)
        val_seconds = 0.0
        if len(val):
            val_size = min(batch_size, len(val))
            trial.eval()
            for waves, _, _ in iterate(val, [(np.arange(val_size), val_size)], device):
                started = time.perf_counter()
                with torch.no_grad():
                    trial(waves)
                val_seconds = (time.perf_counter() - started) * len(val) / val_size
    finally:
        torch.set_rng_state(rng)
    per_step = float(np.mean(step_seconds[1:]))
    return per_step * math.ceil(len(train) / size) + val_seconds, size * TIMED_STEPS


def estimate_line(
    model: nn.Module,
    optimizer: torch.optim.Optimizer,
    train: ClipTable,
    val: ClipTable,
    batch_size: int,
    epochs_left: int,
    augment: Callable[[torch.Tensor], torch.Tensor],
    suggest_cpu_preset: bool = True,
) -> str | None:
    """The line `hark train` prints before a CPU run, or None for a run too short to need one;
    it points to `--preset cpu` when `suggest_cpu_preset` (a run that recipe would train faster)
    and the run will take at least WORTH_A_CHEAPER_RECIPE_S."""
    if epochs_left * math.ceil(len(train) / max(batch_size, 1)) < MIN_STEPS:
        return None
    per_epoch, timed = measure_epoch_seconds(model, optimizer, train, val, batch_size, augment)
    threads, total = torch.get_num_threads(), per_epoch * epochs_left
    line = (
        f"no GPU: this recipe will take about {_format(total)} on the CPU "
        f"({epochs_left} epochs of {_format(per_epoch)}, timed on {timed} clips at "
        f"{threads} thread{'' if threads == 1 else 's'})"
    )
    if suggest_cpu_preset and total >= WORTH_A_CHEAPER_RECIPE_S:
        return line + "; `--preset cpu` is a recipe sized for CPU budgets"
    return line
