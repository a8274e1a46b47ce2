"""The export-time mel power spectrum (factored DFT as matmuls) equals the mel filters applied to
torch's FFT of the frames."""

from __future__ import annotations

import librosa
import pytest
import torch
import torch.nn.functional as F

from hark.data.spectrogram import MelSettings, mel_filters
from hark.features.dft import FactoredMelPower
from hark.features.logmel import LogMel


@pytest.mark.parametrize("sample_rate", [8000, 16000, 48000])
def test_factored_mel_power_equals_the_fft(sample_rate):
    n, hop = int(sample_rate * 0.03), int(sample_rate * 0.01)
    window = librosa.filters.get_window("hann", n, fftbins=True)
    waves = torch.randn(3, sample_rate, generator=torch.Generator().manual_seed(0))
    padded = F.pad(waves, (n // 2, n // 2))
    if not FactoredMelPower.applies(n, hop):
        pytest.skip(f"{n}-sample window is not a whole number of {hop}-sample hops")
    expected = torch.fft.rfft(padded.unfold(-1, n, hop) * torch.tensor(window, dtype=torch.float32))
    filters = mel_filters(MelSettings.for_rate(sample_rate, 40))
    expected = torch.matmul(torch.tensor(filters), expected.abs().square().transpose(1, 2))
    got = FactoredMelPower(window, hop, filters)(padded)
    assert got.shape == expected.shape
    torch.testing.assert_close(got, expected, rtol=1e-4, atol=1e-4 * float(expected.max()))


def test_log_mel_uses_it_only_for_whole_hop_windows():
    assert LogMel.for_rate(16000, 40, window_ms=30.0).factored is not None
    assert LogMel.for_rate(16000, 64, window_ms=25.0).factored is None  # 400 samples, 160-sample hop
