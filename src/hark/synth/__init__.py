"""Synthetic Speech Commands spoken by eSpeak NG, with injected faults and their ground truth."""

from hark.synth.faults import DEFAULT_FAULTS, FAULTS, parse_faults
from hark.synth.generate import DEFAULT_UTTERANCES, DEFAULT_WORDS, synthesize
from hark.synth.voices import DEFAULT_SPEAKERS, speaker_table

__all__ = [
    "DEFAULT_FAULTS",
    "DEFAULT_SPEAKERS",
    "DEFAULT_UTTERANCES",
    "DEFAULT_WORDS",
    "FAULTS",
    "parse_faults",
    "speaker_table",
    "synthesize",
]
