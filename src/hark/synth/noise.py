"""The generated `_background_noise_/` folder: long noise recordings of several colours, mixed
into the clips and shipped beside them for augmentation, as in the real dataset."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from hark.data.audio import read_audio, write_wav

NOISE_DIR = "_background_noise_"
NOISE_SECONDS = 30
NOISE_RMS = 0.1


def _shaped(rng: np.random.Generator, n: int, rate: int, gain) -> np.ndarray:
    """White noise whose spectrum is multiplied by `gain(freqs)` (freqs in Hz, DC excluded)."""
    spectrum = np.fft.rfft(rng.standard_normal(n))
    freqs = np.fft.rfftfreq(n, 1.0 / rate)
    shape = np.zeros_like(freqs)
    shape[1:] = gain(freqs[1:])
    return np.fft.irfft(spectrum * shape, n)


def _slow_envelope(rng: np.random.Generator, n: int, rate: int, hz: float) -> np.ndarray:
    """A smooth random envelope in [0, 1] varying at about `hz`, like syllables or gusts."""
    points = rng.random(int(n / rate * hz) + 2)
    return np.interp(np.linspace(0, len(points) - 1, n), np.arange(len(points)), points)


def _hum(rng: np.random.Generator, n: int, rate: int) -> np.ndarray:
    """Mains hum (50 or 60 Hz and odd harmonics) over a little hiss, like a cheap microphone."""
    t = np.arange(n) / rate
    base = rng.choice([50.0, 60.0])
    tone = sum(np.sin(2 * np.pi * base * k * t + rng.uniform(0, 2 * np.pi)) / k for k in (1, 3, 5, 7))
    return tone + 0.05 * rng.standard_normal(n)


def _babble(rng: np.random.Generator, n: int, rate: int) -> np.ndarray:
    """Crowd-like noise: several speech-band streams, each swelling at a syllabic rate. Band
    noise, not speech, so that a clip filed as silent never hides a word in its background."""
    band = lambda f: ((f > 200) & (f < 3500)) / np.sqrt(np.maximum(f, 200) / 200)  # noqa: E731
    return sum(_shaped(rng, n, rate, band) * (0.3 + _slow_envelope(rng, n, rate, rng.uniform(3, 6))) for _ in range(6))


NOISE_KINDS = {
    "white_noise": lambda rng, n, rate: rng.standard_normal(n),
    "pink_noise": lambda rng, n, rate: _shaped(rng, n, rate, lambda f: 1 / np.sqrt(f)),
    "brown_noise": lambda rng, n, rate: _shaped(rng, n, rate, lambda f: 1 / np.maximum(f, 20)),
    "hum": _hum,
    "babble": _babble,
}


def write_background_noise(out: Path, seed: int, sample_rate: int = 16000) -> list[Path]:
    """Write every kind of noise under `out/_background_noise_/`, each at the same RMS."""
    paths = []
    for index, (name, make) in enumerate(NOISE_KINDS.items()):
        rng = np.random.default_rng([seed, 0x401 + index])
        wave = make(rng, NOISE_SECONDS * sample_rate, sample_rate)
        wave = (wave * (NOISE_RMS / np.sqrt(np.mean(wave**2)))).astype(np.float32)
        path = out / NOISE_DIR / f"{name}.wav"
        write_wav(path, wave, sample_rate)
        paths.append(path)
    return paths


def load_background_noise(paths: list[Path]) -> list[np.ndarray]:
    return [read_audio(p)[0] for p in paths]
