"""Google Speech Commands v0.01/v0.02 (Warden 2018) and its two task variants: every word,
or the 12-class task of the TensorFlow reference (`speech_commands/input_data.py`): ten
words plus `_silence_` and `_unknown_`, each 10% of a split's word clips."""

from __future__ import annotations

import math
from dataclasses import replace
from pathlib import Path

import numpy as np

from hark.data.audio import audio_info
from hark.data.example import SPLITS, ClipDataset, Example, Problem
from hark.data.folder import BACKGROUND_NOISE, load_folder
from hark.errors import AudioError, HarkError
from hark.schema import SILENCE_LABEL as SILENCE
from hark.schema import TEST, TRAIN, VALIDATION
from hark.schema import UNKNOWN_LABEL as UNKNOWN

CORE_WORDS = ("yes", "no", "up", "down", "left", "right", "on", "off", "stop", "go")
WORDS_V1 = (
    *CORE_WORDS,
    "zero",
    "one",
    "two",
    "three",
    "four",
    "five",
    "six",
    "seven",
    "eight",
    "nine",
    "bed",
    "bird",
    "cat",
    "dog",
    "happy",
    "house",
    "marvin",
    "sheila",
    "tree",
    "wow",
)
WORDS = {"v0.01": WORDS_V1, "v0.02": (*WORDS_V1, "backward", "follow", "forward", "learn", "visual")}
TWELVE_CLASS_LABELS = (SILENCE, UNKNOWN, *CORE_WORDS)  # the reference's class order
# The TensorFlow reference's RANDOM_SEED, so the default unknown sample is stable.
REFERENCE_SEED = 59185


def is_speech_commands(root: Path) -> bool:
    """Word folders that are all Speech Commands words (the background noise aside)."""
    folders = {p.name for p in root.iterdir() if p.is_dir() and not p.name.startswith(".")} - {BACKGROUND_NOISE}
    return bool(folders) and folders <= set(WORDS["v0.02"])


def normalize_version(version: str) -> str:
    normalized = "v" + version.lower().lstrip("v")
    if normalized not in WORDS:
        raise HarkError(f"unknown Speech Commands version {version!r}; valid: {', '.join(WORDS)}")
    return normalized


def load_speech_commands(
    root: str | Path,
    version: str | None = None,
    *,
    validation_percentage: float = 10.0,
    testing_percentage: float = 10.0,
) -> ClipDataset:
    """Every word folder as a class. The version is read from the word set (only v0.02 has
    backward/follow/forward/learn/visual) unless given, and must agree with it."""
    root = Path(root)
    dataset = load_folder(
        root,
        words=WORDS["v0.02"],
        expect_lists=True,
        validation_percentage=validation_percentage,
        testing_percentage=testing_percentage,
    )
    detected = "v0.02" if set(dataset.labels) - set(WORDS_V1) else "v0.01"
    if version is not None:
        version = normalize_version(version)
        extra = sorted(set(dataset.labels) - set(WORDS[version]))
        if extra:
            raise HarkError(
                f"{root}: has words that Speech Commands {version} lacks ({', '.join(extra)}); it looks like {detected}"
            )
    dataset.name = f"speech_commands_{version or detected}"
    return dataset


def twelve_class_task(
    dataset: ClipDataset,
    *,
    silence_percentage: float = 10.0,
    unknown_percentage: float = 10.0,
    seed: int = REFERENCE_SEED,
    validation_percentage: float = 10.0,
    testing_percentage: float = 10.0,
) -> ClipDataset:
    """The ten core words as they are, `_unknown_` sampled (deterministically for `seed`) from
    the other words of the same split, and `_silence_` as 1-s windows of background noise.
    A dataset already in that shape (the official 12-class test archive, or a manifest `hark
    fix` wrote from this task, maybe with an extra class) keeps its clips, in the reference order."""
    if {SILENCE, UNKNOWN} <= set(dataset.labels):
        ordered = [label for label in TWELVE_CLASS_LABELS if label in dataset.labels]
        return replace(dataset, labels=ordered + sorted(set(dataset.labels) - set(ordered)))
    missing = [w for w in CORE_WORDS if w not in dataset.labels]
    if missing:
        raise HarkError(
            f"{dataset.root}: the 12-class task needs the word folders {', '.join(CORE_WORDS)}; "
            f"missing: {', '.join(missing)}"
        )
    examples: list[Example] = []
    silence_counts = {}
    for index, split in enumerate(SPLITS):
        in_split = dataset.split(split)
        words = [e for e in in_split if e.label in CORE_WORDS]
        others = sorted((e for e in in_split if e.label not in CORE_WORDS), key=lambda e: e.path)
        order = np.random.default_rng([seed, index]).permutation(len(others))
        wanted_unknown = math.ceil(len(words) * unknown_percentage / 100)
        examples += words + [replace(others[i], label=UNKNOWN) for i in order[:wanted_unknown]]
        silence_counts[split] = math.ceil(len(words) * silence_percentage / 100)
    problems = list(dataset.problems)
    examples += silence_windows(
        dataset.root, dataset.noise_files, silence_counts, problems, validation_percentage, testing_percentage
    )
    return replace(
        dataset, examples=examples, labels=list(TWELVE_CLASS_LABELS), problems=problems, name=f"{dataset.name}_12"
    )


def silence_windows(
    root: Path,
    noise_files: list[str],
    counts: dict[str, int],
    problems: list[Problem],
    validation_percentage: float = 10.0,
    testing_percentage: float = 10.0,
) -> list[Example]:
    """`counts[split]` 1-s windows (`<noise file>#<start sample>`) per split, evenly spaced.
    Each noise file is cut into consecutive train/validation/test stretches in the split
    proportions, so no stretch of noise is heard in two splits."""
    shares = {
        TRAIN: 100 - validation_percentage - testing_percentage,
        VALIDATION: validation_percentage,
        TEST: testing_percentage,
    }
    headers = []
    for file in noise_files:
        try:
            headers.append((file, *audio_info(root / file)))
        except AudioError as err:
            problems.append(Problem(file, f"{err.problem}; not used for {SILENCE}"))
    windows = []
    for split in SPLITS:
        start_share = sum(shares[s] for s in SPLITS[: SPLITS.index(split)]) / 100
        end_share = start_share + shares[split] / 100
        # (file, first start, number of valid starts, window length) of every stretch a window fits in
        stretches = []
        for file, frames, rate in headers:
            first, end = int(start_share * frames), int(end_share * frames)
            if end - first >= rate:
                stretches.append((file, first, end - first - rate + 1, rate))
        if counts[split] and not stretches:
            problems.append(
                Problem(
                    BACKGROUND_NOISE,
                    f"too little background noise for {split} "
                    f"{SILENCE} clips (each file gives {split} "
                    f"{shares[split]:g}% of its length); none made",
                )
            )
            continue
        total = sum(s[2] for s in stretches)
        for k in range(counts[split] if stretches else 0):
            position = (k * total) // counts[split]
            for file, first, starts, rate in stretches:
                if position < starts:
                    windows.append(Example(f"{file}#{first + position}", SILENCE, split, None, None, rate, rate))
                    break
                position -= starts
    return windows
