"""Which clips get which fault, and the truth written to `faults.csv`.

The faults mirror what error analysis finds in the real Speech Commands data: speech cut off
by the end of the second, clips filed under a word that sounds alike, a second word in the
clip, no speech at all, and saturated recordings."""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path
from collections.abc import Mapping

import numpy as np

from hark.errors import UsageError

FAULTS = ("cutoff", "mislabel", "multiword", "silent", "clipped")
DEFAULT_FAULTS = {"cutoff": 0.05, "mislabel": 0.03, "multiword": 0.02, "silent": 0.01, "clipped": 0.02}
SILENCE_LABEL = "_silence_"
FAULTS_FILE = "faults.csv"

# Pairs that listeners (and models) confuse in Speech Commands; a mislabelled clip is filed
# under its word's partner when the partner is in the word list.
CONFUSABLE_PAIRS = (
    ("three", "tree"),
    ("up", "off"),
    ("on", "off"),
    ("four", "forward"),
    ("follow", "forward"),
    ("backward", "forward"),
    ("no", "go"),
    ("bed", "bird"),
    ("dog", "down"),
    ("learn", "left"),
    ("five", "nine"),
    ("right", "five"),
    ("wow", "house"),
)
CONFUSABLE_SHARE = 0.8  # the rest are filed under a random other word, as careless labelling does


def parse_faults(text: str) -> dict[str, float]:
    """'cutoff=0.05,mislabel=0.03' -> rates; 'none' or '' -> no faults."""
    text = text.strip()
    if text.lower() in ("", "none", "0"):
        return {}
    rates = {}
    for item in text.split(","):
        key, sep, value = item.strip().partition("=")
        if not sep:
            raise UsageError(f"--faults: {item.strip()!r} is not KEY=RATE; valid keys: {', '.join(FAULTS)}")
        try:
            rates[key.strip()] = float(value)
        except ValueError:
            raise UsageError(f"--faults: rate of {key.strip()!r} must be a number, got {value!r}") from None
    return check_rates(rates)


def check_rates(rates: Mapping[str, float]) -> dict[str, float]:
    unknown = sorted(set(rates) - set(FAULTS))
    if unknown:
        raise UsageError(f"unknown fault(s) {', '.join(unknown)}; valid keys: {', '.join(FAULTS)}")
    for key, rate in rates.items():
        if not 0.0 <= rate <= 1.0:  # also rejects NaN
            raise UsageError(f"fault rate {key}={rate} must be between 0 and 1")
    if sum(rates.values()) > 1.0:
        raise UsageError(
            f"fault rates add up to {sum(rates.values()):g}; a clip has at most one fault, so keep the sum <= 1"
        )
    return {key: float(rates[key]) for key in FAULTS if rates.get(key)}


def assign_faults(num_clips: int, rates: Mapping[str, float], rng: np.random.Generator) -> list[str | None]:
    """One entry per clip: its fault or None. Each fault gets round(rate * num_clips) clips,
    exactly, so that measured detection rates are not blurred by sampling noise."""
    assigned: list[str | None] = [None] * num_clips
    order = iter(rng.permutation(num_clips))
    for fault in FAULTS:
        for _ in range(round(rates.get(fault, 0.0) * num_clips)):
            assigned[next(order)] = fault
    return assigned


def _partners(word: str, words: list[str]) -> list[str]:
    return [b if a == word else a for a, b in CONFUSABLE_PAIRS if word in (a, b) and (b if a == word else a) in words]


def spoken_instead(filed: str, words: list[str], rng: np.random.Generator) -> str:
    """The word a mislabelled clip really says, given the folder it is filed under."""
    partners = _partners(filed, words)
    if partners and rng.random() < CONFUSABLE_SHARE:
        return partners[int(rng.integers(len(partners)))]
    others = [w for w in words if w != filed]
    return others[int(rng.integers(len(others)))]


def other_word(word: str, words: list[str], rng: np.random.Generator) -> str:
    others = [w for w in words if w != word]
    return others[int(rng.integers(len(others)))]


@dataclass(frozen=True)
class FaultRecord:
    path: str
    fault: str
    true_label: str


def write_fault_table(out: Path, records: list[FaultRecord]) -> Path:
    path = out / FAULTS_FILE
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(["path", "fault", "true_label"])
        for record in sorted(records, key=lambda r: r.path):
            writer.writerow([record.path, record.fault, record.true_label])
    return path
