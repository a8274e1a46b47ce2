"""Batch-wise augmentation that runs on the training device.

Random draws are made on the CPU (from `generator`, or torch's global RNG when None) and then
moved to the batch's device, so that a seed gives the same augmentation on any device and the
trainer's saved RNG state covers it."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
from torch import nn

from hark.errors import HarkError


def _uniform(shape: tuple[int, ...], low: float, high: float, generator: torch.Generator | None) -> torch.Tensor:
    return low + (high - low) * torch.rand(shape, generator=generator)


def _mean_square(x: torch.Tensor) -> torch.Tensor:
    return x.square().mean(dim=-1, keepdim=True)


class NoiseBank:
    """Background-noise recordings held once on the training device, flattened into one tensor
    so that a whole batch of random segments is a single gather."""

    def __init__(self, noises: Sequence[np.ndarray | torch.Tensor], device: torch.device | str = "cpu"):
        # Copied once (np.array): the cache hands out read-only memory maps.
        tensors = [
            n.float().flatten()
            if isinstance(n, torch.Tensor)
            else torch.from_numpy(np.array(n, dtype=np.float32).reshape(-1))
            for n in noises
        ]
        tensors = [t for t in tensors if t.numel() > 0]
        self.lengths = torch.tensor([t.numel() for t in tensors], dtype=torch.long)
        self.offsets = torch.cumsum(self.lengths, 0) - self.lengths
        self.flat = torch.cat(tensors).to(device) if tensors else torch.zeros(0, device=device)

    def __len__(self) -> int:
        return len(self.lengths)

    def segments(self, count: int, length: int, generator: torch.Generator | None = None) -> torch.Tensor:
        """`[count, length]` random segments of random files; a file shorter than `length` loops."""
        if len(self) == 0:
            raise HarkError(
                "background-noise mixing needs noise recordings, but none were found "
                "(no _background_noise_ folder?); set the noise probability to 0"
            )
        files = torch.randint(len(self), (count,), generator=generator)
        lengths = self.lengths[files]
        max_start = (lengths - length).clamp(min=0)
        starts = (torch.rand(count, generator=generator) * (max_start + 1)).long()
        device = self.flat.device  # only the per-clip draws travel; positions are built there
        starts, lengths, offsets = starts.to(device), lengths.to(device), self.offsets[files].to(device)
        positions = (starts[:, None] + torch.arange(length, device=device)) % lengths[:, None] + offsets[:, None]
        return self.flat[positions]


def mix_background_noise(
    waves: torch.Tensor,
    noise_bank: NoiseBank | Sequence[np.ndarray],
    prob: float,
    snr_db_range: tuple[float, float],
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    """Add, to each clip with probability `prob`, a random noise segment scaled so that the
    clip-to-noise power ratio is uniform in `snr_db_range` (dB). Silent clips stay silent:
    the SNR is relative to the clip's own power. Build the `NoiseBank` once on the training
    device; a plain list of recordings is accepted but re-uploaded on every call."""
    if not isinstance(noise_bank, NoiseBank):
        noise_bank = NoiseBank(noise_bank, waves.device)
    count, length = waves.shape
    chosen = torch.rand(count, generator=generator) < prob
    snr_db = _uniform((count,), *snr_db_range, generator)
    noise = noise_bank.segments(count, length, generator).to(waves.device, waves.dtype)
    target_noise_power = _mean_square(waves) / 10 ** (snr_db.to(waves.device)[:, None] / 10)
    gain = torch.sqrt(target_noise_power / _mean_square(noise).clamp(min=1e-12))
    gain = gain * chosen.to(waves.device, waves.dtype)[:, None]
    return waves + gain * noise


def _read_at(waves: torch.Tensor, source: torch.Tensor) -> torch.Tensor:
    """`waves` `[B, T]` read at the positions `source` `[B, T]`, in samples as float32 (exact for
    whole positions at any clip length, whatever the waves' dtype): a whole position gives its
    sample exactly, a fractional one a linear interpolation, one outside the clip silence."""
    length = waves.shape[1]
    inside = (source >= 0) & (source <= length - 1)
    left = source.floor().long().clamp(0, length - 1)
    weight = source - left
    before, after = torch.gather(waves, 1, left), torch.gather(waves, 1, (left + 1).clamp(max=length - 1))
    return ((before + weight * (after - before)) * inside).to(waves.dtype)


def random_time_shift(
    waves: torch.Tensor, max_shift_samples: int, generator: torch.Generator | None = None
) -> torch.Tensor:
    """Shift each clip by a uniform integer in [-max, max] samples, filling with zeros."""
    count, length = waves.shape
    shifts = torch.randint(-max_shift_samples, max_shift_samples + 1, (count,), generator=generator).to(waves.device)
    return _read_at(waves, (torch.arange(length, device=waves.device) - shifts[:, None]).float())


def random_speed(waves: torch.Tensor, max_change: float, generator: torch.Generator | None = None) -> torch.Tensor:
    """Play each clip at a speed factor uniform in [1 - max_change, 1 + max_change] (tempo and
    pitch together, as Kaldi's speed perturbation of Ko et al. 2015), resampled by linear
    interpolation about the window's centre so that a centred word stays inside it; samples read
    from outside the clip are silence. A new speaker's voice differs from the training speakers'
    mostly in pitch and speaking rate, which is what this varies."""
    count, length = waves.shape
    factors = _uniform((count,), 1.0 - max_change, 1.0 + max_change, generator).to(waves.device)
    centre = (length - 1) / 2
    return _read_at(
        waves, centre + (torch.arange(length, device=waves.device, dtype=torch.float32) - centre) * factors[:, None]
    )


def random_time_stretch(
    spec: torch.Tensor, max_change: float, generator: torch.Generator | None = None
) -> torch.Tensor:
    """Stretch each clip's log-mel `[B, n_mels, frames]` in time by a factor uniform in
    [1 - max_change, 1 + max_change], from the first frame, by linear interpolation between
    frames; past the clip's last frame the last frame is held (its tail: silence or noise, never
    the log of zero). Speaking rate without pitch, which speed perturbation changes together."""
    count, bands, frames = spec.shape
    factors = _uniform((count, 1), 1.0 - max_change, 1.0 + max_change, generator).to(spec.device)
    source = (torch.arange(frames, device=spec.device, dtype=torch.float32) / factors).clamp(max=frames - 1)
    rows = source.repeat_interleave(bands, dim=0)  # one row of positions per (clip, band)
    return _read_at(spec.reshape(count * bands, frames), rows).reshape(count, bands, frames)


def _band_masks(count: int, masks: int, max_width: int, size: int, generator: torch.Generator | None) -> torch.Tensor:
    """`[count, size]` bool: the union of `masks` bands per row, each of width uniform in
    [0, max_width] at a uniform position (SpecAugment's frequency/time masking)."""
    widths = (torch.rand(count, masks, generator=generator) * (min(max_width, size) + 1)).long()
    starts = (torch.rand(count, masks, generator=generator) * (size - widths + 1)).long()
    index = torch.arange(size)[None, None, :]
    return ((index >= starts[..., None]) & (index < (starts + widths)[..., None])).any(dim=1)


class SpecAugment(nn.Module):
    """Frequency and time masks on log-mel `[B, n_mels, frames]` (Park et al. 2019, no time
    warping), after an optional random time stretch (`random_time_stretch`), active only in
    training mode. Masked cells take the clip's mean log-mel value, a neutral level for
    unnormalised log-mel where 0 would be a loud tone.
    Defaults follow the BC-ResNet reference training code for its wider models: 2 frequency
    masks of up to 7 bands and 2 time masks of up to 20 frames."""

    def __init__(
        self,
        freq_masks: int = 2,
        freq_width: int = 7,
        time_masks: int = 2,
        time_width: int = 20,
        time_stretch: float = 0.0,
        generator: torch.Generator | None = None,
    ):
        super().__init__()
        self.freq_masks, self.freq_width = freq_masks, freq_width
        self.time_masks, self.time_width = time_masks, time_width
        self.time_stretch = time_stretch
        self.generator = generator

    def forward(self, spec: torch.Tensor) -> torch.Tensor:
        if not self.training:
            return spec
        if self.time_stretch > 0:
            spec = random_time_stretch(spec, self.time_stretch, self.generator)
        count, bands, frames = spec.shape
        freq = _band_masks(count, self.freq_masks, self.freq_width, bands, self.generator)
        time = _band_masks(count, self.time_masks, self.time_width, frames, self.generator)
        freq, time = freq.to(spec.device), time.to(spec.device)
        masked = freq[:, :, None] | time[:, None, :]
        return torch.where(masked, spec.mean(dim=(1, 2), keepdim=True), spec)

    def extra_repr(self) -> str:
        return (
            f"freq_masks={self.freq_masks}, freq_width={self.freq_width}, "
            f"time_masks={self.time_masks}, time_width={self.time_width}, time_stretch={self.time_stretch}"
        )
