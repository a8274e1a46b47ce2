"""Word spotting: top-k on short clips of any rate/channels, detections with times in long audio."""

from __future__ import annotations

import numpy as np
import pytest
import soundfile as sf
import torch
from torch import nn

from hark.data.audio import write_wav
from hark.evaluate.inference import Predictor, detect

LABELS = ["_silence_", "_unknown_", "yes", "no"]
TONES = {"yes": 500.0, "no": 1200.0}
RATE = 16000


class ToneSpotter(nn.Module):
    """A hand-wired 'model' with a known answer: the logit of a word is the log energy in a
    narrow band around its tone; silence has a fixed logit, so quiet windows say silence."""

    def __init__(self):
        super().__init__()
        self.head = nn.Linear(2, 4)
        with torch.no_grad():
            self.head.weight.copy_(torch.tensor([[0.0, 0.0], [0.0, 0.0], [1.0, 0.0], [0.0, 1.0]]))
            self.head.bias.copy_(torch.tensor([8.0, -100.0, 0.0, 0.0]))

    def forward(self, waves):
        power = torch.fft.rfft(waves, n=RATE).abs().square()  # 1-Hz bins
        bands = [power[:, int(f) - 20 : int(f) + 20].sum(1) for f in TONES.values()]
        return self.head(torch.log(torch.stack(bands, 1) + 1e-3))


def tone(word: str, seconds: float = 0.5, rate: int = RATE) -> np.ndarray:
    t = np.arange(int(seconds * rate)) / rate
    return (0.4 * np.sin(2 * np.pi * TONES[word] * t) * np.hanning(len(t))).astype(np.float32)


@pytest.fixture
def spotter() -> Predictor:
    return Predictor(ToneSpotter(), LABELS, RATE, RATE)


def test_long_audio_gives_one_detection_per_word_at_its_time(spotter, tmp_path):
    rng = np.random.default_rng(0)
    audio = 0.01 * rng.standard_normal(6 * RATE).astype(np.float32)
    placed = {"yes": 1.0, "no": 3.8}  # onsets in seconds; each word lasts 0.5 s
    for word, onset in placed.items():
        start = int(onset * RATE)
        audio[start : start + RATE // 2] += tone(word)
    write_wav(tmp_path / "long.wav", audio)

    result = spotter.predict_file(tmp_path / "long.wav", top_k=2, hop_seconds=0.25)

    assert result.duration == pytest.approx(6.0)
    assert [d.label for d in result.detections] == ["yes", "no"]
    for detection in result.detections:
        onset = placed[detection.label]
        assert detection.start <= onset and detection.end >= onset + 0.5
        assert detection.end - detection.start <= 2.5  # not smeared over the whole file
        assert abs(detection.peak - (onset + 0.25)) <= 0.3
        assert detection.probability > 0.99
    assert {label for label, _ in result.top} == {"yes", "no"}


def test_short_clip_at_44k_stereo_is_resampled_and_down_mixed(spotter, tmp_path):
    rate = 44100
    left = np.concatenate([np.zeros(rate // 10, np.float32), tone("no", 0.5, rate)])
    sf.write(tmp_path / "stereo.wav", np.stack([left, left], axis=1), rate, subtype="PCM_16")

    result = spotter.predict_file(tmp_path / "stereo.wav", top_k=3)

    assert result.duration == pytest.approx(0.6, abs=1e-3)
    assert result.detections is None
    assert result.top[0][0] == "no" and result.top[0][1] > 0.99
    assert len(result.top) == 3 and result.top[0][1] >= result.top[1][1] >= result.top[2][1]


def test_detect_merges_consecutive_windows_and_ignores_non_words():
    starts = np.arange(6) * 0.25
    probs = np.array(
        [
            [0.1, 0.0, 0.9, 0.0],  # yes
            [0.1, 0.0, 0.8, 0.1],  # yes (merged)
            [0.1, 0.9, 0.0, 0.0],  # _unknown_ is never a detection
            [0.0, 0.0, 0.3, 0.7],  # no
            [0.0, 0.0, 0.6, 0.4],  # yes right after no: a new detection
            [0.6, 0.0, 0.4, 0.0],  # below threshold
        ]
    )
    found = detect(starts, probs, LABELS, window_seconds=1.0, threshold=0.5)
    assert [(d.label, d.start, d.end, d.probability) for d in found] == [
        ("yes", 0.0, 1.25, 0.9),
        ("no", 0.75, 1.75, 0.7),
        ("yes", 1.0, 2.0, 0.6),
    ]
    assert found[0].peak == 0.5
