"""The mel power spectrum of centred frames as a few matmuls, for ONNX export, where complex
tensors and a fast STFT are unavailable (ONNX Runtime's STFT ran 4.2 ms for one 1-s clip at n_fft
480, the DFT as one strided convolution 0.56 ms: 482 x 480 multiply-adds per frame).

Cooley-Tukey with n_fft = N1 * N2, both near sqrt(n_fft): a size-N1 DFT over every N2-th sample
(one matmul for all frames), then per output row k1 one matmul that applies the twiddle factors
and the size-N2 DFT together, for the k2 that give bins up to n_fft / 2 only. At n_fft 480 that is
46k multiply-adds per frame instead of 231k. The bins come out in the order k1 + N1 * k2; the mel
matrix's columns are permuted to match, so no reordering is computed. Frames are cut as
consecutive hop-sized chunks, so n_fft must be a multiple of the hop (the 30 ms window and 10 ms
hop of every hark model are 3 hops). Each step is a plain matmul, an element-wise product or a
small transpose: what runtimes do fast (a Gather that cuts frames and a ReduceSum over a middle
axis each took longer than this whole graph)."""

from __future__ import annotations

import math

import numpy as np
import torch
from torch import nn


def _factor(n: int) -> int:
    return max(d for d in range(1, math.isqrt(n) + 1) if n % d == 0)


def _buffer(module: nn.Module, name: str, value: np.ndarray) -> None:
    # Derived from the constructor arguments, so kept out of checkpoints.
    module.register_buffer(name, torch.tensor(value, dtype=torch.float32), persistent=False)


class FactoredMelPower(nn.Module):
    """`[B, samples]` zero-padded by n_fft // 2 on each side -> `[B, n_mels, frames]`: the
    mel filters `[n_mels, n_fft // 2 + 1]` applied to the power spectrum of windowed frames."""

    def __init__(self, window: np.ndarray, hop_length: int, mel_filters: np.ndarray):
        super().__init__()
        n = len(window)
        self.n_fft, self.hop_length = n, hop_length
        self.n1 = _factor(n)
        self.n2 = n // self.n1
        bins = n // 2 + 1
        self.k2 = (bins - 1) // self.n1 + 1
        k1, n2, k2 = np.arange(self.n1), np.arange(self.n2), np.arange(self.k2)
        first = 2 * np.pi * np.outer(k1, k1) / self.n1  # [k1, n1]
        _buffer(self, "first_cos", np.cos(first))
        _buffer(self, "first_sin", -np.sin(first))
        # Per k1, twiddle and N2-point DFT in one matrix: exp(-i 2 pi n2 (k1 + N1 k2) / N).
        angle = 2 * np.pi * n2[None, :, None] * (k1[:, None, None] + self.n1 * k2[None, None, :]) / n
        cos, sin = np.cos(angle), -np.sin(angle)  # [k1, n2, k2]
        # The real part of the first step times [cos | sin] plus its imaginary part times
        # [-sin | cos] gives [real | imaginary] of the spectrum.
        _buffer(self, "second_from_real", np.concatenate([cos, sin], axis=2))
        _buffer(self, "second_from_imag", np.concatenate([-sin, cos], axis=2))
        _buffer(self, "window", np.asarray(window))
        bin_of = k1[:, None] + self.n1 * k2[None, :]  # [k1, k2]
        filters = np.asarray(mel_filters).T[np.minimum(bin_of, bins - 1)]  # [k1, k2, n_mels]
        _buffer(self, "mel", np.where((bin_of < bins)[..., None], filters, 0.0).reshape(self.n1 * self.k2, -1))

    @staticmethod
    def applies(n_fft: int, hop_length: int) -> bool:
        return n_fft % hop_length == 0

    def forward(self, padded: torch.Tensor) -> torch.Tensor:
        batch, hop, per_frame = padded.shape[0], self.hop_length, self.n_fft // self.hop_length
        n1, n2 = self.n1, self.n2
        frames = 1 + (padded.shape[1] - self.n_fft) // hop
        chunks = padded[:, : (frames + per_frame - 1) * hop].reshape(batch, frames + per_frame - 1, hop)
        x = torch.cat([chunks[:, j : j + frames] for j in range(per_frame)], dim=2) * self.window  # [B, T, n]
        x = x.reshape(batch, frames, n1, n2).transpose(1, 2).reshape(batch, n1, frames * n2)
        real = torch.matmul(self.first_cos, x).reshape(batch, n1, frames, n2)
        imag = torch.matmul(self.first_sin, x).reshape(batch, n1, frames, n2)
        spectrum = torch.matmul(real, self.second_from_real) + torch.matmul(imag, self.second_from_imag)
        re, im = spectrum.split(self.k2, dim=3)  # [B, k1, T, k2] each
        power = (re * re + im * im).transpose(1, 2).reshape(batch, frames, n1 * self.k2)
        return torch.matmul(power, self.mel).transpose(1, 2)
