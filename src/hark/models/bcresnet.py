"""BC-ResNet (Kim et al., Interspeech 2021, "Broadcasted Residual Learning for Efficient
Keyword Spotting"), written from the paper's description.

Most of each block's work is a 1-D temporal convolution on the frequency-averaged features;
its output is broadcast back over frequency and added to the 2-D (frequency-wise) path."""

from __future__ import annotations

import torch
from torch import nn

from hark.models.frontend import log_mel_front_end, remove_band_mean
from hark.models.registry import register_model
from hark.models.subspectral import SubSpectralNorm

N_MELS = 40
SUB_BANDS = 5
STAGE_BLOCKS = (2, 2, 4, 4)
STAGE_DILATIONS = (1, 2, 4, 8)
STAGE_FREQ_STRIDES = (1, 2, 2, 1)
STAGE_WIDTHS = (8, 12, 16, 20)  # times the width multiplier; the stem has 16 and the last 1x1 conv 32


class TemporalDepthwiseConv(nn.Conv2d):
    """The temporal path's depthwise (1, 3) convolution over time, dilated, on the frequency
    average ([batch, channels, 1, time])."""

    def __init__(self, channels: int, dilation: int):
        super().__init__(
            channels, channels, (1, 3), padding=(0, dilation), dilation=(1, dilation), groups=channels, bias=False
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        dilation = self.dilation[1]
        if dilation == 1 or x.device.type != "cpu" or not (self.training and torch.is_grad_enabled()):
            return super().forward(x)
        # oneDNN's backward of a dilated depthwise convolution on these small tensors is 3-7x
        # slower than three shifted multiply-adds, and was the largest single cost of a
        # BC-ResNet-3 training step (a fifth of its backward, at dilations 4 and 8).
        # Channels-last, as the convolution's output is, for the norm and 1x1 conv after it.
        return _ShiftedTaps.apply(x.contiguous(memory_format=torch.channels_last), self.weight, dilation)


def _tap_slices(frames: int, shift: int) -> tuple[slice, slice]:
    """(output frames, input frames) that a tap `shift` frames away pairs up inside the window."""
    if shift >= 0:
        return slice(0, max(frames - shift, 0)), slice(shift, frames)
    return slice(-shift, frames), slice(0, max(frames + shift, 0))


class _ShiftedTaps(torch.autograd.Function):
    """out[t] = sum_k w[k] x[t + (k - 1) d], zero outside the window: a 3-tap dilated depthwise
    convolution over the last dim, with the backward written out as the same shifted sums."""

    @staticmethod
    def forward(ctx, x, weight, dilation):
        taps = weight.view(1, -1, 1, weight.shape[-1])
        centre = weight.shape[-1] // 2
        out = x * taps[..., centre : centre + 1]
        for k in range(weight.shape[-1]):
            if k != centre:
                into, source = _tap_slices(x.shape[-1], (k - centre) * dilation)
                out[..., into].addcmul_(x[..., source], taps[..., k : k + 1])
        ctx.save_for_backward(x, weight)
        ctx.dilation = dilation
        return out

    @staticmethod
    def backward(ctx, grad_out):
        x, weight = ctx.saved_tensors
        taps = weight.view(1, -1, 1, weight.shape[-1])
        centre = weight.shape[-1] // 2
        grad_x = grad_out * taps[..., centre : centre + 1]
        grad_w = torch.empty_like(weight)
        for k in range(weight.shape[-1]):
            into, source = _tap_slices(x.shape[-1], (k - centre) * ctx.dilation)
            if k != centre:
                grad_x[..., source].addcmul_(grad_out[..., into], taps[..., k : k + 1])
            grad_w[..., k] = (grad_out[..., into] * x[..., source]).sum(dim=(0, 2, 3)).view(-1, 1, 1)
        return grad_x, grad_w, None


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
            TemporalDepthwiseConv(out_channels, dilation),
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
    def __init__(
        self,
        num_classes: int,
        width: float,
        sample_rate: int,
        spec_augment: dict | None,
        dropout: float,
        mean_normalise: bool,
    ):
        super().__init__()
        self.mean_normalise = mean_normalise
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
        spec = self.features(waves)
        if self.mean_normalise:
            spec = remove_band_mean(spec)
        x = self.neck(self.blocks(self.stem(spec[:, None])))
        return self.head(x.mean(dim=(2, 3)))


def _register(width: float) -> None:
    label = f"{width:g}"

    def factory(
        num_classes: int,
        sample_rate: int = 16000,
        spec_augment: dict | None = None,
        dropout: float = 0.1,
        mean_normalise: bool = False,
    ) -> nn.Module:
        return BCResNet(num_classes, width, sample_rate, spec_augment, dropout, mean_normalise)

    factory.__doc__ = f"BC-ResNet-{label} on 40 log-mel bands (Kim et al. 2021), width x{label}."
    register_model(f"bcresnet-{label}")(factory)


for _width in (1, 1.5, 2, 3, 6, 8):
    _register(_width)
