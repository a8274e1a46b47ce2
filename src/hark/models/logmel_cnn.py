"""A small VGG-style 2-D CNN on log-mel features: plain 3x3 convolutions, no depthwise or
sub-spectral layers, which a CPU runs at nearly three times BC-ResNet-1's FLOP rate
(`benchmarks/bench_train_throughput.py --part flops`: 26 against 9 GFLOP/s on one thread).
Each band's mean over the clip is removed before the convolutions (cepstral mean normalisation),
so that a microphone's or room's colouring, constant over a clip, is not learnt as a cue: in a
small dataset it goes with the speaker, and a new speaker brings another."""

from __future__ import annotations

import torch
from torch import nn

from hark.models.frontend import log_mel_front_end, remove_band_mean
from hark.models.registry import register_model

N_MELS = 40


def _block(in_channels: int, out_channels: int, pool: bool) -> list[nn.Module]:
    layers: list[nn.Module] = [
        nn.Conv2d(in_channels, out_channels, 3, padding=1, bias=False),
        nn.BatchNorm2d(out_channels),
        nn.ReLU(),
    ]
    return layers + [nn.MaxPool2d(2)] if pool else layers


class LogMelCNN(nn.Module):
    def __init__(
        self,
        num_classes: int,
        sample_rate: int,
        widths: tuple[int, ...],
        spec_augment: dict | None,
        dropout: float,
        mean_normalise: bool,
        n_mels: int,
    ):
        super().__init__()
        self.embedding_dim = widths[-1]
        self.mean_normalise = mean_normalise
        self.features = log_mel_front_end(sample_rate, n_mels, 30.0, 10.0, spec_augment)
        channels = (1, *widths)
        self.body = nn.Sequential(
            *[
                layer
                for i in range(len(widths))
                for layer in _block(channels[i], channels[i + 1], pool=i < len(widths) - 1)
            ]
        )
        self.dropout = nn.Dropout(dropout)
        self.head = nn.Linear(self.embedding_dim, num_classes)

    def forward(self, waves: torch.Tensor) -> torch.Tensor:
        spec = self.features(waves)
        if self.mean_normalise:
            spec = remove_band_mean(spec)
        x = self.body(spec[:, None])
        return self.head(self.dropout(x.mean(dim=(2, 3))))


@register_model("logmel-cnn")
def logmel_cnn(
    num_classes: int,
    sample_rate: int = 16000,
    spec_augment: dict | None = None,
    dropout: float = 0.1,
    mean_normalise: bool = True,
    n_mels: int = N_MELS,
) -> nn.Module:
    """A small 2-D CNN on `n_mels` (40) mean-normalised log-mel bands (four 3x3 conv blocks, 24-96 channels)."""
    return LogMelCNN(num_classes, sample_rate, (24, 48, 64, 96), spec_augment, dropout, mean_normalise, n_mels)
