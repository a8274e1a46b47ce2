"""The one shape every dataset takes: a list of `Example`s under a root folder."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from hark.schema import SPLITS, window_of


@dataclass(frozen=True)
class Example:
    """One clip. `path` is relative to the dataset root with forward slashes, as in the
    official split lists, and is the clip's identity everywhere downstream (predictions,
    analysis, explorer). A path ending in `#N` names the model's input length from sample N of
    a longer file (the 12-class task cuts its `_silence_` clips from background noise so), and
    `#N-M` the samples N to M (a manifest's start/end): see `hark.schema.window_of`."""

    path: str
    label: str
    split: str
    speaker_id: str | None = None
    utterance_number: int | None = None
    num_samples: int = 0
    sample_rate: int = 0

    @property
    def file(self) -> str:
        return window_of(self.path)[0]

    @property
    def offset(self) -> int:
        return window_of(self.path)[1]


@dataclass(frozen=True)
class Problem:
    """Something wrong with one file, found while loading or checking; never fatal."""

    path: str
    problem: str

    def __str__(self) -> str:
        return f"{self.path}: {self.problem}"


@dataclass
class ClipDataset:
    """Examples, their class names (index = class id) and the background-noise files."""

    root: Path
    examples: list[Example]
    labels: list[str]
    noise_files: list[str] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    name: str = "dataset"

    def __post_init__(self) -> None:
        self.root = Path(self.root)
        unknown = {e.label for e in self.examples} - set(self.labels)
        if unknown:
            raise ValueError(f"{self.root}: examples use labels not in the class list: {sorted(unknown)}")

    def __len__(self) -> int:
        return len(self.examples)

    def __getitem__(self, index: int) -> Example:
        return self.examples[index]

    def split(self, name: str) -> list[Example]:
        if name not in SPLITS:
            raise ValueError(f"unknown split {name!r}; valid: {', '.join(SPLITS)}")
        return [e for e in self.examples if e.split == name]

    def label_index(self, label: str) -> int:
        return self.labels.index(label)

    def abspath(self, example: Example | str) -> Path:
        path = example.file if isinstance(example, Example) else window_of(str(example))[0]
        return self.root / path

    def counts(self) -> dict[str, dict[str, int]]:
        """{split: {label: count}} for every split that has examples."""
        per_split: dict[str, Counter] = {}
        for e in self.examples:
            per_split.setdefault(e.split, Counter())[e.label] += 1
        return {s: dict(sorted(c.items())) for s, c in per_split.items()}
