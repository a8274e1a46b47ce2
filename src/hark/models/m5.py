"""M5 (Dai et al. 2017) exactly as in the PyTorch audio tutorial that the seed project followed."""

from __future__ import annotations

import torch
from torch import nn

from hark.models.registry import register_model


def _conv_block(in_channels: int, out_channels: int, kernel_size: int, stride: int = 1) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv1d(in_channels, out_channels, kernel_size, stride=stride),
        nn.BatchNorm1d(out_channels),
        nn.ReLU(),
        nn.MaxPool1d(4),
    )


class M5(nn.Module):
    """Four conv blocks on the raw waveform, then global average pooling. The tutorial ends in
    log_softmax; this returns logits and leaves that to the loss."""

    def __init__(self, num_classes: int, n_channel: int = 32, stride: int = 16):
        super().__init__()
        self.embedding_dim = 2 * n_channel
        self.features = nn.Sequential(
            _conv_block(1, n_channel, 80, stride),
            _conv_block(n_channel, n_channel, 3),
            _conv_block(n_channel, 2 * n_channel, 3),
            _conv_block(2 * n_channel, 2 * n_channel, 3),
        )
        self.head = nn.Linear(self.embedding_dim, num_classes)

    def forward(self, waves: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(waves[:, None, :]).mean(dim=-1))


@register_model("m5")
def m5(num_classes: int, sample_rate: int = 16000, n_channel: int = 32, stride: int = 16) -> nn.Module:
    """The PyTorch tutorial's raw-waveform 1-D CNN (the seed baseline; 8 or 16 kHz)."""
    return M5(num_classes, n_channel=n_channel, stride=stride)
