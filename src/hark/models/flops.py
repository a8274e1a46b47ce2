"""FLOP per clip as torch counts them (`torch.utils.flop_counter`: convolutions, matmuls and
their gradients; element-wise work and FFTs count zero), for inference and for one training
step, so that benchmarks can turn times into achieved FLOP/s."""

from __future__ import annotations

import copy

import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.flop_counter import FlopCounterMode


def inference_flops(model: nn.Module, num_samples: int) -> int:
    """FLOP of one forward pass on one clip, in eval mode."""
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad(), FlopCounterMode(display=False) as counter:
            model(torch.zeros(1, num_samples))
    finally:
        model.train(was_training)
    return counter.get_total_flops()


def training_flops(model: nn.Module, num_samples: int, num_classes: int, batch: int = 8) -> float:
    """FLOP per clip of forward + backward (the optimiser step is element-wise), counted on a
    throw-away batch with a copy of `model`, which is left untouched."""
    model = copy.deepcopy(model).train()
    waves = 0.1 * torch.randn(batch, num_samples, generator=torch.Generator().manual_seed(0))
    labels = torch.arange(batch) % num_classes
    with FlopCounterMode(display=False) as counter:
        F.cross_entropy(model(waves), labels).backward()
    return counter.get_total_flops() / batch
