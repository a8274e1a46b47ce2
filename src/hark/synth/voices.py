"""The synthetic speakers: English accents x eSpeak voice variants x pitch x rate, each with a
stable 8-hex-digit id, as the real dataset names its anonymous speakers."""

from __future__ import annotations

import hashlib
import itertools
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from hark.synth.espeak import Prosody

# English voices in espeak-ng-data/lang/gmw (en-shaw, the Shavian alphabet, is not an accent).
ACCENTS = (
    "en-us",
    "en",
    "en-gb-scotland",
    "en-gb-x-rp",
    "en-029",
    "en-gb-x-gbclan",
    "en-gb-x-gbcwmd",
    "en-us-nyc",
)
# Variants in espeak-ng-data/voices/!v that sound like a person; the novelty ones
# (robots, whispers, 'Demonic', 'croak', ...) would make speakers no recording has.
VARIANTS = (
    "m1",
    "m2",
    "m3",
    "m4",
    "m5",
    "m6",
    "m7",
    "f1",
    "f2",
    "f3",
    "f4",
    "f5",
    "klatt",
    "klatt2",
    "klatt3",
    "klatt4",
    "Andy",
    "adam",
    "belinda",
    "david",
    "edward",
    "linda",
    "paul",
    "robert",
    "steph",
    "travis",
)
DEFAULT_SPEAKERS = 50
PITCH_RANGE = (25, 75)  # eSpeak pitch 0-100, relative to the variant's own voice
INTONATION_RANGE = (30, 80)
RATE_RANGE = (145, 195)  # words per minute; slower makes the longest words overrun a second


@dataclass(frozen=True)
class Speaker:
    id: str
    accent: str
    variant: str
    prosody: Prosody

    @property
    def voice(self) -> str:
        return f"{self.accent}+{self.variant}"

    def utterance(self, rng: np.random.Generator) -> Prosody:
        """The speaker's prosody with the small drift of saying a word again."""
        p = self.prosody
        return replace(
            p, rate=int(p.rate * rng.uniform(0.92, 1.08)), pitch=int(np.clip(p.pitch + rng.integers(-5, 6), 0, 100))
        )


def speaker_table(count: int = DEFAULT_SPEAKERS, seed: int = 0) -> list[Speaker]:
    """`count` distinct speakers, the same for the same seed. Accent/variant pairs repeat only
    after all of them are used, and then with a different pitch and rate."""
    if count < 1:
        raise ValueError(f"need at least one speaker, got {count}")
    rng = np.random.default_rng([seed, 0x5BEA])
    pairs = list(itertools.product(ACCENTS, VARIANTS))
    order = rng.permutation(len(pairs))
    speakers, ids = [], set()
    for index in range(count):
        accent, variant = pairs[order[index % len(pairs)]]
        prosody = Prosody(
            rate=int(rng.integers(*RATE_RANGE, endpoint=True)),
            pitch=int(rng.integers(*PITCH_RANGE, endpoint=True)),
            range=int(rng.integers(*INTONATION_RANGE, endpoint=True)),
        )
        speaker_id = _speaker_id(seed, index, ids)
        ids.add(speaker_id)
        speakers.append(Speaker(speaker_id, accent, variant, prosody))
    return speakers


def _speaker_id(seed: int, index: int, taken: set[str]) -> str:
    for attempt in itertools.count():
        candidate = hashlib.sha1(f"hark-synth/{seed}/{index}/{attempt}".encode()).hexdigest()[:8]
        if candidate not in taken:
            return candidate
    raise AssertionError("unreachable")


def missing_voices(data_path: str | Path) -> list[str]:
    """Accents and variants of the tables that the installed eSpeak data lacks."""
    data = Path(data_path)
    accents = {p.name.lower() for p in (data / "lang").rglob("*") if p.is_file()}
    variants = {p.name for p in (data / "voices" / "!v").iterdir()}
    return [a for a in ACCENTS if a not in accents] + [v for v in VARIANTS if v not in variants]
