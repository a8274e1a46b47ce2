"""Per-clip audio detectors that need no model: each gives a score and a boolean flag.

Speech is found by frame energy (RMS over 25 ms frames) against a threshold relative to the
clip's own noise floor and loudest frame, so that a quiet recording and a loud one are judged
alike; whether there is speech at all is decided by voicing (a pitch period in the frame's
autocorrelation), because real noise (a tap, dishes, a fan) can be as loud and as uneven as a
word but has no pitch. Silence and saturation are `hark.data.quality`'s, as `hark check` has them.

Every setting lives in `DetectorConfig`, chosen on real speech (`benchmarks/bench_analysis_real.py`:
FSDD, 8 kHz, trimmed so that speech touches both ends, and the Speech Commands mini set, 16 kHz)
with faults injected by code independent of `hark.synth`."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from tqdm import tqdm

from hark.data.audio import content_hash, load_native, pad_or_crop, resample
from hark.data.quality import LEVELS, LevelConfig, is_silent, saturated_fraction, true_runs
from hark.errors import AudioError
from hark.schema import DETECTORS, FLAG_PREFIX, OFFSET, ONSET, WINDOW_MARK, detector_columns, window_of


@dataclass
class DetectorConfig:
    sample_rate: int = 16000
    # Silence and saturation, shared with `hark check`.
    levels: LevelConfig = field(default_factory=lambda: LEVELS)
    frame_s: float = 0.025
    hop_s: float = 0.010
    floor_percentile: float = 10.0
    # A frame is speech when it is this far above the noise floor and within `speech_range_db` of
    # the loudest frame; the margin shrinks to half the clip's range in noisy clips.
    activity_margin_db: float = 12.0
    speech_range_db: float = 35.0
    # Voicing: the autocorrelation peak over pitch lags of 60-400 Hz (adult and child voices),
    # relative to lag 0, on 40 ms frames (two periods of the lowest pitch). Measured: the 40 real
    # noise windows of FSDD's benchmark (6 noise files, 4 levels, 3 loudness profiles) have a
    # median of 0 frames above 0.5 within 25 dB of their peak; 95% of clean FSDD and Speech
    # Commands words have 8 or more.
    voicing_frame_s: float = 0.04
    pitch_min_hz: float = 60.0
    pitch_max_hz: float = 400.0
    voicing_threshold: float = 0.5
    voicing_range_db: float = 25.0
    # Fewer voiced frames than this: no speech. At 1, FSDD no-speech F1 0.68 and Speech Commands
    # 0.82; at 2 or more, cut-off clips whose kept part is a short consonant start to count
    # (FSDD precision falls from 0.61 to 0.44).
    min_voiced_frames: int = 1
    # Dips shorter than this are inside one word (stop closures: "six", "eight", "happy").
    merge_gap_s: float = 0.12
    min_segment_s: float = 0.06
    # A second word must be nearly as loud as the first to count.
    strong_segment_db: float = 12.0
    multiword_pause_s: float = 0.2
    # A shorter pause also parts two words when both sides are word-long; just above
    # `merge_gap_s`, the longest dip taken as a stop closure inside one word.
    word_gap_s: float = 0.13
    min_word_s: float = 0.15
    # Cut-off: the last `tail_s` of the clip still carries speech. The level of that tail is
    # expressed 0-1 between the clip's floor and its peak; a word that ends naturally decays
    # towards the floor first. On FSDD (trimmed, so clean words also touch the end) 0.65 gave
    # F1 0.81 against tail-level-only rules (at most 0.77 over -6 to -14 dB below the peak).
    tail_s: float = 0.05
    cutoff_level: float = 0.65
    late_onset_s: float = 0.15
    low_snr_db: float = 10.0
    dc_offset: float = 0.02
    # Shorter than any whole word: an odd length, and, without a voiced frame, a word fragment.
    min_length_s: float = 0.35
    # Sound without a voiced frame that runs into the end in less than this: a word's unvoiced
    # start ("s", "sh", "f" and a stop's burst last about 0.1-0.2 s) cut by the window's end.
    # Bounds of 0.15-0.35 s looked at on all three real sets; 0.2-0.25 gained the most, from 0.3 s
    # on the rule takes noise windows that fade in.
    fragment_s: float = 0.25
    expected_length_s: float = 1.0
    # Longer than this share of `expected_length_s` is an odd length (a rounding margin).
    max_length_ratio: float = 1.05
    # Lowest level (dB) a frame RMS of zero is given.
    db_floor: float = -140.0


def frame_rms(wave: np.ndarray, frame: int, hop: int) -> np.ndarray:
    """RMS of each full frame (as librosa.feature.rms with center=False, without its start-up
    cost); a clip shorter than one frame is one frame."""
    if len(wave) < frame:
        return np.sqrt(np.mean(np.square(wave, dtype=np.float64), keepdims=True))
    frames = np.lib.stride_tricks.sliding_window_view(wave, frame)[::hop]
    return np.sqrt(np.mean(np.square(frames, dtype=np.float64), axis=1))


def periodicity(wave: np.ndarray, config: DetectorConfig) -> np.ndarray:
    """Per hop: the normalised autocorrelation peak over pitch lags (1 = perfectly periodic)."""
    sr = config.sample_rate
    frame, hop = int(config.voicing_frame_s * sr), int(config.hop_s * sr)
    wave = np.pad(wave, (0, max(0, frame - len(wave))))
    frames = np.lib.stride_tricks.sliding_window_view(wave, frame)[::hop] * np.hanning(frame)
    spectrum = np.fft.rfft(frames, 2 * frame)
    autocorrelation = np.fft.irfft(np.abs(spectrum) ** 2, 2 * frame)[:, :frame]
    low, high = int(sr / config.pitch_max_hz), min(frame - 1, int(sr / config.pitch_min_hz))
    return autocorrelation[:, low : high + 1].max(axis=1) / np.maximum(autocorrelation[:, 0], 1e-12)


def _db(x: np.ndarray, floor: float) -> np.ndarray:
    return 20.0 * np.log10(np.maximum(x, 10 ** (floor / 20)))


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


def _frames(seconds: float, config: DetectorConfig) -> int:
    return int(round(seconds / config.hop_s))


def _word_pauses(
    level: np.ndarray, segments: list[tuple[int, int]], peak: float, config: DetectorConfig
) -> tuple[float, bool]:
    """(longest pause between two strong speech segments in s, whether some pause parts two
    words): a long pause always does, a short one only between two word-long segments."""
    word_gap, min_word, long_pause = (
        _frames(s, config) for s in (config.word_gap_s, config.min_word_s, config.multiword_pause_s)
    )
    parts = _merge(segments, word_gap - 1, _frames(config.min_segment_s, config))
    strong = [s for s in parts if level[s[0] : s[1]].max() >= peak - config.strong_segment_db]
    longest, parted = 0, False
    for a, b in zip(strong, strong[1:], strict=False):
        pause = b[0] - a[1]
        longest = max(longest, pause)
        parted |= pause >= long_pause or min(a[1] - a[0], b[1] - b[0]) >= min_word
    return longest * config.hop_s, parted


def _snr_db(rms: np.ndarray, active: np.ndarray) -> float:
    """Speech power over the power of the frames between words, both from frame RMS."""
    noise = float(np.mean(rms[~active] ** 2)) if (~active).any() else float(np.min(rms) ** 2)
    speech = float(np.mean(rms[active] ** 2)) if active.any() else noise
    return float(10.0 * np.log10(max(speech - noise, 1e-12) / max(noise, 1e-12)))


def voiced_frames(wave: np.ndarray, level: np.ndarray, peak: float, config: DetectorConfig) -> int:
    voicing = periodicity(wave, config)
    n = min(len(voicing), len(level))
    return int(((voicing[:n] >= config.voicing_threshold) & (level[:n] >= peak - config.voicing_range_db)).sum())


def detect_wave(wave: np.ndarray, config: DetectorConfig = DetectorConfig()) -> dict[str, float | bool]:
    """Every detector's score and flag for one waveform, plus speech onset/offset in seconds."""
    sr = config.sample_rate
    length_s = len(wave) / sr
    dc = float(np.mean(wave)) if len(wave) else 0.0
    centred = wave - dc
    frame, hop = int(config.frame_s * sr), int(config.hop_s * sr)
    rms = frame_rms(centred, frame, hop)
    level = _db(rms, config.db_floor)
    floor = float(np.percentile(level, config.floor_percentile))
    peak = float(level.max())
    speech_range = peak - floor
    margin = min(config.activity_margin_db, speech_range / 2)
    threshold = max(floor + margin, peak - config.speech_range_db)
    voiced = voiced_frames(centred, level, peak, config) if len(wave) else 0
    silent = is_silent(centred, config.levels)
    clipped = saturated_fraction(wave, config.levels)
    is_clipped = clipped >= config.levels.clipped_fraction
    has_speech = not silent and voiced >= config.min_voiced_frames
    segments = true_runs(level >= threshold) if not silent else []
    merged = _merge(segments, _frames(config.merge_gap_s, config), _frames(config.min_segment_s, config))
    # Sound without a voiced frame, stored alone in less time than any whole word takes or
    # running into the end in less than a word's unvoiced start: what is left of a word whose
    # voiced part was cut away (the "s" of "six"), not a clip without speech. On real speech
    # every clip of the benchmark that only the first test flags was a cut-off (10 on FSDD, 2 on
    # Speech Commands), and so was every one only the second flags (3 on FSDD, 4 on SC v0.01, one
    # of them a "clean" recording whose "four" starts 0.2 s before the window's end).
    reaches_end = bool(merged) and merged[-1][1] >= len(level) - 1
    cut_start = reaches_end and (merged[-1][1] - merged[0][0]) * config.hop_s < config.fragment_s
    fragment = not silent and not has_speech and not is_clipped and (length_s < config.min_length_s or cut_start)
    if not has_speech:  # onset, offset and pauses are speech's
        segments, merged = [], []
    pause_s, parted = _word_pauses(level, segments, peak, config) if segments else (0.0, False)

    onset_s = merged[0][0] * config.hop_s if merged else 0.0
    offset_s = min(length_s, (merged[-1][1] - 1) * config.hop_s + config.frame_s) if merged else 0.0
    tail = level[-max(1, _frames(config.tail_s, config)) :]
    heard = has_speech or fragment
    end_level = float(np.clip((tail.mean() - floor) / max(speech_range, 1e-6), 0.0, 1.0)) if heard else 0.0
    runs_to_end = has_speech and reaches_end
    late_start = has_speech and onset_s >= length_s - config.late_onset_s
    snr_db = _snr_db(rms, level >= threshold) if has_speech else 0.0
    flags = {
        # Two words explain a clip: the second of two words squeezed into one window often runs into
        # its end. Counting those as cut off too took precision from the cut-off flag on every real
        # set (FSDD 0.85 -> 0.90 without them) and no true cut-off was flagged as several words.
        "cutoff": fragment
        or bool(has_speech and not parted and ((runs_to_end and end_level >= config.cutoff_level) or late_start)),
        "multiword": bool(has_speech and parted),
        # Saturation hides the pitch that the verdict rests on.
        "no_speech": not has_speech and not fragment and not is_clipped,
        "clipping": bool(is_clipped),
        "low_snr": bool(has_speech and snr_db < config.low_snr_db),
        "dc_offset": bool(abs(dc) >= config.dc_offset),
        "length": bool(length_s < config.min_length_s or length_s > config.max_length_ratio * config.expected_length_s),
    }
    scores = {
        "cutoff": end_level,
        "multiword": float(pause_s),
        "no_speech": float(voiced),
        "clipping": float(clipped),
        "low_snr": float(snr_db),
        "dc_offset": abs(dc),
        "length": float(length_s),
    }
    result: dict[str, float | bool] = {}
    for detector in DETECTORS:
        result[detector.score_column] = scores[detector.name]
        result[detector.flag_column] = flags[detector.name]
    result[ONSET], result[OFFSET] = float(onset_s), float(offset_s)
    return result


def detect_clips(
    root, paths: list[str], config: DetectorConfig = DetectorConfig(), progress: bool = True
) -> tuple[pd.DataFrame, list[str], list[str | None]]:
    """Detector columns for every clip (one row per path, in order), the clips that could not be
    read, and each clip's content hash (`hark check`'s, so that both commands name the same
    duplicates), from one decode per clip. An unreadable clip gets NaN scores, no flags and no
    hash instead of stopping the analysis."""
    rows, problems, hashes = [], [], []
    empty = {c: (False if c.startswith(FLAG_PREFIX) else np.nan) for c in detector_columns()}
    for path in tqdm(paths, desc="audio detectors", unit="clip", disable=not progress):
        # `path#N` windows are 1 s cuts of longer files; whole files and bounded `#N-M` windows
        # are judged at their own length.
        unbounded_window = WINDOW_MARK in path and window_of(path)[2] is None
        try:
            native, rate = load_native(root, path, max(1.0, config.expected_length_s))
        except AudioError as err:
            problems.append(str(err))
            rows.append(empty)
            hashes.append(None)
            continue
        wave = resample(native, rate, config.sample_rate)
        if unbounded_window:
            # the hash is of the 1 s the model hears, whatever length the detectors judge
            native = pad_or_crop(native, rate)
            wave = pad_or_crop(wave, int(config.expected_length_s * config.sample_rate))
        hashes.append(content_hash(native))
        rows.append(detect_wave(wave, config))
    return pd.DataFrame(rows, columns=detector_columns()), problems, hashes
