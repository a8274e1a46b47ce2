"""A trained run evaluated on another dataset (`hark evaluate RUN --data OTHER`): the dataset's
labels brought into the model's terms, and the evaluation folder `RUN/eval/<name>/`.

A label the model knows passes through; `--label-map` (a CSV `from,to`) renames the others;
whatever is left becomes `schema.UNKNOWN_TO_MODEL`, counted in its own row of the metrics and
the confusion matrix (the model can never be right about it), never dropped. The folder gets a
`config.json` (the run's, with this dataset as its source and `schema.PREDICTIONS_ORIGIN_KEY`
saying where the predictions came from) so that `hark analyze` and `hark explore` accept it."""

from __future__ import annotations

import csv
import re
from collections import Counter
from dataclasses import replace
from pathlib import Path

from hark import schema
from hark.data.example import ClipDataset
from hark.errors import HarkError, UsageError
from hark.fileio import write_json
from hark.runfiles import read_json

LABEL_MAP_COLUMNS = ("from", "to")


def read_label_map(path: str | Path, model_labels: list[str]) -> dict[str, str]:
    """{dataset label: model label}; `to` may also be `schema.UNKNOWN_TO_MODEL`."""
    path = Path(path)
    try:
        with path.open(newline="", encoding="utf-8-sig") as handle:
            reader = csv.DictReader(handle)
            columns = [c.strip() for c in reader.fieldnames or []]
            if not set(LABEL_MAP_COLUMNS) <= set(columns):
                raise UsageError(
                    f"{path}: a label map needs the columns {','.join(LABEL_MAP_COLUMNS)} "
                    f"(has: {', '.join(columns) or 'none'})"
                )
            rows = [(reader.line_num, {k.strip(): (v or "").strip() for k, v in row.items() if k}) for row in reader]
    except (OSError, UnicodeDecodeError) as err:
        raise HarkError(f"{path}: cannot read the label map ({err})") from None
    mapping: dict[str, str] = {}
    allowed = set(model_labels) | {schema.UNKNOWN_TO_MODEL}
    for line, row in rows:
        source, target = row["from"], row["to"]
        if not source:
            raise UsageError(f"{path}: line {line}: empty `from` label")
        if target not in allowed:
            raise UsageError(
                f"{path}: line {line}: {target!r} is not a label of the model "
                f"({', '.join(model_labels[:12])}{', ...' if len(model_labels) > 12 else ''})"
            )
        if source in mapping and mapping[source] != target:
            raise UsageError(f"{path}: line {line}: {source!r} is mapped twice")
        mapping[source] = target
    return mapping


def to_model_labels(
    dataset: ClipDataset, model_labels: list[str], label_map: dict[str, str]
) -> tuple[ClipDataset, dict[str, int]]:
    """The dataset with every label in the model's terms, and {dataset label: clips} of those
    that became `schema.UNKNOWN_TO_MODEL`. Paths stay as they are: they are the clips' identity."""
    known = set(model_labels)

    def model_label(label: str) -> str:
        mapped = label_map.get(label, label)
        return mapped if mapped in known else schema.UNKNOWN_TO_MODEL

    examples = [replace(e, label=model_label(e.label)) for e in dataset.examples]
    unknown = Counter(
        e.label for e, m in zip(dataset.examples, examples, strict=True) if m.label == schema.UNKNOWN_TO_MODEL
    )
    labels = list(model_labels) + ([schema.UNKNOWN_TO_MODEL] if unknown else [])
    mapped = ClipDataset(
        dataset.root, examples, labels, noise_files=dataset.noise_files, problems=dataset.problems, name=dataset.name
    )
    return mapped, dict(sorted(unknown.items()))


def eval_folder(run_dir: Path, name: str) -> Path:
    """`RUN/eval/<name>/`, the name made safe as one folder name."""
    safe = re.sub(r"[^A-Za-z0-9._-]+", "-", name).strip(".-") or "dataset"
    return Path(run_dir) / schema.EVAL_DIR / safe


def write_eval_config(
    run_dir: Path, out: Path, source: str, checkpoint: Path, label_map: Path | None, unknown: dict[str, int]
) -> Path:
    """The run's config.json with `source` as its dataset, plus where the predictions came from."""
    config = read_json(run_dir / schema.CONFIG_FILE, "training config", f"hark train DATA --out {run_dir}")
    config["data"] = {**config.get("data", {}), "source": str(Path(source).resolve())}
    config[schema.PREDICTIONS_ORIGIN_KEY] = {
        "kind": schema.ORIGIN_CROSS_DATASET,
        "run": str(Path(run_dir).resolve()),
        "checkpoint": str(checkpoint),
        "label_map": str(label_map.resolve()) if label_map else None,
        "unknown_to_model": unknown,
    }
    return write_json(out / schema.CONFIG_FILE, config)
