"""Any folder-per-class dataset: every sub-folder is a class, `_background_noise_` holds noise.
Speech Commands is the best-known case; its loader builds on this one.

The split comes from `validation_list.txt`/`testing_list.txt` when both exist (files in
neither are training clips, as in the official release), else from the official speaker
hash, so that no speaker spans two splits. Every file that cannot be used is reported as a
`Problem` and skipped; loading carries on with the rest."""

from __future__ import annotations

import os
import re
from collections.abc import Collection
from pathlib import Path

from tqdm import tqdm

from hark.data.audio import audio_info
from hark.data.example import ClipDataset, Example, Problem
from hark.data.naming import hash_split, is_audio_name, speaker_and_utterance
from hark.errors import AudioError, HarkError
from hark.schema import TEST, TRAIN, VALIDATION

BACKGROUND_NOISE = "_background_noise_"
LIST_FILES = {VALIDATION: "validation_list.txt", TEST: "testing_list.txt"}
# `<class>/<file>` with an audio suffix, relative, forward slashes, no `.` or `..` parts.
_LIST_ENTRY = re.compile(r"(?!.*(?:^|/)\.{1,2}(?:/|$))[^/\\\s][^/\\]*(?:/[^/\\]+)+")


def load_folder(
    root: str | Path,
    *,
    words: Collection[str] = (),
    expect_lists: bool = False,
    validation_percentage: float = 10.0,
    testing_percentage: float = 10.0,
    name: str | None = None,
) -> ClipDataset:
    """`words`: names that may prefix a speaker id (`<word>_<speaker>_nohash_<n>`) besides
    the class names. `expect_lists`: report missing list files (the official layout has them)."""
    root = Path(root)
    if not root.is_dir():
        raise HarkError(f"{root}: not a folder")
    problems: list[Problem] = []
    candidates = _class_files(root, problems)
    if not candidates:
        raise HarkError(f"{root}: no class folders with audio files (expected <class>/<clip>.wav)")
    headers = _read_headers(root, candidates, problems)
    splits = _assign_splits(root, candidates, expect_lists, problems)
    known_words = set(words) | {label for _, label in candidates}
    examples = []
    for path, label in candidates:
        if path not in headers:
            continue
        speaker, utterance = speaker_and_utterance(path, known_words)
        split = splits.get(path) or hash_split(path, speaker, validation_percentage, testing_percentage)
        frames, rate = headers[path]
        examples.append(Example(path, label, split, speaker, utterance, frames, rate))
    return ClipDataset(
        root,
        examples,
        sorted({e.label for e in examples}),
        noise_files=_noise_files(root, problems),
        problems=problems,
        name=name or root.name,
    )


def read_split_list(list_file: Path) -> tuple[list[tuple[int, str]], list[Problem]]:
    """(line number, entry) for every well-formed line; a Problem naming the line for the rest."""
    entries, problems = [], []
    # utf-8-sig: a byte-order mark (as some Windows editors write) is not part of the first entry.
    for number, raw in enumerate(list_file.read_text(encoding="utf-8-sig", errors="replace").splitlines(), 1):
        line = raw.strip()
        if not line:
            continue
        if _LIST_ENTRY.fullmatch(line) and is_audio_name(line):
            entries.append((number, line))
        else:
            problems.append(
                Problem(list_file.name, f"line {number}: {line[:80]!r} is not a <word>/<file>.wav entry; ignored")
            )
    return entries, problems


def _class_files(root: Path, problems: list[Problem]) -> list[tuple[str, str]]:
    """(path relative to root, class) for every audio file under a class folder. Symbolic
    links that lead out of the dataset are reported and left out: the clips must be the
    dataset's own (the explorer serves nothing outside it either)."""
    found = []
    real_root = os.path.realpath(root)
    for folder in sorted(p for p in root.iterdir() if p.is_dir()):
        if folder.name == BACKGROUND_NOISE or folder.name.startswith("."):
            continue
        if not _inside(real_root, folder):
            problems.append(
                Problem(
                    folder.name,
                    f"symbolic link to {os.path.realpath(folder)}, outside the dataset folder; its files are not used",
                )
            )
            continue
        for directory, subdirs, names in os.walk(folder):
            subdirs[:] = sorted(d for d in subdirs if not d.startswith("."))
            relative_dir = Path(directory).relative_to(root).as_posix()
            for name in subdirs:
                if is_audio_name(name):
                    problems.append(
                        Problem(
                            f"{relative_dir}/{name}",
                            "a folder named like an audio file, not a clip; audio files inside it are read",
                        )
                    )
            for file_name in sorted(names):
                path = f"{relative_dir}/{file_name}"
                full = os.path.join(directory, file_name)
                if not is_audio_name(file_name):
                    problems.append(Problem(path, "not an audio file (by its suffix); skipped"))
                elif os.path.islink(full) and not _inside(real_root, full):
                    problems.append(
                        Problem(path, f"symbolic link to {os.path.realpath(full)}, outside the dataset folder; skipped")
                    )
                else:
                    found.append((path, folder.name))
    return found


def _inside(real_root: str, path: str | Path) -> bool:
    real = os.path.realpath(path)
    return real == real_root or real.startswith(real_root + os.sep)


def _read_headers(root: Path, candidates: list[tuple[str, str]], problems: list[Problem]) -> dict[str, tuple[int, int]]:
    headers = {}
    base = os.fspath(root)
    for path, _ in tqdm(candidates, desc="indexing clips", unit="clip", disable=None, leave=False):
        try:
            frames, rate = audio_info(os.path.join(base, path))
        except AudioError as err:
            problems.append(Problem(path, f"{err.problem}; skipped"))
            continue
        if frames == 0:
            problems.append(Problem(path, "no audio frames; skipped"))
            continue
        headers[path] = (frames, rate)
    return headers


def _assign_splits(
    root: Path, candidates: list[tuple[str, str]], expect_lists: bool, problems: list[Problem]
) -> dict[str, str]:
    """{path: split} from the list files, or {} when the speaker hash decides."""
    present = {split: root / name for split, name in LIST_FILES.items() if (root / name).is_file()}
    if len(present) < len(LIST_FILES):
        if present or expect_lists:
            for split, name in LIST_FILES.items():
                if split not in present:
                    problems.append(Problem(name, "missing; every split is computed from the speaker hash instead"))
        return {}
    on_disk = {path for path, _ in candidates}
    splits = {path: TRAIN for path in on_disk}
    listed_in: dict[str, str] = {}
    for split, list_file in present.items():
        entries, list_problems = read_split_list(list_file)
        problems.extend(list_problems)
        for number, entry in entries:
            if entry not in on_disk:
                found = "is a folder, not a clip" if (root / entry).is_dir() else "does not exist"
                problems.append(Problem(list_file.name, f"line {number}: {entry} {found}"))
            elif entry in listed_in:
                problems.append(
                    Problem(list_file.name, f"line {number}: {entry} is also in {listed_in[entry]}; kept there")
                )
            else:
                listed_in[entry] = list_file.name
                splits[entry] = split
    return splits


def load_noise_folder(folder: str | Path) -> ClipDataset:
    """A folder of background-noise recordings on its own (e.g. another dataset's
    `_background_noise_`), for datasets that have none: a dataset of no clips whose noise files
    are the folder's audio files."""
    folder = Path(folder)
    if not folder.is_dir():
        raise HarkError(f"{folder}: noise folder not found (augment.noise_dir)")
    files = sorted(p.name for p in folder.iterdir() if p.is_file() and is_audio_name(p.name))
    if not files:
        raise HarkError(f"{folder}: no audio files in this noise folder (augment.noise_dir)")
    return ClipDataset(folder, [], [], noise_files=files, name=folder.name)


def _noise_files(root: Path, problems: list[Problem]) -> list[str]:
    """Audio files of `_background_noise_` (its README is not noise), but none from outside the
    dataset (see `_class_files`)."""
    folder = root / BACKGROUND_NOISE
    if not folder.is_dir():
        return []
    real_root, found = os.path.realpath(root), []
    for file in sorted(p for p in folder.iterdir() if p.is_file() and is_audio_name(p.name)):
        path = f"{BACKGROUND_NOISE}/{file.name}"
        if _inside(real_root, file):
            found.append(path)
        else:
            problems.append(
                Problem(
                    path, f"symbolic link to {os.path.realpath(file)}, outside the dataset folder; not used as noise"
                )
            )
    return found
