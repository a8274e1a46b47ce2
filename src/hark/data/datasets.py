"""The one entry point to every dataset hark reads: `load_dataset(source, task, version)`."""

from __future__ import annotations

from dataclasses import dataclass, fields
from pathlib import Path

from hark.data.archive import archive_stem, extract_cached, is_archive
from hark.data.example import SPLITS, ClipDataset
from hark.data.folder import load_folder
from hark.data.hf import is_hf_source, load_hf
from hark.data.index_cache import index_cached
from hark.data.manifest import read_manifest
from hark.data.speechbrain import is_speechbrain_csv, load_speechbrain, speechbrain_files
from hark.data.speech_commands import REFERENCE_SEED, WORDS, is_speech_commands, load_speech_commands, twelve_class_task
from hark.data.tabular import is_table_manifest, load_table_manifest
from hark.errors import HarkError, UsageError
from hark.schema import TASKS


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
    `version` is given), any folder-per-class dataset or archive, a hark manifest `.json`, a
    CSV/TSV/JSONL manifest, SpeechBrain's CSVs (a file or their folder), or a Hugging Face
    dataset (a `save_to_disk` folder or a Parquet file with an Audio column).
    `task`: "all" (every class) or "12" (ten words + `_silence_` + `_unknown_`).
    `opts`: fields of `LoadOptions`."""
    try:
        options = LoadOptions(**opts)
    except TypeError:
        valid = ", ".join(f.name for f in fields(LoadOptions))
        raise UsageError(f"unknown dataset option(s) {', '.join(sorted(opts))}; valid: {valid}") from None
    if task not in TASKS:
        raise UsageError(f"unknown task {task!r}; valid: {', '.join(TASKS)}")
    path = Path(source).expanduser()
    if not path.exists():
        raise HarkError(f"{path}: no such file or folder")
    listed = _load_listed(path, options)
    if listed is not None:
        if version is not None:
            raise UsageError(f"{path}: a manifest lists its clips; --version applies to Speech Commands folders")
        dataset = listed
    else:
        packed = path.is_file() and is_archive(path)
        root = extract_cached(path) if packed else path
        if not root.is_dir():
            raise HarkError(
                f"{path}: not a dataset (expected a folder, a .tar.gz/.tgz archive, a manifest "
                ".json/.csv/.tsv/.jsonl or a Hugging Face .parquet)"
            )
        dataset = _load_folder_dataset(root, version, options, archive_stem(path) if packed else root.name)
    if task == "12":
        dataset = twelve_class_task(
            dataset,
            silence_percentage=options.silence_percentage,
            unknown_percentage=options.unknown_percentage,
            seed=options.seed,
            validation_percentage=options.validation_percentage,
            testing_percentage=options.testing_percentage,
        )
    return dataset


def dataset_root(source: str | Path, base: Path | None = None) -> Path:
    """The folder a dataset's clip paths are relative to: a folder is its own root, an archive's
    is where it is extracted, a source that lists its clips (manifest, SpeechBrain, Hugging
    Face) names or makes its own. A relative `source` missing from the working folder is looked
    for under `base` (a run folder)."""
    candidates = [Path(source).expanduser()] + ([Path(base) / source] if base is not None else [])
    path = next((c for c in candidates if c.exists()), None)
    if path is None:
        raise HarkError(f"{source}: dataset not found")
    if path.is_file() and is_archive(path):
        return extract_cached(path).resolve()
    listed = _load_listed(path, LoadOptions())
    if listed is not None:
        return listed.root.resolve()
    if path.is_dir():
        return path.resolve()
    raise HarkError(
        f"{path}: not a dataset (expected a folder, a .tar.gz/.tgz archive, a manifest "
        ".json/.csv/.tsv/.jsonl or a Hugging Face .parquet)"
    )


def _load_listed(path: Path, options: LoadOptions) -> ClipDataset | None:
    """A source that lists its clips (manifests, SpeechBrain CSVs, Hugging Face), else None."""
    percentages = {
        "validation_percentage": options.validation_percentage,
        "testing_percentage": options.testing_percentage,
    }
    if path.is_file() and path.suffix.lower() == ".json":
        return read_manifest(path)
    if is_hf_source(path):
        return load_hf(path, **percentages)
    if is_speechbrain_csv(path) or (path.is_dir() and speechbrain_files(path)):
        return load_speechbrain(path, **percentages)
    if is_table_manifest(path):
        return load_table_manifest(path, **percentages)
    return None


def _load_folder_dataset(root: Path, version: str | None, options: LoadOptions, name: str) -> ClipDataset:
    percentages = {
        "validation_percentage": options.validation_percentage,
        "testing_percentage": options.testing_percentage,
    }
    if is_speech_commands(root):
        return load_speech_commands(root, version, **percentages)
    if version is not None:
        raise UsageError(
            f"{root}: not Speech Commands (its folders are not all Speech Commands words); "
            "drop --version to load it as a folder-per-class dataset"
        )
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
