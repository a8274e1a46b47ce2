"""`hark evaluate RUN`: metrics, confusion matrices and per-clip predictions of every split.

Writes into the run folder:
- `metrics.json`: {split: {accuracy, macro_f1, per_class: {label: {precision, recall, f1, support}},
  clips, skipped}} (`clips` evaluated, `skipped` clips of the split that failed to decode)
- `predictions.parquet`: one row per decodable clip of every split (see `predictions.py`)
- `skipped.csv`: every file left out (path, split, problem); split is empty for files the
  dataset loader already rejected, before they were given a split
- `confusion/<split>.png` and `confusion/<split>.csv`

`--data OTHER` writes the same files for another dataset into `RUN/eval/<name>/`, plus an `all`
entry over every split, a `source_label` column and a `config.json` (see `cross.py`)."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import NamedTuple

import numpy as np
import pandas as pd
import pyarrow as pa

from hark import schema
from hark.data.example import SPLITS
from hark.errors import HarkError, UsageError
from hark.evaluate.cross import eval_folder, read_label_map, to_model_labels, write_eval_config
from hark.fileio import atomic_write, ensure_writable_dir, write_json
from hark.train.confusion_plot import save_confusion
from hark.train.devices import torch_device
from hark.train.metrics import confusion_matrix
from hark.runfiles import read_json
from hark.evaluate.metrics import format_per_class, format_split_table, split_metrics
from hark.data.cache import ensure_cache_writable
from hark.evaluate.predictions import label_indices, predictions_table, run_model, write_predictions

ALL_SPLITS = "all"  # RUN/eval/<name>/metrics.json: every split of the other dataset together


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("run", type=Path, help="run folder written by `hark train`")
    parser.add_argument("--checkpoint", default="best", help="best, last or a checkpoint path (default best)")
    parser.add_argument("--batch-size", type=int, default=256, help="clips per forward pass (default 256)")
    parser.add_argument("--device", default="auto", help="auto, cpu, cuda, cuda:N (default auto)")
    parser.add_argument(
        "--data",
        help="evaluate on this dataset instead (any DATA that `hark train` takes); "
        "writes RUN/eval/<name>/ and never touches the run's own evaluation",
    )
    parser.add_argument(
        "--label-map",
        type=Path,
        help="with --data: CSV with columns from,to renaming the "
        "dataset's labels to the model's; other unknown labels are "
        f"counted as {schema.UNKNOWN_TO_MODEL}",
    )
    parser.add_argument("--name", help="with --data: the folder name under RUN/eval/ (default: the dataset's name)")
    parser.add_argument(
        "--task", choices=schema.TASKS, default="all", help="with --data: the dataset's task (default all)"
    )


class RunEvaluation(NamedTuple):
    metrics: dict[str, dict]  # as written to metrics.json
    skipped: list[dict]  # {path, split, problem} of every file left out
    out_dir: Path  # where the files went: the run folder, or RUN/eval/<name>/
    unknown: dict[str, int]  # cross-dataset: {dataset label: clips} the model does not know


def configured_source(run_dir: Path, checkpoint_source: str) -> str:
    """The dataset in the run's config.json (edit it, or pass --data, after moving the data);
    the one saved in the checkpoint only when config.json names none."""
    config = read_json(run_dir / schema.CONFIG_FILE, "training config", f"hark train DATA --out {run_dir}", default={})
    source = (config.get("data") or {}).get("source") if isinstance(config, dict) else None
    return str(source or checkpoint_source)


def evaluate_run(
    run_dir: Path,
    checkpoint: str = "best",
    batch_size: int = 256,
    device: str = "auto",
    data: str | None = None,
    label_map: Path | None = None,
    name: str | None = None,
    task: str = "all",
) -> RunEvaluation:
    """Evaluate every split of the run's dataset and write the run folder's evaluation files;
    with `data`, evaluate that dataset instead into `RUN/eval/<name>/` (see `cross.py`)."""
    from hark.data.cache import load_split
    from hark.data.datasets import load_dataset
    from hark.train.run import load_trained

    run_dir = Path(run_dir)
    if data is None and (label_map or name):
        raise UsageError("--label-map and --name apply to an evaluation on another dataset (--data)")
    if not run_dir.is_dir():
        raise HarkError(f"{run_dir}: no such run folder")
    # The output folder is checked before any work, when its name is known without the dataset.
    out_dir = run_dir if data is None else eval_folder(run_dir, name) if name else None
    if out_dir is not None:
        _check_writable(out_dir)
    ensure_cache_writable()
    run = load_trained(run_dir, checkpoint=checkpoint)
    data_config = run.config.data
    labels = list(run.labels)
    unknown: dict[str, int] = {}
    source_labels: dict[str, str] | None = None  # cross-dataset: {path: the dataset's own label}
    if data is None:
        dataset = load_dataset(configured_source(run_dir, run.dataset_source), task=data_config.task)
    else:
        other = load_dataset(data, task=task)
        dataset, unknown = to_model_labels(other, labels, read_label_map(label_map, labels) if label_map else {})
        if out_dir is None:
            out_dir = _check_writable(eval_folder(run_dir, other.name))
        source_labels = {e.path: e.label for e in other.examples}
    # The model's class order; across datasets, plus the row of clips it cannot know (see cross.py).
    classes = dataset.labels if source_labels is not None else labels
    on = torch_device(device)
    metrics: dict[str, dict] = {}
    tables, truths, guesses = [], [], []
    skipped = [{"path": p.path, "split": "", "problem": p.problem} for p in dataset.problems]
    for split in SPLITS:
        cached = load_split(dataset, split, data_config.sample_rate, data_config.num_samples)
        rows = np.flatnonzero(cached.valid)
        skipped += [{"path": p.path, "split": split, "problem": p.problem} for p in cached.problems]
        if not len(rows):
            print(f"{split}: left out, {'none of its clips decode' if len(cached) else 'no clips'}")
            continue
        examples = [cached.examples[i] for i in rows]
        outputs = run_model(run.model, cached.waves, rows, batch_size=batch_size, device=on)
        table = predictions_table(
            examples, outputs, labels, data_root=dataset.root.resolve(), unknown_ok=source_labels is not None
        )
        if source_labels is not None:
            table = table.append_column(schema.SOURCE_LABEL, pa.array([source_labels[e.path] for e in examples]))
        tables.append(table)
        y_true = label_indices(examples, classes)
        y_pred = outputs.logits.argmax(axis=1)
        truths.append(y_true)
        guesses.append(y_pred)
        metrics[split] = _metrics(y_true, y_pred, classes, len(examples), len(cached.problems))
        _save_confusion(out_dir, split, y_true, y_pred, classes, f"{split} ({len(examples)} clips)")
    if source_labels is not None and truths:
        y_true, y_pred = np.concatenate(truths), np.concatenate(guesses)
        metrics[ALL_SPLITS] = _metrics(
            y_true, y_pred, classes, len(y_true), sum(m["skipped"] for m in metrics.values())
        )
        _save_confusion(
            out_dir, ALL_SPLITS, y_true, y_pred, classes, f"{dataset.name}, every split ({len(y_true)} clips)"
        )
    write_json(out_dir / schema.METRICS_FILE, metrics)
    atomic_write(
        out_dir / schema.SKIPPED_FILE,
        lambda p: pd.DataFrame(skipped, columns=["path", "split", "problem"]).to_csv(p, index=False),
    )
    if tables:
        write_predictions(tables, out_dir / schema.PREDICTIONS_FILE)
    if source_labels is not None:
        write_eval_config(run_dir, out_dir, data, run.checkpoint, label_map, unknown)
    return RunEvaluation(metrics, skipped, out_dir, unknown)


def _check_writable(out_dir: Path) -> Path:
    ensure_writable_dir(out_dir, "evaluation folder")
    ensure_writable_dir(out_dir / schema.CONFUSION_DIR, "confusion-matrix folder")
    return out_dir


def _save_confusion(
    out_dir: Path, name: str, y_true: np.ndarray, y_pred: np.ndarray, labels: list[str], title: str
) -> None:
    folder = out_dir / schema.CONFUSION_DIR
    save_confusion(
        confusion_matrix(y_true, y_pred, np.arange(len(labels))),
        labels,
        folder / f"{name}.png",
        folder / f"{name}.csv",
        title=title,
    )


def _metrics(y_true: np.ndarray, y_pred: np.ndarray, labels: list[str], clips: int, skipped: int) -> dict:
    entry = {**split_metrics(y_true, y_pred, labels), "clips": clips, "skipped": skipped}
    if schema.UNKNOWN_TO_MODEL in labels:
        known = y_true != labels.index(schema.UNKNOWN_TO_MODEL)
        entry["unknown_to_model"] = int((~known).sum())
        entry["accuracy_known"] = float((y_true[known] == y_pred[known]).mean()) if known.any() else 0.0
    return entry


def run(args: argparse.Namespace) -> int:
    if args.batch_size < 1:
        raise UsageError(f"--batch-size {args.batch_size}: must be at least 1")
    metrics, skipped, out, unknown = evaluate_run(
        args.run, args.checkpoint, args.batch_size, args.device, args.data, args.label_map, args.name, args.task
    )
    for entry in skipped:
        print(f"skipped {entry['path']}{' (' + entry['split'] + ')' if entry['split'] else ''}: {entry['problem']}")
    print(format_split_table(metrics))
    last = next((s for s in (ALL_SPLITS, "test") if s in metrics), next(reversed(metrics), None))
    if last:
        print()
        print(format_per_class(metrics[last], title=f"per class, {last} split (worst F1 first):"))
    if unknown:
        listed = ", ".join(f"{label} ({count})" for label, count in list(unknown.items())[:10])
        print(
            f"\n{sum(unknown.values())} clips have labels the model does not know, counted as "
            f"{schema.UNKNOWN_TO_MODEL} (always wrong): {listed}; map them with --label-map FROM,TO"
        )
    print(f"\nwrote {out / schema.METRICS_FILE}, {out / schema.PREDICTIONS_FILE} and {out / 'confusion'}/")
    return 0
