"""MatchboxNet-3x1x64 (Majumdar & Ginsburg, Interspeech 2020), from the paper's description:
1-D time-channel separable convolutions with residual blocks over the feature sequence.
Input is 64 log-mel bands (25 ms window, 10 ms hop) where the paper used 64 MFCCs; MFCCs are a
fixed linear map (a DCT) of log-mel, which the first pointwise convolution can absorb."""

from __future__ import annotations

import torch
from torch import nn

from hark.models.frontend import log_mel_front_end
from hark.models.registry import register_model

N_MELS = 64


def _separable(in_channels: int, out_channels: int, kernel_size: int, dilation: int = 1) -> list[nn.Module]:
    return [
        nn.Conv1d(
            in_channels,
            in_channels,
            kernel_size,
            padding=dilation * (kernel_size // 2),
            dilation=dilation,
            groups=in_channels,
            bias=False,
        ),
        nn.Conv1d(in_channels, out_channels, 1, bias=False),
        nn.BatchNorm1d(out_channels),
    ]


class MatchboxBlock(nn.Module):
    """`repeats` separable sub-blocks; a pointwise-conv residual joins before the last ReLU."""

    def __init__(self, in_channels: int, channels: int, kernel_size: int, repeats: int, dropout: float):
        super().__init__()
        layers: list[nn.Module] = []
        for index in range(repeats):
            layers += _separable(in_channels if index == 0 else channels, channels, kernel_size)
            if index < repeats - 1:
                layers += [nn.ReLU(), nn.Dropout(dropout)]
        self.body = nn.Sequential(*layers)
        self.residual = nn.Sequential(nn.Conv1d(in_channels, channels, 1, bias=False), nn.BatchNorm1d(channels))
        self.out = nn.Sequential(nn.ReLU(), nn.Dropout(dropout))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.out(self.body(x) + self.residual(x))


class MatchboxNet(nn.Module):
    def __init__(
        self,
        num_classes: int,
        sample_rate: int,
        blocks: int,
        repeats: int,
        channels: int,
        spec_augment: dict | None,
        dropout: float,
    ):
        super().__init__()
        self.embedding_dim = 128
        self.features = log_mel_front_end(sample_rate, N_MELS, 25.0, 10.0, spec_augment)
        self.prologue = nn.Sequential(*_separable(N_MELS, 128, 11), nn.ReLU(), nn.Dropout(dropout))
        kernels = [13 + 2 * i for i in range(blocks)]
        self.blocks = nn.Sequential(
            *[MatchboxBlock(128 if i == 0 else channels, channels, k, repeats, dropout) for i, k in enumerate(kernels)]
        )
        self.epilogue = nn.Sequential(
            *_separable(channels, 128, 29, dilation=2),
            nn.ReLU(),
            nn.Dropout(dropout),
            nn.Conv1d(128, 128, 1, bias=False),
            nn.BatchNorm1d(128),
            nn.ReLU(),
            nn.Dropout(dropout),
        )
        self.head = nn.Linear(128, num_classes)

    def forward(self, waves: torch.Tensor) -> torch.Tensor:
        x = self.epilogue(self.blocks(self.prologue(self.features(waves))))
        return self.head(x.mean(dim=-1))


@register_model("matchboxnet-3x1x64")
def matchboxnet_3x1x64(
    num_classes: int, sample_rate: int = 16000, spec_augment: dict | None = None, dropout: float = 0.0
) -> nn.Module:
    """MatchboxNet-3x1x64 on 64 log-mel bands (Majumdar & Ginsburg 2020)."""
    return MatchboxNet(
        num_classes, sample_rate, blocks=3, repeats=1, channels=64, spec_augment=spec_augment, dropout=dropout
    )
