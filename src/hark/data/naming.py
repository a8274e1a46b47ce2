"""What a clip's file name says: its speaker and utterance number, in the Speech Commands
convention `<speaker>_nohash_<n>.wav`, and which split the official speaker hash puts it in."""

from __future__ import annotations

import posixpath
import re
from collections.abc import Collection

from hark.data.splits import which_set

# Formats libsndfile decodes; anything else in a class folder is reported, not loaded.
AUDIO_SUFFIXES = frozenset({".wav", ".flac", ".ogg", ".oga", ".opus", ".aif", ".aiff", ".mp3"})
_NOHASH = re.compile(r"(?P<speaker>.+)_nohash_(?P<utterance>.*)")


def is_audio_name(name: str) -> bool:
    return posixpath.splitext(name)[1].lower() in AUDIO_SUFFIXES


def clip_stem(name: str) -> str:
    """The file name without its audio suffixes; the official 12-class test archive doubles
    them (`backward_0c540988_nohash_0.wav.wav`). String operations: this runs once per clip."""
    stem = name.rsplit("/", 1)[-1]
    while True:
        shorter, suffix = posixpath.splitext(stem)
        if suffix.lower() not in AUDIO_SUFFIXES:
            return stem
        stem = shorter


def speaker_and_utterance(path: str, words: Collection[str] = ()) -> tuple[str | None, int | None]:
    """(speaker, utterance number) from `[<word>_]<speaker>_nohash_<n>`, else (None, None).
    A leading `<word>_` is dropped only for a known word, because synthetic or user speaker
    ids may themselves contain underscores."""
    match = _NOHASH.fullmatch(clip_stem(path))
    if not match:
        return None, None
    speaker = match["speaker"]
    prefix, underscore, rest = speaker.partition("_")
    if underscore and rest and prefix in words:
        speaker = rest
    utterance = match["utterance"]
    return speaker, int(utterance) if utterance.isdigit() else None


def hash_split(
    path: str, speaker: str | None, validation_percentage: float = 10.0, testing_percentage: float = 10.0
) -> str:
    """The official split of the clip's speaker, so that a speaker never spans two splits;
    a clip without a speaker in its name is hashed by its file name."""
    key = f"{speaker}_nohash_" if speaker is not None else path.rsplit("/", 1)[-1]
    return which_set(key, validation_percentage, testing_percentage)
