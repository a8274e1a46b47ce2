"""Per-clip audio detectors that need no model: each gives a score and a boolean flag.

Speech is found by frame energy (RMS over 25 ms frames) against a threshold relative to the clip's own
noise floor and loudest frame, so that a quiet recording and a loud one are judged alike and
a trailing breath or room noise is not mistaken for a word."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from tqdm import tqdm

from hark.data.audio import load_clip
from hark.errors import AudioError

# name -> (score column meaning, flag meaning); the order is the report's order.
DETECTORS: dict[str, tuple[str, str]] = {
    "cutoff": ("loudness of the clip's last 50 ms relative to its speech (0-1)", "speech runs into the end of the clip"),
    "multiword": ("longest pause between two strong speech segments (s)", "two or more words"),
    "no_speech": ("1 - speech-to-floor range / 30 dB (0-1)", "no speech"),
    "clipping": ("fraction of samples in flat runs at the peak", "clipped (saturated)"),
    "low_snr": ("estimated speech-to-noise ratio (dB; low is bad)", "low signal-to-noise ratio"),
    "dc_offset": ("absolute mean of the waveform", "DC offset"),
    "length": ("clip length (s)", "unusual length"),
}
EXTRA_COLUMNS = ("onset_s", "offset_s")


@dataclass
class DetectorConfig:
    sample_rate: int = 16000
    frame_s: float = 0.025
    hop_s: float = 0.010
    floor_percentile: float = 10.0
    # A frame is speech when it is this far above the noise floor and within `speech_range_db`
    # of the loudest frame.
    activity_margin_db: float = 12.0
    speech_range_db: float = 35.0
    # Dips shorter than this are inside one word (stop closures: "six", "eight", "happy").
    merge_gap_s: float = 0.12
    min_segment_s: float = 0.06
    # A second word must be nearly as loud as the first to count.
    strong_segment_db: float = 12.0
    multiword_pause_s: float = 0.2
    # A shorter pause also parts two words when both sides are word-long; `word_gap_s` is just
    # above `merge_gap_s`, the longest dip taken as a stop closure inside one word.
    word_gap_s: float = 0.13
    min_word_s: float = 0.15
    tail_s: float = 0.05
    cutoff_level: float = 0.65
    late_onset_s: float = 0.15
    min_speech_range_db: float = 8.0
    silence_dbfs: float = -55.0
    clip_flat_run: int = 3
    clip_fraction: float = 0.002
    low_snr_db: float = 10.0
    dc_offset: float = 0.02
    min_length_s: float = 0.35
    expected_length_s: float = 1.0


def frame_rms(wave: np.ndarray, frame: int, hop: int) -> np.ndarray:
    """RMS of each full frame (as librosa.feature.rms with center=False, without its start-up
    cost); a clip shorter than one frame is one frame."""
    if len(wave) < frame:
        return np.sqrt(np.mean(np.square(wave, dtype=np.float64), keepdims=True))
    frames = np.lib.stride_tricks.sliding_window_view(wave, frame)[::hop]
    return np.sqrt(np.mean(np.square(frames, dtype=np.float64), axis=1))


def _db(x: np.ndarray) -> np.ndarray:
    return 20.0 * np.log10(np.maximum(x, 1e-7))


def _segments(active: np.ndarray) -> list[tuple[int, int]]:
    """[start, end) frame runs where `active` is true."""
    edges = np.diff(np.concatenate([[0], active.astype(np.int8), [0]]))
    return list(zip(np.flatnonzero(edges == 1), np.flatnonzero(edges == -1)))


def _merge(segments: list[tuple[int, int]], gap: int, min_frames: int) -> list[list[int]]:
    """Segments joined across dips of at most `gap` frames, then those shorter than `min_frames`
    dropped (all but the first, when none is long enough)."""
    merged: list[list[int]] = []
    for start, end in segments:
        if merged and start - merged[-1][1] <= gap:
            merged[-1][1] = end
        else:
            merged.append([start, end])
    return [s for s in merged if s[1] - s[0] >= min_frames] or merged[:1]


def _word_pauses(level: np.ndarray, segments: list[tuple[int, int]], peak: float, config: DetectorConfig) -> tuple[float, bool]:
    """(longest pause between two strong speech segments in s, whether some pause parts two
    words): a long pause always does, a short one only between two word-long segments."""
    word_gap, min_word = (int(round(seconds / config.hop_s)) for seconds in (config.word_gap_s, config.min_word_s))
    long_pause = int(round(config.multiword_pause_s / config.hop_s))
    parts = _merge(segments, word_gap - 1, int(round(config.min_segment_s / config.hop_s)))
    strong = [s for s in parts if level[s[0]:s[1]].max() >= peak - config.strong_segment_db]
    longest, parted = 0, False
    for a, b in zip(strong, strong[1:]):
        pause = b[0] - a[1]
        longest = max(longest, pause)
        parted |= pause >= long_pause or min(a[1] - a[0], b[1] - b[0]) >= min_word
    return longest * config.hop_s, parted


def _clipped_fraction(wave: np.ndarray, flat_run: int) -> float:
    """Samples in runs of >= `flat_run` equal values at (or within 1% of) the peak: a natural
    waveform never sits still at its maximum, a saturated one does."""
    magnitude = np.abs(wave)
    peak = float(magnitude.max(initial=0.0))
    if peak < 0.05:
        return 0.0
    at_peak = magnitude >= 0.99 * peak
    flat = np.concatenate([[False], np.abs(np.diff(wave)) <= 1.0 / 32768])
    candidate = at_peak & (flat | np.roll(flat, -1))
    count = sum(end - start for start, end in _segments(candidate) if end - start >= flat_run)
    return count / len(wave)


def _snr_db(rms: np.ndarray, active: np.ndarray) -> float:
    """Speech power over the power of the frames between words, both from frame RMS."""
    noise = float(np.mean(rms[~active] ** 2)) if (~active).any() else float(np.min(rms) ** 2)
    speech = float(np.mean(rms[active] ** 2)) if active.any() else noise
    return float(10.0 * np.log10(max(speech - noise, 1e-12) / max(noise, 1e-12)))


def detect_wave(wave: np.ndarray, config: DetectorConfig = DetectorConfig()) -> dict[str, float | bool]:
    """Every detector's score and flag for one waveform, plus speech onset/offset in seconds."""
    sr = config.sample_rate
    length_s = len(wave) / sr
    dc = float(np.mean(wave)) if len(wave) else 0.0
    centred = wave - dc
    frame, hop = int(config.frame_s * sr), int(config.hop_s * sr)
    rms = frame_rms(centred, frame, hop)
    level = _db(rms)
    floor = float(np.percentile(level, config.floor_percentile))
    peak = float(level.max())
    speech_range = peak - floor
    # In a noisy clip the margin shrinks so that speech a few dB above the noise still counts.
    margin = min(config.activity_margin_db, speech_range / 2)
    threshold = max(floor + margin, peak - config.speech_range_db)
    has_speech = speech_range >= config.min_speech_range_db and peak >= config.silence_dbfs
    merge = int(round(config.merge_gap_s / config.hop_s))
    min_frames = int(round(config.min_segment_s / config.hop_s))

    segments = _segments(level >= threshold) if has_speech else []
    merged = _merge(segments, merge, min_frames)
    pause_s, parted = _word_pauses(level, segments, peak, config) if segments else (0.0, False)

    onset_s = merged[0][0] * config.hop_s if merged else 0.0
    offset_s = min(length_s, (merged[-1][1] - 1) * config.hop_s + config.frame_s) if merged else 0.0
    tail = level[-max(1, int(round(config.tail_s / config.hop_s))):]
    end_level = float(np.clip((tail.mean() - floor) / max(speech_range, 1e-6), 0.0, 1.0)) if has_speech else 0.0
    runs_to_end = bool(merged) and merged[-1][1] >= len(level) - 1
    late_start = has_speech and onset_s >= length_s - config.late_onset_s
    snr_db = _snr_db(rms, level >= threshold) if has_speech else 0.0
    clipped = _clipped_fraction(wave, config.clip_flat_run)

    return {
        "score_cutoff": end_level,
        "flag_cutoff": bool(has_speech and ((runs_to_end and end_level >= config.cutoff_level) or late_start)),
        "score_multiword": float(pause_s),
        "flag_multiword": bool(has_speech and parted),
        "score_no_speech": float(np.clip(1.0 - speech_range / 30.0, 0.0, 1.0)),
        # Saturation flattens the loudness range that the verdict rests on.
        "flag_no_speech": not has_speech and clipped < config.clip_fraction,
        "score_clipping": float(clipped),
        "flag_clipping": bool(clipped >= config.clip_fraction),
        "score_low_snr": float(snr_db),
        "flag_low_snr": bool(has_speech and snr_db < config.low_snr_db),
        "score_dc_offset": abs(dc),
        "flag_dc_offset": bool(abs(dc) >= config.dc_offset),
        "score_length": float(length_s),
        "flag_length": bool(length_s < config.min_length_s or length_s > 1.05 * config.expected_length_s),
        "onset_s": float(onset_s),
        "offset_s": float(offset_s),
    }


def detector_columns() -> list[str]:
    return [f"{kind}_{name}" for name in DETECTORS for kind in ("score", "flag")] + list(EXTRA_COLUMNS)


def detect_clips(root, paths: list[str], config: DetectorConfig = DetectorConfig(), progress: bool = True) -> tuple[pd.DataFrame, list[str]]:
    """Detector columns for every clip (one row per path, in order) and the clips that could not
    be read; an unreadable clip gets NaN scores and no flags instead of stopping the analysis."""
    rows, problems = [], []
    empty = {c: (False if c.startswith("flag_") else np.nan) for c in detector_columns()}
    for path in tqdm(paths, desc="audio detectors", unit="clip", disable=not progress):
        # `path#N` windows are 1 s cuts of longer files; whole files are judged at their own length.
        length = int(config.expected_length_s * config.sample_rate) if "#" in path else None
        try:
            wave = load_clip(root, path, config.sample_rate, length)
        except AudioError as err:
            problems.append(str(err))
            rows.append(empty)
            continue
        rows.append(detect_wave(wave, config))
    return pd.DataFrame(rows, columns=detector_columns()), problems
