"""The official Speech Commands split: a SHA-1 hash of the speaker id, so that a speaker's
clips always land in one split, even as the dataset grows (Warden 2018, `which_set`)."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

from hark.schema import TEST, TRAIN, VALIDATION

# Files per class above this would wrap the hash; the constant is part of the official formula.
MAX_NUM_WAVS_PER_CLASS = 2**27 - 1
_NOHASH = re.compile(r"_nohash_.*$")


def which_set(path: str, validation_percentage: float = 10.0, testing_percentage: float = 10.0) -> str:
    """'train', 'validation' or 'test' for a clip path, exactly as the official lists assign it."""
    speaker = _NOHASH.sub("", Path(path).name)
    digest = int(hashlib.sha1(speaker.encode("utf-8")).hexdigest(), 16)
    percentage = (digest % (MAX_NUM_WAVS_PER_CLASS + 1)) * (100.0 / MAX_NUM_WAVS_PER_CLASS)
    if percentage < validation_percentage:
        return VALIDATION
    if percentage < validation_percentage + testing_percentage:
        return TEST
    return TRAIN
