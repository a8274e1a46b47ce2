"""LogMel against librosa; augmentation achieves what it promises and is seeded."""

from __future__ import annotations

import warnings

import librosa
import numpy as np
import pytest
import torch

from hark.data.audio import load_clip
from hark.data.spectrogram import MelSettings, log_mel
from hark.errors import HarkError
from hark.features import LogMel, NoiseBank, SpecAugment, mix_background_noise, random_speed, random_time_shift
from hark.features.augment import random_time_stretch
from hark.models import create_model
from hark.models.frontend import front_end_settings


def _speechlike(sample_rate: int, seconds: float = 1.0, seed: int = 0) -> np.ndarray:
    """A chirp over broadband noise, so that every mel band has energy."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(sample_rate * seconds)) / sample_rate
    chirp = 0.5 * np.sin(2 * np.pi * (200 * t + 1500 * t**2))
    return (chirp + 0.05 * rng.standard_normal(len(t))).astype(np.float32)


@pytest.mark.parametrize("sample_rate", [16000, 8000])
def test_logmel_matches_librosa(sample_rate):
    front = LogMel.for_rate(sample_rate, n_mels=40)
    wave = _speechlike(sample_rate)
    ours = front(torch.from_numpy(np.stack([wave, 0.5 * wave]))).numpy()
    reference = librosa.feature.melspectrogram(
        y=wave,
        sr=sample_rate,
        n_fft=front.n_fft,
        hop_length=front.hop_length,
        n_mels=40,
        fmin=20.0,
        center=True,
        pad_mode="constant",
        power=2.0,
    )
    assert ours.shape == (2, 40, 1 + len(wave) // front.hop_length) == (2, 40, 101)
    np.testing.assert_allclose(ours[0], np.log(reference + 1e-6), atol=2e-3)
    # Power spectrum: halving the amplitude lowers every band by log(4).
    np.testing.assert_allclose(ours[0] - ours[1], np.log(4.0), atol=0.05)


def test_logmel_matches_librosa_on_real_clips(shared_data):
    """Real recordings with quiet stretches and zero-padded tails, where log(mel + 1e-6) is
    most sensitive to numerical error."""
    root = shared_data / "speech_commands_mini_v0.02"
    paths = sorted(p.relative_to(root).as_posix() for p in root.glob("[a-z]*/*.wav"))[::50]
    waves = np.stack([load_clip(root, path) for path in paths])
    ours = LogMel()(torch.from_numpy(waves)).numpy()
    for wave, features in zip(waves, ours, strict=True):
        reference = librosa.feature.melspectrogram(
            y=wave, sr=16000, n_fft=480, hop_length=160, n_mels=40, fmin=20.0, pad_mode="constant"
        )
        np.testing.assert_allclose(features, np.log(reference + 1e-6), atol=1e-3)


@pytest.mark.parametrize("settings", [MelSettings(), MelSettings.for_rate(8000, 64, window_ms=25.0)])
def test_every_picture_of_a_clip_is_the_networks_input(settings):
    """The numpy log-mel that `hark check`, the report and the explorer draw equals the models'
    torch front end, for batches and single clips, down to a clip shorter than a frame."""
    waves = np.stack([_speechlike(settings.sample_rate, seed=s) for s in range(3)])
    ours = log_mel(waves, settings)
    theirs = LogMel.from_settings(settings)(torch.from_numpy(waves)).numpy()
    np.testing.assert_allclose(ours, theirs, atol=2e-3)
    np.testing.assert_allclose(log_mel(waves[0], settings), ours[0])
    assert log_mel(waves[0, :10], settings).shape == (settings.n_mels, 1)


def test_a_run_records_its_models_front_end_for_the_pictures():
    matchbox = front_end_settings(create_model("matchboxnet-3x1x64", 4, sample_rate=8000))
    assert MelSettings.of_run({"front_end": matchbox}) == MelSettings.for_rate(8000, 64, window_ms=25.0)
    assert front_end_settings(create_model("m5", 4, sample_rate=8000)) is None
    # A waveform model, or a run from before the record: the default front end at the run's rate.
    assert MelSettings.of_run({"front_end": None, "data": {"sample_rate": 8000}}) == MelSettings.for_rate(8000)
    assert MelSettings.of_run({}) == MelSettings()


def test_logmel_defaults_are_the_bc_resnet_front_end():
    front = LogMel()
    assert (front.n_fft, front.hop_length, front.n_mels, front.sample_rate) == (480, 160, 40, 16000)
    assert front.state_dict() == {}  # fixed buffers stay out of checkpoints


def _noise_bank(lengths=(40000, 25000), seed=0) -> NoiseBank:
    rng = np.random.default_rng(seed)
    return NoiseBank([rng.standard_normal(n).astype(np.float32) * (i + 1) for i, n in enumerate(lengths)])


def _power_db(x: torch.Tensor) -> torch.Tensor:
    return 10 * torch.log10(x.square().mean(dim=-1))


def test_noise_mixing_reaches_the_requested_snr():
    waves = torch.from_numpy(np.stack([_speechlike(16000, seed=s) * (s + 1) for s in range(16)]))
    generator = torch.Generator().manual_seed(1)
    mixed = mix_background_noise(waves, _noise_bank(), prob=1.0, snr_db_range=(0.0, 20.0), generator=generator)
    snr = _power_db(waves) - _power_db(mixed - waves)
    assert ((snr > -0.01) & (snr < 20.01)).all()
    assert snr.std() > 2  # drawn across the range, not a constant
    fixed = mix_background_noise(waves, _noise_bank(), prob=1.0, snr_db_range=(5.0, 5.0))
    torch.testing.assert_close(_power_db(waves) - _power_db(fixed - waves), torch.full((16,), 5.0), atol=0.01, rtol=0)


def test_noise_mixing_probability_and_seed():
    waves = torch.from_numpy(np.stack([_speechlike(16000, seed=s) for s in range(64)]))
    bank = _noise_bank()

    def mix(seed, prob=0.5):
        return mix_background_noise(waves, bank, prob, (0.0, 10.0), torch.Generator().manual_seed(seed))

    changed = (mix(3) != waves).any(dim=1)
    assert 16 < changed.sum() < 48
    torch.testing.assert_close(mix(3), mix(3), rtol=0, atol=0)
    assert not torch.equal(mix(3), mix(4))
    torch.testing.assert_close(mix(3, prob=0.0), waves, rtol=0, atol=0)


def test_noise_shorter_than_the_clip_loops():
    recording = np.arange(1, 101, dtype=np.float32)
    recording.setflags(write=False)  # as the cache's memory maps are
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        bank = NoiseBank([recording])
    segment = bank.segments(1, 250, torch.Generator().manual_seed(0))[0]
    start = int(segment[0]) - 1
    expected = (torch.arange(250) + start) % 100 + 1
    torch.testing.assert_close(segment, expected.float(), rtol=0, atol=0)


def test_noise_mixing_without_noise_files_is_a_clear_error():
    with pytest.raises(HarkError, match="background-noise"):
        mix_background_noise(torch.zeros(2, 100), NoiseBank([]), 0.5, (0.0, 10.0))


def test_time_shift_moves_the_signal_and_fills_zeros():
    waves = torch.zeros(32, 1000)
    waves[:, 500] = 1.0
    shifted = random_time_shift(waves, 100, torch.Generator().manual_seed(0))
    moved_to = shifted.argmax(dim=1) - 500
    assert (shifted.sum(dim=1) == 1).all() and (moved_to.abs() <= 100).all()
    assert len(set(moved_to.tolist())) > 5
    ones = random_time_shift(torch.ones(32, 1000), 100, torch.Generator().manual_seed(0))
    torch.testing.assert_close(1000 - ones.sum(dim=1), moved_to.abs().float(), rtol=0, atol=0)
    again = random_time_shift(waves, 100, torch.Generator().manual_seed(0))
    torch.testing.assert_close(again, shifted, rtol=0, atol=0)


def test_speed_perturbation_scales_pitch_and_keeps_the_centre():
    rate, length = 8000, 8000
    t = torch.arange(length) / rate
    tone = torch.sin(2 * torch.pi * 200.0 * t).repeat(16, 1)
    generator = torch.Generator().manual_seed(0)
    factors = 0.8 + 0.4 * torch.rand(16, generator=torch.Generator().manual_seed(0))
    faster = random_speed(tone, 0.2, generator)
    peaks = torch.fft.rfft(faster[:, 2000:6000]).abs().argmax(dim=1) * rate / 4000
    torch.testing.assert_close(peaks, 200.0 * factors, rtol=0, atol=2.5)
    click = torch.zeros(16, length)
    click[:, length // 2] = 1.0
    assert (random_speed(click, 0.2, torch.Generator().manual_seed(1)).argmax(dim=1) - length // 2).abs().max() <= 1
    slower = random_speed(torch.ones(16, length), 0.2, torch.Generator().manual_seed(0))
    outside = slower == 0
    assert (outside.sum(dim=1) > 0).eq(factors > 1.0).all(), "reading past the ends gives silence"
    torch.testing.assert_close(random_speed(tone, 0.0), tone)


def test_time_stretch_moves_each_frame_by_the_clip_s_factor_and_holds_the_last_frame():
    count, bands, frames = 6, 3, 101
    ramp = torch.arange(frames, dtype=torch.float32)[None, None, :] + 1000.0 * torch.arange(bands)[None, :, None]
    spec = ramp.expand(count, bands, frames).clone()
    factors = 0.8 + 0.4 * torch.rand(count, 1, generator=torch.Generator().manual_seed(0))
    stretched = random_time_stretch(spec, 0.2, torch.Generator().manual_seed(0))
    # A ramp interpolates exactly: frame j of the stretched clip is frame j / factor of the original.
    expected = (torch.arange(frames)[None, :] / factors).clamp(max=frames - 1)[:, None, :] + 1000.0 * torch.arange(
        bands
    )[None, :, None]
    torch.testing.assert_close(stretched, expected, rtol=0, atol=1e-3)
    shorter = factors[:, 0] < 1
    assert shorter.any() and (~shorter).any()
    assert (stretched[shorter, :, -1] == spec[shorter, :, -1]).all(), "a shortened clip holds its last frame"
    torch.testing.assert_close(random_time_stretch(spec, 0.0), spec, rtol=0, atol=0)


def test_spec_augment_stretches_only_in_training():
    spec = torch.randn(4, 40, 101)
    augment = SpecAugment(freq_masks=0, time_masks=0, time_stretch=0.2)
    assert not torch.equal(augment(spec), spec)
    augment.eval()
    assert augment(spec) is spec


def test_spec_augment_masks_only_in_training():
    spec = torch.randn(8, 40, 101)
    augment = SpecAugment(
        freq_masks=2, freq_width=7, time_masks=2, time_width=25, generator=torch.Generator().manual_seed(0)
    )
    masked = augment(spec)
    fill = spec.mean(dim=(1, 2), keepdim=True)
    hit = masked == fill
    full_rows, full_cols = hit.all(dim=2), hit.all(dim=1)
    assert full_rows.any() and full_cols.any()
    assert (full_rows.sum(dim=1) <= 14).all() and (full_cols.sum(dim=1) <= 50).all()
    untouched = ~hit
    torch.testing.assert_close(masked[untouched], spec[untouched], rtol=0, atol=0)
    augment.eval()
    assert augment(spec) is spec


def test_spec_augment_is_seeded_by_the_global_rng():
    augment = SpecAugment()
    spec = torch.randn(4, 40, 101)
    torch.manual_seed(7)
    first = augment(spec)
    torch.manual_seed(7)
    torch.testing.assert_close(augment(spec), first, rtol=0, atol=0)


def test_export_route_computes_the_same_spectrum(monkeypatch):
    front = LogMel()
    waves = torch.from_numpy(np.stack([_speechlike(16000, seed=s) for s in range(2)]))
    by_fft = front(waves)
    monkeypatch.setattr(torch.onnx, "is_in_onnx_export", lambda: True)
    torch.testing.assert_close(front(waves), by_fft, atol=1e-3, rtol=0)
