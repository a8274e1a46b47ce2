"""`hark evaluate RUN`: metrics, confusion matrices and per-clip predictions of every split.

Writes into the run folder:
- `metrics.json`: {split: {accuracy, macro_f1, per_class: {label: {precision, recall, f1, support}},
  clips, skipped}} (`clips` evaluated, `skipped` clips of the split that failed to decode)
- `predictions.parquet`: one row per decodable clip of every split (see `predictions.py`)
- `skipped.csv`: every file left out (path, split, problem); split is empty for files the
  dataset loader already rejected, before they were given a split
- `confusion/<split>.png` and `confusion/<split>.csv`"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import NamedTuple

import numpy as np
import pandas as pd

from hark import schema
from hark.data.cache import ensure_cache_writable, load_split
from hark.data.datasets import load_dataset
from hark.errors import HarkError, UsageError
from hark.evaluate.inference import resolve_device
from hark.evaluate.metrics import format_per_class, format_split_table, split_metrics
from hark.evaluate.predictions import label_indices, predictions_table, run_model, write_predictions
from hark.fileio import atomic_write, ensure_writable_dir, write_json
from hark.train.confusion_plot import save_confusion
from hark.train.metrics import confusion_matrix
from hark.train.run import load_trained

PROBLEM = "problem"  # the third column of skipped.csv


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("run", type=Path, help="run folder written by `hark train`")
    parser.add_argument("--checkpoint", default="best", help="best, last or a checkpoint path (default best)")
    parser.add_argument("--batch-size", type=int, default=256, help="clips per forward pass (default 256)")
    parser.add_argument("--device", default="auto", help="auto, cpu, cuda, cuda:N (default auto)")


class RunEvaluation(NamedTuple):
    metrics: dict[str, dict]  # as written to metrics.json
    skipped: list[dict]  # {path, split, problem} of every file left out


def evaluate_run(run_dir: Path, checkpoint: str = "best", batch_size: int = 256,
                 device: str = "auto") -> RunEvaluation:
    """Evaluate every split of the run's dataset and write the run folder's evaluation files."""
    run_dir = Path(run_dir)
    if not run_dir.is_dir():
        raise HarkError(f"{run_dir}: no such run folder")
    ensure_writable_dir(run_dir, "run folder")
    ensure_writable_dir(run_dir / schema.CONFUSION_DIR, "confusion-matrix folder")
    ensure_cache_writable()
    trained = load_trained(run_dir, checkpoint=checkpoint)
    data = trained.config.data
    dataset = load_dataset(trained.dataset_source, task=data.task)
    labels = list(trained.labels)
    torch_device = resolve_device(device)
    metrics: dict[str, dict] = {}
    tables = []
    skipped = [{schema.PATH: p.path, schema.SPLIT: "", PROBLEM: p.problem} for p in dataset.problems]
    confusions = run_dir / schema.CONFUSION_DIR
    confusions.mkdir(exist_ok=True)
    for split in schema.SPLITS:
        cached = load_split(dataset, split, data.sample_rate, data.num_samples)
        rows = np.flatnonzero(cached.valid)
        skipped += [{schema.PATH: p.path, schema.SPLIT: split, PROBLEM: p.problem} for p in cached.problems]
        if not len(rows):
            print(f"{split}: left out, {'none of its clips decode' if len(cached) else 'no clips'}")
            continue
        examples = [cached.examples[i] for i in rows]
        outputs = run_model(trained.model, cached.waves, rows, batch_size=batch_size, device=torch_device)
        table = predictions_table(examples, outputs, labels)
        tables.append(table)
        y_true = label_indices(examples, labels)
        y_pred = outputs.logits.argmax(axis=1)
        metrics[split] = {
            **split_metrics(y_true, y_pred, labels),
            "clips": len(examples),
            "skipped": len(cached.problems),
        }
        save_confusion(confusion_matrix(y_true, y_pred, np.arange(len(labels))), labels,
                       confusions / f"{split}.png", confusions / f"{split}.csv",
                       title=f"{split} ({len(examples)} clips)")
    write_json(run_dir / schema.METRICS_FILE, metrics)
    frame = pd.DataFrame(skipped, columns=[schema.PATH, schema.SPLIT, PROBLEM])
    atomic_write(run_dir / schema.SKIPPED_FILE, lambda temporary: frame.to_csv(temporary, index=False))
    if tables:
        write_predictions(tables, run_dir / schema.PREDICTIONS_FILE)
    return RunEvaluation(metrics, skipped)


def run(args: argparse.Namespace) -> int:
    if args.batch_size < 1:
        raise UsageError(f"--batch-size {args.batch_size}: must be at least 1")
    metrics, skipped = evaluate_run(args.run, args.checkpoint, args.batch_size, args.device)
    for entry in skipped:
        where = f" ({entry[schema.SPLIT]})" if entry[schema.SPLIT] else ""
        print(f"skipped {entry[schema.PATH]}{where}: {entry[PROBLEM]}")
    print(format_split_table(metrics))
    last = schema.TEST if schema.TEST in metrics else next(reversed(metrics), None)
    if last:
        print()
        print(format_per_class(metrics[last], title=f"per class, {last} split (worst F1 first):"))
    print(f"\nwrote {args.run / schema.METRICS_FILE}, {args.run / schema.PREDICTIONS_FILE} "
          f"and {args.run / schema.CONFUSION_DIR}/")
    return 0
