"""Features computed in torch on the training device: log-mel and augmentation."""

from hark.features.augment import NoiseBank, SpecAugment, mix_background_noise, random_speed, random_time_shift
from hark.features.logmel import LogMel

__all__ = ["LogMel", "NoiseBank", "SpecAugment", "mix_background_noise", "random_speed", "random_time_shift"]
