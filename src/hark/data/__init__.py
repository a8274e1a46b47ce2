"""Data stage: datasets, audio I/O, the preprocessing cache and data checks."""

from hark.data.audio import load_clip, read_audio
from hark.data.example import SPLITS, ClipDataset, Example, Problem
from hark.errors import AudioError

__all__ = ["SPLITS", "AudioError", "ClipDataset", "Example", "Problem", "load_clip", "read_audio"]
