"""The one entry point to every dataset hark reads: `load_dataset(source, task, version)`."""

from __future__ import annotations

from dataclasses import dataclass, fields
from pathlib import Path

from hark.data.archive import archive_stem, extract_cached, is_archive
from hark.data.example import SPLITS, ClipDataset
from hark.data.folder import load_folder
from hark.data.index_cache import index_cached
from hark.data.manifest import read_manifest
from hark.data.speech_commands import REFERENCE_SEED, WORDS, is_speech_commands, load_speech_commands, twelve_class_task
from hark.errors import HarkError

TASKS = ("all", "12")


@dataclass
class LoadOptions:
    """Percentages of the hash split (when there are no list files) and of the 12-class task's
    `_silence_`/`_unknown_` clips (relative to a split's word clips), and the seed choosing
    the `_unknown_` clips. Defaults are the official/reference values."""

    validation_percentage: float = 10.0
    testing_percentage: float = 10.0
    silence_percentage: float = 10.0
    unknown_percentage: float = 10.0
    seed: int = REFERENCE_SEED


@index_cached
def load_dataset(source: str | Path, task: str = "all", version: str | None = None, **opts) -> ClipDataset:
    """`source`: a Speech Commands folder or `.tar.gz`/`.tgz` (v0.01/v0.02, detected unless
    `version` is given), any folder-per-class dataset or archive, or a hark manifest `.json`.
    `task`: "all" (every class) or "12" (ten words + `_silence_` + `_unknown_`).
    `opts`: fields of `LoadOptions`."""
    try:
        options = LoadOptions(**opts)
    except TypeError:
        valid = ", ".join(f.name for f in fields(LoadOptions))
        raise HarkError(f"unknown dataset option(s) {', '.join(sorted(opts))}; valid: {valid}") from None
    if task not in TASKS:
        raise HarkError(f"unknown task {task!r}; valid: {', '.join(TASKS)}")
    path = Path(source).expanduser()
    if not path.exists():
        raise HarkError(f"{path}: no such file or folder")
    if path.is_file() and path.suffix.lower() == ".json":
        if version is not None:
            raise HarkError(f"{path}: a manifest lists its clips; --version applies to Speech Commands folders")
        dataset = read_manifest(path)
    else:
        packed = path.is_file() and is_archive(path)
        root = extract_cached(path) if packed else path
        if not root.is_dir():
            raise HarkError(f"{path}: not a dataset (expected a folder, .tar.gz/.tgz archive or manifest .json)")
        dataset = _load_folder_dataset(root, version, options, archive_stem(path) if packed else root.name)
    if task == "12":
        dataset = twelve_class_task(
            dataset, silence_percentage=options.silence_percentage, unknown_percentage=options.unknown_percentage,
            seed=options.seed, validation_percentage=options.validation_percentage,
            testing_percentage=options.testing_percentage)
    return dataset


def _load_folder_dataset(root: Path, version: str | None, options: LoadOptions, name: str) -> ClipDataset:
    percentages = {"validation_percentage": options.validation_percentage,
                   "testing_percentage": options.testing_percentage}
    if is_speech_commands(root):
        return load_speech_commands(root, version, **percentages)
    if version is not None:
        raise HarkError(f"{root}: not Speech Commands (its folders are not all Speech Commands words); "
                        "drop --version to load it as a folder-per-class dataset")
    # Speech Commands words may prefix speaker ids even here (`_unknown_/backward_<speaker>_nohash_0`).
    return load_folder(root, words=WORDS["v0.02"], name=name, **percentages)


def describe(dataset: ClipDataset, max_problems: int = 10) -> str:
    """A few lines for the terminal: size, classes, splits, noise, and what could not be loaded."""
    counts = dataset.counts()
    per_class = [sum(c.get(label, 0) for c in counts.values()) for label in dataset.labels]
    lines = [
        f"{dataset.name}: {len(dataset)} clips, {len(dataset.labels)} classes ({dataset.root})",
        "  " + ", ".join(f"{split} {sum(counts.get(split, {}).values())}" for split in SPLITS),
        f"  clips per class: {min(per_class, default=0)}-{max(per_class, default=0)}; "
        f"background noise files: {len(dataset.noise_files)}",
        f"  problems: {len(dataset.problems)}" + (" (files skipped or entries ignored)" if dataset.problems else ""),
    ]
    lines += [f"    {problem}" for problem in dataset.problems[:max_problems]]
    if len(dataset.problems) > max_problems:
        lines.append(f"    ... and {len(dataset.problems) - max_problems} more")
    return "\n".join(lines)

