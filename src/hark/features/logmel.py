"""Log-mel features computed in torch, so they run on the training device and export to ONNX.
The window, the mel filters and the log are `hark.data.spectrogram`'s, so the numpy pictures of
a clip and the network's input are one computation."""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from hark.data.spectrogram import LOG_OFFSET, MelSettings, hann_window, mel_filters
from hark.features.dft import FactoredMelPower


class LogMel(nn.Module):
    """Waveforms `[B, T]` to log-mel `[B, n_mels, 1 + T // hop_length]` (see `MelSettings`).

    Equal routes to the mel power spectrum: an FFT of the framed signal for training and inference
    in torch (about 4x cheaper on CPU than the alternatives), and, while exporting to ONNX, which
    cannot express complex tensors, a factored DFT as matmuls (`FactoredMelPower`) or, when
    the window is not a whole number of hops, a strided conv1d over a fixed windowed-DFT basis.
    The export test checks that they agree."""

    def __init__(
        self,
        sample_rate: int = 16000,
        n_fft: int = 480,
        win_length: int = 480,
        hop_length: int = 160,
        n_mels: int = 40,
        f_min: float = 20.0,
        f_max: float | None = None,
    ):
        super().__init__()
        self.settings = MelSettings(sample_rate, n_fft, win_length, hop_length, n_mels, f_min, f_max)
        self.sample_rate, self.n_fft, self.hop_length, self.n_mels = sample_rate, n_fft, hop_length, n_mels
        window = hann_window(self.settings)
        angle = 2 * np.pi * np.outer(np.arange(n_fft // 2 + 1), np.arange(n_fft)) / n_fft
        basis = np.concatenate([np.cos(angle) * window, -np.sin(angle) * window])
        # Derived from the constructor arguments, so kept out of checkpoints.
        self.register_buffer("window", torch.tensor(window, dtype=torch.float32), persistent=False)
        self.register_buffer("dft_basis", torch.tensor(basis, dtype=torch.float32)[:, None, :], persistent=False)
        self.register_buffer("mel_filters", torch.tensor(mel_filters(self.settings)), persistent=False)
        # The export's spectrum: small matmuls (features/dft.py), 5x fewer operations than the
        # DFT-basis convolution, which remains for windows that are not a whole number of hops.
        self.factored = (
            FactoredMelPower(window, hop_length, self.mel_filters.numpy())
            if FactoredMelPower.applies(n_fft, hop_length)
            else None
        )

    @classmethod
    def from_settings(cls, settings: MelSettings) -> LogMel:
        return cls(**settings.to_dict())

    @classmethod
    def for_rate(cls, sample_rate: int, n_mels: int, window_ms: float = 30.0, hop_ms: float = 10.0, **kw) -> LogMel:
        """The same time resolution at any sample rate (a 1-s clip always gives 101 frames)."""
        return cls.from_settings(MelSettings.for_rate(sample_rate, n_mels, window_ms, hop_ms, **kw))

    def mel_power(self, waves: torch.Tensor) -> torch.Tensor:
        """`[B, n_mels, frames]` mel-filtered squared magnitudes of centred, zero-padded frames."""
        half = self.n_fft // 2
        padded = F.pad(waves, (half, half))
        if torch.onnx.is_in_onnx_export() and self.factored is not None:
            return self.factored(padded)
        if torch.onnx.is_in_onnx_export():
            real, imag = F.conv1d(padded[:, None, :], self.dft_basis, stride=self.hop_length).chunk(2, dim=1)
            return torch.matmul(self.mel_filters, real.square() + imag.square())
        spectrum = torch.fft.rfft(padded.unfold(-1, self.n_fft, self.hop_length) * self.window)
        power = (spectrum.real.square() + spectrum.imag.square()).transpose(1, 2)
        return torch.matmul(self.mel_filters, power)

    def forward(self, waves: torch.Tensor) -> torch.Tensor:
        # Under AMP a half-precision power spectrum loses the quiet bands that the log exposes.
        with torch.autocast(device_type=waves.device.type, enabled=False):
            return torch.log(self.mel_power(waves.float()) + LOG_OFFSET)
