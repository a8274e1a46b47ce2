"""The power spectrum of centred frames as small matmuls, for ONNX export, where complex tensors
and a fast STFT are unavailable (ONNX Runtime's STFT ran 4.2 ms for one 1-s clip at n_fft 480,
the DFT as one strided convolution 0.56 ms: 482 x 480 multiply-adds per frame).

Cooley-Tukey with n_fft = N1 * N2, both near sqrt(n_fft): a size-N1 DFT over every N2-th sample,
then per output row k1 one matmul that applies the twiddle factors and the size-N2 DFT together,
for the k2 that give bins up to n_fft / 2 only. At n_fft 480 that is 46k multiply-adds per
frame instead of 231k. Frames are cut as consecutive hop-sized chunks, so n_fft must be a
multiple of the hop (the 30 ms window and 10 ms hop of every hark model are 3 hops)."""

from __future__ import annotations

import math

import numpy as np
import torch
from torch import nn


def _factor(n: int) -> int:
    return max(d for d in range(1, math.isqrt(n) + 1) if n % d == 0)


class FactoredPowerSpectrum(nn.Module):
    """`[B, samples]` zero-padded by n_fft // 2 on each side -> `[B, n_fft // 2 + 1, frames]`."""

    def __init__(self, window: np.ndarray, hop_length: int):
        super().__init__()
        n = len(window)
        self.n_fft, self.hop_length = n, hop_length
        self.n1 = _factor(n)
        self.n2 = n // self.n1
        self.bins = n // 2 + 1
        self.k2 = (self.bins - 1) // self.n1 + 1
        k1, n2, k2 = np.arange(self.n1), np.arange(self.n2), np.arange(self.k2)
        first = 2 * np.pi * np.outer(k1, k1) / self.n1  # [k1, n1]
        twiddle = 2 * np.pi * np.outer(k1, n2) / n  # [k1, n2]
        second = 2 * np.pi * np.outer(n2, k2) / self.n2  # [n2, k2]
        cos, sin = np.cos(second), -np.sin(second)  # W = exp(-i angle) = cos + i * sin
        self.register_buffer("window", torch.tensor(window, dtype=torch.float32), persistent=False)
        # rows: real parts of the N1-point DFT, then imaginary parts
        self.register_buffer(
            "step1",
            torch.tensor(np.concatenate([np.cos(first), -np.sin(first)]), dtype=torch.float32),
            persistent=False,
        )
        self.register_buffer("twiddle_cos", torch.tensor(np.cos(twiddle), dtype=torch.float32), persistent=False)
        self.register_buffer("twiddle_sin", torch.tensor(-np.sin(twiddle), dtype=torch.float32), persistent=False)
        # [Z real | Z imaginary] over n2 -> [X real | X imaginary] over k2
        self.register_buffer(
            "step2", torch.tensor(np.block([[cos, sin], [-sin, cos]]), dtype=torch.float32), persistent=False
        )

    @staticmethod
    def applies(n_fft: int, hop_length: int) -> bool:
        return n_fft % hop_length == 0

    def forward(self, padded: torch.Tensor) -> torch.Tensor:
        batch, hop, per_frame = padded.shape[0], self.hop_length, self.n_fft // self.hop_length
        frames = 1 + (padded.shape[1] - self.n_fft) // hop
        chunks = padded[:, : (frames + per_frame - 1) * hop].reshape(batch, frames + per_frame - 1, hop)
        x = torch.cat([chunks[:, j : j + frames] for j in range(per_frame)], dim=2) * self.window  # [B, T, n]
        y = torch.matmul(self.step1, x.reshape(batch, frames, self.n1, self.n2))  # [B, T, 2 k1, n2]
        # Only plain matmuls, element-wise products and small transposes: what runtimes do fast.
        real, imag = y[:, :, : self.n1], y[:, :, self.n1 :]
        z = torch.cat(
            [real * self.twiddle_cos - imag * self.twiddle_sin, real * self.twiddle_sin + imag * self.twiddle_cos],
            dim=3,
        )  # [B, T, k1, 2 n2]
        out = torch.matmul(z, self.step2)  # [B, T, k1, 2 k2]
        power = out[..., : self.k2].square() + out[..., self.k2 :].square()  # [B, T, k1, k2]; bin k1 + n1 k2
        power = power.transpose(2, 3).reshape(batch, frames, self.k2 * self.n1)[:, :, : self.bins]
        return power.transpose(1, 2)
