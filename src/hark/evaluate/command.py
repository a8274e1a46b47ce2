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
import json
from pathlib import Path
from typing import NamedTuple

import numpy as np
import pandas as pd

from hark.data.example import SPLITS
from hark.errors import HarkError, UsageError
from hark.evaluate.confusion_plot import save_confusion
from hark.evaluate.inference import resolve_device
from hark.evaluate.metrics import confusion, format_per_class, format_summary, split_metrics
from hark.evaluate.predictions import label_indices, predictions_table, run_model, write_predictions
from hark.fileio import ensure_writable_dir


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("run", type=Path, help="run folder written by `hark train`")
    parser.add_argument("--checkpoint", default="best", help="best, last or a checkpoint path (default best)")
    parser.add_argument("--batch-size", type=int, default=256, help="clips per forward pass (default 256)")
    parser.add_argument("--device", default="auto", help="auto, cpu, cuda, cuda:N (default auto)")


class Evaluation(NamedTuple):
    metrics: dict[str, dict]  # as written to metrics.json
    skipped: list[dict]  # {path, split, problem} of every file left out


def evaluate_run(run_dir: Path, checkpoint: str = "best", batch_size: int = 256, device: str = "auto") -> Evaluation:
    """Evaluate every split of the run's dataset and write the run folder's evaluation files."""
    from hark.data.cache import ensure_cache_writable, load_split
    from hark.data.datasets import load_dataset
    from hark.train.run import load_run

    if not Path(run_dir).is_dir():
        raise HarkError(f"{run_dir}: no such run folder")
    ensure_writable_dir(run_dir, "run folder")
    ensure_writable_dir(run_dir / "confusion", "confusion-matrix folder")
    ensure_cache_writable()
    run = load_run(run_dir, checkpoint=checkpoint)
    data = run.config.data
    dataset = load_dataset(run.dataset_source, task=data.task)
    labels = list(run.labels)
    torch_device = resolve_device(device)
    metrics: dict[str, dict] = {}
    tables = []
    skipped = [{"path": p.path, "split": "", "problem": p.problem} for p in dataset.problems]
    (run_dir / "confusion").mkdir(exist_ok=True)
    for split in SPLITS:
        cached = load_split(dataset, split, data.sample_rate, data.num_samples)
        rows = np.flatnonzero(cached.valid)
        skipped += [{"path": p.path, "split": split, "problem": p.problem} for p in cached.problems]
        if not len(rows):
            print(f"{split}: left out, {'none of its clips decode' if len(cached) else 'no clips'}")
            continue
        examples = [cached.examples[i] for i in rows]
        outputs = run_model(run.model, cached.waves, rows, batch_size=batch_size, device=torch_device)
        table = predictions_table(examples, outputs, labels)
        tables.append(table)
        y_true = label_indices(examples, labels)
        y_pred = outputs.logits.argmax(axis=1)
        metrics[split] = {
            **split_metrics(y_true, y_pred, labels),
            "clips": len(examples),
            "skipped": len(cached.problems),
        }
        save_confusion(confusion(y_true, y_pred, len(labels)), labels,
                       run_dir / "confusion" / f"{split}.png", run_dir / "confusion" / f"{split}.csv",
                       title=f"{split} ({len(examples)} clips)")
    (run_dir / "metrics.json").write_text(json.dumps(metrics, indent=2) + "\n")
    pd.DataFrame(skipped, columns=["path", "split", "problem"]).to_csv(run_dir / "skipped.csv", index=False)
    if tables:
        write_predictions(tables, run_dir / "predictions.parquet")
    return Evaluation(metrics, skipped)


def run(args: argparse.Namespace) -> int:
    if args.batch_size < 1:
        raise UsageError(f"--batch-size {args.batch_size}: must be at least 1")
    metrics, skipped = evaluate_run(args.run, args.checkpoint, args.batch_size, args.device)
    for entry in skipped:
        print(f"skipped {entry['path']}{' (' + entry['split'] + ')' if entry['split'] else ''}: {entry['problem']}")
    print(format_summary(metrics))
    last = "test" if "test" in metrics else next(reversed(metrics), None)
    if last:
        print()
        print(format_per_class(metrics[last], title=f"per class, {last} split (worst F1 first):"))
    print(f"\nwrote {args.run / 'metrics.json'}, {args.run / 'predictions.parquet'} and {args.run / 'confusion'}/")
    return 0
