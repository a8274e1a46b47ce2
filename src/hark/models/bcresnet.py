"""BC-ResNet (Kim et al., Interspeech 2021, "Broadcasted Residual Learning for Efficient
Keyword Spotting"), written from the paper's description.

Most of each block's work is a 1-D temporal convolution on the frequency-averaged features;
its output is broadcast back over frequency and added to the 2-D (frequency-wise) path."""

from __future__ import annotations

import torch
from torch import nn

from hark.models.frontend import log_mel_front_end
from hark.models.registry import register_model
from hark.models.subspectral import SubSpectralNorm

N_MELS = 40
SUB_BANDS = 5
STAGE_BLOCKS = (2, 2, 4, 4)
STAGE_DILATIONS = (1, 2, 4, 8)
STAGE_FREQ_STRIDES = (1, 2, 2, 1)
STAGE_WIDTHS = (8, 12, 16, 20)  # times the width multiplier; the stem has 16 and the last 1x1 conv 32


class BCResBlock(nn.Module):
    """A transition block (channel count changes: 1x1 conv first, no identity shortcut) or a
    normal block (identity shortcut), with an optional frequency stride."""

    def __init__(self, in_channels: int, out_channels: int, freq_stride: int, dilation: int, dropout: float):
        super().__init__()
        self.transition = in_channels != out_channels
        frequency_path: list[nn.Module] = []
        if self.transition:
            frequency_path += [
                nn.Conv2d(in_channels, out_channels, 1, bias=False),
                nn.BatchNorm2d(out_channels),
                nn.ReLU(),
            ]
        frequency_path += [
            nn.Conv2d(
                out_channels,
                out_channels,
                (3, 1),
                stride=(freq_stride, 1),
                padding=(1, 0),
                groups=out_channels,
                bias=False,
            ),
            SubSpectralNorm(out_channels, SUB_BANDS),
        ]
        self.frequency_path = nn.Sequential(*frequency_path)
        self.temporal_path = nn.Sequential(
            nn.Conv2d(
                out_channels,
                out_channels,
                (1, 3),
                padding=(0, dilation),
                dilation=(1, dilation),
                groups=out_channels,
                bias=False,
            ),
            nn.BatchNorm2d(out_channels),
            nn.SiLU(),
            nn.Conv2d(out_channels, out_channels, 1, bias=False),
            nn.Dropout2d(dropout),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        frequency = self.frequency_path(x)
        temporal = self.temporal_path(frequency.mean(dim=2, keepdim=True))
        # In place after the first add: these are the block's largest tensors, and neither add
        # keeps its inputs for backward, so only one new tensor is allocated (and faulted in).
        out = frequency + temporal  # broadcast over frequency
        if not self.transition:
            out += x
        return out.relu_()


class BCResNet(nn.Module):
    def __init__(self, num_classes: int, width: float, sample_rate: int, spec_augment: dict | None, dropout: float):
        super().__init__()
        channels = [int(round(c * width)) for c in STAGE_WIDTHS]
        stem, last = int(round(16 * width)), int(round(32 * width))
        self.embedding_dim = last
        self.features = log_mel_front_end(sample_rate, N_MELS, 30.0, 10.0, spec_augment)
        self.stem = nn.Sequential(
            nn.Conv2d(1, stem, 5, stride=(2, 1), padding=2, bias=False),
            nn.BatchNorm2d(stem),
            nn.ReLU(),
        )
        blocks, in_channels = [], stem
        stages = zip(channels, STAGE_BLOCKS, STAGE_DILATIONS, STAGE_FREQ_STRIDES, strict=True)
        for out_channels, count, dilation, stride in stages:
            for index in range(count):
                blocks.append(BCResBlock(in_channels, out_channels, stride if index == 0 else 1, dilation, dropout))
                in_channels = out_channels
        self.blocks = nn.Sequential(*blocks)
        # The 5x5 depthwise conv has no frequency padding: it folds the last 5 bands into one.
        self.neck = nn.Sequential(
            nn.Conv2d(in_channels, in_channels, 5, padding=(0, 2), groups=in_channels, bias=False),
            nn.Conv2d(in_channels, last, 1, bias=False),
            nn.BatchNorm2d(last),
            nn.ReLU(),
        )
        self.head = nn.Linear(last, num_classes)
        # oneDNN's depthwise convolutions are several times faster on channels-last tensors;
        # channels-last weights make every conv produce them (and `.to(device)` keeps the layout).
        self.to(memory_format=torch.channels_last)

    def forward(self, waves: torch.Tensor) -> torch.Tensor:
        x = self.features(waves)[:, None]
        x = self.neck(self.blocks(self.stem(x)))
        return self.head(x.mean(dim=(2, 3)))


def _register(width: float) -> None:
    label = f"{width:g}"

    def factory(
        num_classes: int, sample_rate: int = 16000, spec_augment: dict | None = None, dropout: float = 0.1
    ) -> nn.Module:
        return BCResNet(num_classes, width, sample_rate, spec_augment, dropout)

    factory.__doc__ = f"BC-ResNet-{label} on 40 log-mel bands (Kim et al. 2021), width x{label}."
    register_model(f"bcresnet-{label}")(factory)


for _width in (1, 1.5, 2, 3, 6, 8):
    _register(_width)
