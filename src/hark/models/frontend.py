"""The log-mel front end that 2-D/1-D spectrogram models own, so features run on the model's
device and are part of an ONNX export."""

from __future__ import annotations

import torch
from torch import nn

from hark.errors import HarkError
from hark.features.augment import SpecAugment
from hark.features.logmel import LogMel


def log_mel_front_end(
    sample_rate: int, n_mels: int, window_ms: float, hop_ms: float, spec_augment: dict | None
) -> nn.Sequential:
    """LogMel followed by SpecAugment (which is a no-op outside training mode) when
    `spec_augment` is a dict of `SpecAugment` options; None turns it off."""
    layers: list[nn.Module] = [LogMel.for_rate(sample_rate, n_mels, window_ms=window_ms, hop_ms=hop_ms)]
    if spec_augment is not None:
        try:
            layers.append(SpecAugment(**spec_augment))
        except TypeError as err:
            raise HarkError(f"bad spec_augment options {spec_augment}: {err}") from None
    return nn.Sequential(*layers)


def remove_band_mean(spec: torch.Tensor) -> torch.Tensor:
    """Each band's mean over the clip removed (cepstral mean normalisation): a microphone's or
    room's colouring, constant over a clip, goes with the speaker in a small dataset, and a new
    speaker brings another. Done by the model after its front end, not in it, because streaming
    bypasses the front end and feeds the network log-mel windows."""
    return spec - spec.mean(dim=-1, keepdim=True)


def front_end_settings(model: nn.Module) -> dict | None:
    """The log-mel settings of the model's front end (recorded in config.json, so that every
    picture of a clip shows what this model hears), or None for a model that hears the waveform."""
    front = next((m for m in model.modules() if isinstance(m, LogMel)), None)
    return None if front is None else front.settings.to_dict()
