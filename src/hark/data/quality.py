"""One definition of a silent clip and of a clipped (saturated) one, shared by `hark check`
(before training) and `hark analyze`'s detectors (after it), so that both name the same clips.

Saturation is judged by flat runs at the clip's own peak rather than at full scale: a clip
clipped by a recorder and then turned down sits still at a peak below 1.0, which a full-scale
test misses, while a natural waveform passes through its peak without staying there."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class LevelConfig:
    # RMS below this is a silent clip. Real Speech Commands and FSDD speech clips sit between -45
    # and -15 dBFS; the quietest real noise window we inject (-50 dBFS) is noise, not silence.
    silence_dbfs: float = -60.0
    # A sample within this share of the peak counts as at the peak (int16 rounding of a clip).
    peak_tolerance: float = 0.01
    # Runs this long at the peak are saturation. Share of samples in such runs: at most 0.0020 on
    # 2,552 clean FSDD clips and 0.0008 on 262 real Speech Commands clips; at least 0.0085 on
    # every clip we hard-clipped after a gain of 2.5-8. The bar sits between the two.
    flat_run: int = 3
    clipped_fraction: float = 0.004
    # Below this peak a clip is too quiet for a flat top to mean saturation.
    min_peak: float = 0.05


LEVELS = LevelConfig()


def rms_dbfs(wave: np.ndarray) -> float:
    rms = float(np.sqrt(np.mean(np.square(wave, dtype=np.float64)))) if len(wave) else 0.0
    return 20 * np.log10(rms) if rms > 0 else -np.inf


def is_silent(wave: np.ndarray, config: LevelConfig = LEVELS) -> bool:
    return rms_dbfs(wave) < config.silence_dbfs


def true_runs(mask: np.ndarray) -> list[tuple[int, int]]:
    """[start, end) index runs where `mask` is true."""
    edges = np.diff(np.concatenate([[0], mask.astype(np.int8), [0]]))
    return list(zip(np.flatnonzero(edges == 1), np.flatnonzero(edges == -1), strict=True))


def saturated_fraction(wave: np.ndarray, config: LevelConfig = LEVELS) -> float:
    """Share of samples in runs of >= `flat_run` equal values at the clip's peak."""
    magnitude = np.abs(wave)
    peak = float(magnitude.max(initial=0.0))
    if peak < config.min_peak:
        return 0.0
    at_peak = magnitude >= (1 - config.peak_tolerance) * peak
    flat = np.concatenate([[False], np.abs(np.diff(wave)) <= 1.0 / 32768])
    candidate = at_peak & (flat | np.roll(flat, -1))
    count = sum(end - start for start, end in true_runs(candidate) if end - start >= config.flat_run)
    return count / len(wave)
