"""Each detector on real recordings: a clean clip is not flagged, the same clip with the fault
made into it is (written to and read back from WAV files)."""

from __future__ import annotations

import numpy as np
import pytest

from hark.analysis.detectors import detect_clips
from hark.schema import DETECTORS
from hark.data.audio import load_clip, write_wav
from test_analysis_fakes import MINI, SR, cut_off

CLEAN = "no/08ab231c_nohash_1.wav"  # one word, 0.14-0.58 s, quiet background
SHORT_WORD = "left/5828dfa2_nohash_0.wav"  # one short word, 0.15-0.37 s


@pytest.fixture
def clean(shared_data):
    return load_clip(shared_data / MINI, CLEAN, SR, None)


def _detect(tmp_path, wave, name="clip.wav"):
    write_wav(tmp_path / name, wave)
    frame, problems, _ = detect_clips(tmp_path, [name], progress=False)
    assert not problems
    return frame.iloc[0]


def _faulted(shared_data, clean, fault):
    noise_gap = np.resize(clean[:800], int(0.25 * SR))
    if fault == "cutoff":
        return cut_off(clean)
    if fault == "multiword":
        first = load_clip(shared_data / MINI, SHORT_WORD, SR, None)[int(0.12 * SR) : int(0.40 * SR)]
        return np.concatenate([first, noise_gap, clean[int(0.12 * SR) : int(0.59 * SR)]])
    if fault == "no_speech":
        noise = load_clip(shared_data / MINI, "_background_noise_/running_tap.wav", SR, None)
        return 0.3 * noise[SR : 2 * SR]
    if fault == "clipping":
        return np.clip(clean * (4.0 / np.abs(clean).max()), -1.0, 1.0)
    if fault == "low_snr":  # white noise 5 dB below the speech
        speech = clean[int(0.14 * SR) : int(0.58 * SR)]
        noise = np.random.default_rng(0).standard_normal(len(clean)).astype(np.float32)
        return clean + 10 ** (-5 / 20) * np.sqrt(np.mean(speech**2)) * noise
    if fault == "dc_offset":
        return clean + 0.1
    if fault == "length":
        return clean[: int(0.25 * SR)]
    raise AssertionError(fault)


def test_clean_clip_has_no_flag(tmp_path, clean):
    row = _detect(tmp_path, clean)
    assert not any(row[f"flag_{name}"] for name in (d.name for d in DETECTORS)), row.to_dict()
    assert 0.05 <= row["onset_s"] <= 0.25 and 0.45 <= row["offset_s"] <= 0.7


@pytest.mark.parametrize("fault", [d.name for d in DETECTORS])
def test_each_fault_raises_its_flag(tmp_path, shared_data, clean, fault):
    row = _detect(tmp_path, _faulted(shared_data, clean, fault))
    assert row[f"flag_{fault}"], row.to_dict()
    if fault in ("cutoff", "multiword"):  # the speech faults must not be mistaken for each other
        other = "multiword" if fault == "cutoff" else "cutoff"
        assert not row[f"flag_{other}"], row.to_dict()


def test_two_words_whose_second_runs_into_the_end_are_several_words_not_a_cut_off(tmp_path, shared_data, clean):
    """Two words squeezed into one window: the second often ends in the window's end; the clip is
    explained by holding two words."""
    first = load_clip(shared_data / MINI, SHORT_WORD, SR, None)[int(0.12 * SR) : int(0.40 * SR)]
    second = clean[int(0.12 * SR) : int(0.40 * SR)]  # "no" stopped mid-vowel
    wave = np.concatenate(
        [np.resize(clean[:800], int(0.3 * SR)), first, np.resize(clean[:800], int(0.25 * SR)), second]
    )
    row = _detect(tmp_path, wave)
    assert row["flag_multiword"] and not row["flag_cutoff"], row.to_dict()
    assert row["score_cutoff"] >= 0.65  # the tail alone would have called it cut off


def test_digital_silence_is_no_speech(tmp_path):
    row = _detect(tmp_path, np.zeros(SR, np.float32))
    assert row["flag_no_speech"] and not row["flag_cutoff"] and not row["flag_multiword"]


@pytest.mark.parametrize(
    ("clip", "start_s", "end_s"),
    [("stop/856eb138_nohash_1.wav", 0.17, 0.39), ("sheila/0135f3f2_nohash_0.wav", 0.2, 0.31)],
)
def test_an_unvoiced_word_start_stored_alone_is_a_cut_off_not_no_speech(tmp_path, shared_data, clip, start_s, end_s):
    """The "s" of "stop", the "sh" of "sheila": sound without a voiced frame, shorter than a word."""
    wave = load_clip(shared_data / MINI, clip, SR, None)
    row = _detect(tmp_path, wave[int(start_s * SR) : int(end_s * SR)])
    assert row["flag_cutoff"] and not row["flag_no_speech"], row.to_dict()
    assert row["score_no_speech"] == 0  # no voiced frame: the rule, not the voicing, decided


@pytest.mark.parametrize(
    ("clip", "start_s", "end_s"),
    [("stop/856eb138_nohash_1.wav", 0.17, 0.39), ("sheila/0135f3f2_nohash_0.wav", 0.2, 0.31)],
)
def test_an_unvoiced_word_start_at_the_end_of_a_whole_window_is_a_cut_off(tmp_path, shared_data, clip, start_s, end_s):
    """The same fragments at the end of a 1-s window, after the recording's own quiet: a word cut
    by the window's end. Followed by that quiet instead, nothing says that a word was cut; nor
    does half a second of noise without pitch running into the end, longer than a word's start."""
    wave = load_clip(shared_data / MINI, clip, SR, None)
    fragment = wave[int(start_s * SR) : int(end_s * SR)]
    quiet = np.resize(wave[: int(0.1 * SR)], SR - len(fragment))
    at_end = _detect(tmp_path, np.concatenate([quiet, fragment]), "at_end.wav")
    assert at_end["flag_cutoff"] and not at_end["flag_no_speech"], at_end.to_dict()
    half = len(quiet) // 2
    inside = _detect(tmp_path, np.concatenate([quiet[:half], fragment, quiet[half:]]), "inside.wav")
    assert not inside["flag_cutoff"] and inside["flag_no_speech"], inside.to_dict()
    noise = load_clip(shared_data / MINI, "_background_noise_/white_noise.wav", SR, None)[: SR // 2]
    noise *= np.abs(fragment).max() / np.abs(noise).max()
    long_sound = _detect(tmp_path, np.concatenate([quiet[: SR - len(noise)], noise]), "noise.wav")
    assert not long_sound["flag_cutoff"] and long_sound["flag_no_speech"], long_sound.to_dict()


def test_real_clips_are_mostly_unflagged(shared_data):
    """The mini set is clean single words; a detector flagging many of them is broken. (It does
    hold a few genuinely cut-off recordings, as the full dataset does.)"""
    root = shared_data / MINI
    paths = sorted(
        p.relative_to(root).as_posix() for p in root.glob("*/*.wav") if p.parent.name != "_background_noise_"
    )
    frame, problems, _ = detect_clips(root, paths, progress=False)
    assert not problems and len(frame) == 350
    limits = {
        "cutoff": 0.15,
        "multiword": 0.03,
        "no_speech": 0.02,
        "clipping": 0.01,
        "low_snr": 0.06,
        "dc_offset": 0.02,
        "length": 0.02,
    }
    for name, limit in limits.items():
        assert frame[f"flag_{name}"].mean() <= limit, name


def test_unreadable_clip_is_reported_not_fatal(tmp_path, clean):
    write_wav(tmp_path / "good.wav", clean)
    (tmp_path / "bad.wav").write_bytes(b"RIFF not really")
    frame, problems, _ = detect_clips(tmp_path, ["good.wav", "bad.wav"], progress=False)
    assert len(frame) == 2 and len(problems) == 1 and "bad.wav" in problems[0]
    assert not frame.loc[1, "flag_cutoff"] and np.isnan(frame.loc[1, "score_cutoff"])


def test_a_window_is_judged_at_the_expected_length_and_hashed_as_the_1_s_the_model_hears(tmp_path):
    """An unbounded `file#N` window: the detectors hear `expected_length_s` from N (padded past
    the file's end), while its content hash stays that of the 1 s the model hears, so that
    `hark check` and `hark analyze` name the same duplicates under any detector setting."""
    from hark.analysis.detectors import DetectorConfig
    from hark.data.audio import content_hash, load_native
    from hark.schema import windowed

    wave = np.zeros(int(2.2 * SR), np.float32)
    voiced = np.arange(int(1.1 * SR), int(1.4 * SR))  # a 150 Hz hum after the first second only
    wave[voiced] = 0.3 * np.sin(2 * np.pi * 150 * voiced / SR)
    write_wav(tmp_path / "long.wav", wave)
    paths = [windowed("long.wav", 0), windowed("long.wav", SR)]  # the second runs past the end
    one_second = [content_hash(load_native(tmp_path, path)[0]) for path in paths]
    for expected_s, first_heard in ((1.0, False), (1.5, True), (0.5, False)):
        config = DetectorConfig(sample_rate=SR, expected_length_s=expected_s)
        frame, problems, hashes = detect_clips(tmp_path, paths, config, progress=False)
        assert not problems and hashes == one_second
        assert frame["score_length"].tolist() == [expected_s, expected_s]
        assert frame["flag_no_speech"].tolist() == [not first_heard, False]
