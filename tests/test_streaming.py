"""Streaming prediction on long audio: one front-end pass per file gives the windows, starts
and probabilities of the window-by-window path (up to the window-edge frames)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from conftest import word_tone
from hark.evaluate.inference import Predictor
from hark.evaluate.streaming import StreamingPredictor, log_mel_front_end
from hark.models import create_model

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def _long_audio(seconds: float, rate: int = 16000) -> np.ndarray:
    rng = np.random.default_rng(0)
    wave = 0.01 * rng.standard_normal(int(seconds * rate)).astype(np.float32)
    for i, at in enumerate(at for at in (0.5, 2.2, 3.9) if at + 1 <= seconds):
        tone = word_tone(i, 0, rng, rate)
        wave[int(at * rate) : int(at * rate) + len(tone)] += tone
    return wave


def _predictors(name: str):
    torch.manual_seed(0)
    model = create_model(name, 6).eval()
    labels = [f"w{i}" for i in range(6)]
    return Predictor(model, labels, 16000, 16000), StreamingPredictor(model, labels, 16000, 16000)


@pytest.mark.parametrize("name", ["bcresnet-1", "matchboxnet-3x1x64", "logmel-cnn"])
def test_streaming_matches_window_by_window(name):
    plain, streaming = _predictors(name)
    wave = _long_audio(5.0)
    starts, probs = plain.sliding(wave, 0.1)
    stream_starts, stream_probs = streaming.sliding(wave, 0.1)
    np.testing.assert_allclose(stream_starts, starts, atol=0.01)
    assert np.abs(stream_probs - probs).max() < 0.05
    assert (stream_probs.argmax(1) == probs.argmax(1)).mean() > 0.9
    assert log_mel_front_end(streaming.model) is not None  # the front end is put back


def test_raw_waveform_models_and_off_grid_hops_use_the_window_path():
    plain, streaming = _predictors("m5")
    wave = _long_audio(3.0)
    assert log_mel_front_end(streaming.model) is None
    np.testing.assert_array_equal(streaming.sliding(wave, 0.1)[1], plain.sliding(wave, 0.1)[1])
    plain, streaming = _predictors("bcresnet-1")
    np.testing.assert_array_equal(streaming.sliding(wave, 0.105)[1], plain.sliding(wave, 0.105)[1])
