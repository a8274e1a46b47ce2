"""The export-time power spectrum (factored DFT as matmuls) equals torch's FFT of the frames."""

from __future__ import annotations

import librosa
import pytest
import torch
import torch.nn.functional as F

from hark.features.dft import FactoredPowerSpectrum
from hark.features.logmel import LogMel


@pytest.mark.parametrize("sample_rate", [8000, 16000, 48000])
def test_factored_spectrum_equals_the_fft(sample_rate):
    n, hop = int(sample_rate * 0.03), int(sample_rate * 0.01)
    window = librosa.filters.get_window("hann", n, fftbins=True)
    waves = torch.randn(3, sample_rate, generator=torch.Generator().manual_seed(0))
    padded = F.pad(waves, (n // 2, n // 2))
    if not FactoredPowerSpectrum.applies(n, hop):
        pytest.skip(f"{n}-sample window is not a whole number of {hop}-sample hops")
    expected = torch.fft.rfft(padded.unfold(-1, n, hop) * torch.tensor(window, dtype=torch.float32))
    expected = expected.abs().square().transpose(1, 2)
    got = FactoredPowerSpectrum(window, hop)(padded)
    assert got.shape == expected.shape
    torch.testing.assert_close(got, expected, rtol=1e-4, atol=1e-4 * float(expected.max()))


def test_log_mel_uses_it_only_for_whole_hop_windows():
    assert LogMel.for_rate(16000, 40, window_ms=30.0).factored is not None
    assert LogMel.for_rate(16000, 64, window_ms=25.0).factored is None  # 400 samples, 160-sample hop
