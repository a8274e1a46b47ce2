"""A dataset as an explicit list of clips (JSON), e.g. the fixed dataset `hark fix` writes:
{"format": "hark-manifest/1", "root": <data folder, absolute or relative to the manifest>,
 "name", "labels", "noise_files", "examples": [Example fields], "problems": [{path, problem}]}.
Entries that cannot be used are reported as Problems and skipped, like clips in a folder."""

from __future__ import annotations

import json
from dataclasses import asdict, fields
from pathlib import Path

from hark.data.example import SPLITS, ClipDataset, Example, Problem
from hark.errors import HarkError
from hark.fileio import write_json

FORMAT = "hark-manifest/1"
_EXAMPLE_FIELDS = {f.name for f in fields(Example)}


def write_manifest(dataset: ClipDataset, path: str | Path) -> Path:
    """Write atomically. The root is stored relative to the manifest when the data lives
    beside or below it (so both can move together), else absolute."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    root = dataset.root.resolve()
    base = path.parent.resolve()
    stored_root = root.relative_to(base).as_posix() if root.is_relative_to(base) else str(root)
    document = {
        "format": FORMAT,
        "root": stored_root,
        "name": dataset.name,
        "labels": list(dataset.labels),
        "noise_files": list(dataset.noise_files),
        "examples": [asdict(e) for e in dataset.examples],
        "problems": [asdict(p) for p in dataset.problems],
    }
    return write_json(path, document)


def read_manifest(path: str | Path) -> ClipDataset:
    path = Path(path)
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
        raise HarkError(f"{path}: not a readable hark manifest ({err})") from None
    if not isinstance(document, dict) or document.get("format") != FORMAT:
        raise HarkError(f'{path}: not a hark manifest (expected "format": "{FORMAT}")')
    missing = [key for key in ("root", "labels", "examples") if key not in document]
    if missing:
        raise HarkError(f"{path}: manifest lacks {', '.join(missing)}")
    root = (path.parent / document["root"]).resolve()
    if not root.is_dir():
        raise HarkError(f"{path}: its data folder {root} does not exist")
    labels = [str(label) for label in document["labels"]]
    problems = [Problem(str(p["path"]), str(p["problem"])) for p in document.get("problems", [])]
    examples = []
    for index, entry in enumerate(document["examples"]):
        example, problem = _example(entry, labels, root)
        if problem:
            problems.append(Problem(f"{path.name}", f"examples[{index}]: {problem}; skipped"))
        else:
            examples.append(example)
    return ClipDataset(
        root,
        examples,
        labels,
        noise_files=list(document.get("noise_files", [])),
        problems=problems,
        name=document.get("name") or path.stem,
    )


def _example(entry: object, labels: list[str], root: Path) -> tuple[Example | None, str | None]:
    if not isinstance(entry, dict) or not {"path", "label", "split"} <= entry.keys():
        return None, "needs at least path, label and split"
    try:
        example = Example(**{k: v for k, v in entry.items() if k in _EXAMPLE_FIELDS})
    except TypeError as err:
        return None, str(err)
    if example.label not in labels:
        return None, f"label {example.label!r} is not in the manifest's labels"
    if example.split not in SPLITS:
        return None, f"split {example.split!r} is not one of {', '.join(SPLITS)}"
    if not (root / example.file).is_file():
        return None, f"{example.file} does not exist"
    return example, None
