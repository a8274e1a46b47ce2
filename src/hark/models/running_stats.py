"""The running-statistics step of torch's batch norm, for the norms that compute their batch
statistics themselves (SubSpectralNorm's channels-last form, the CPU multi-process norm)."""

from __future__ import annotations

import torch
from torch import nn


@torch.no_grad()
def update_running_stats(
    norm: nn.modules.batchnorm._BatchNorm, mean: torch.Tensor, var: torch.Tensor, count: int
) -> None:
    """Move `norm`'s running mean and variance towards a batch's `mean` and biased `var` over
    `count` values per feature, as `nn.BatchNorm2d` does: momentum (or a cumulative average when
    it is None), and the variance made unbiased."""
    if not norm.track_running_stats:
        return
    norm.num_batches_tracked.add_(1)
    momentum = norm.momentum if norm.momentum is not None else 1.0 / float(norm.num_batches_tracked)
    norm.running_mean.lerp_(mean, momentum)
    norm.running_var.lerp_(var * (count / max(count - 1, 1)), momentum)
