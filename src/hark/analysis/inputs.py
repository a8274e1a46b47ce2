"""A run folder as analysis sees it: config, metrics, history and per-clip predictions, checked
up front so that a bad run gives one clear message instead of a traceback halfway through."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from hark import schema
from hark.errors import HarkError
from hark.runfiles import read_json, read_labels, read_table

MIN_CLIPS = 30


@dataclass
class RunData:
    run_dir: Path
    config: dict
    labels: list[str]
    clips: pd.DataFrame  # the predictions without the vector columns
    probs: np.ndarray  # [N, C], class order = labels
    embeddings: np.ndarray  # [N, D]
    metrics: dict
    history: pd.DataFrame | None

    @property
    def source(self) -> str:
        return str(self.config.get("data", {}).get("source", ""))

    @property
    def task(self) -> str:
        return str(self.config.get("data", {}).get("task", "all"))

    @property
    def sample_rate(self) -> int:
        return int(self.config.get("data", {}).get("sample_rate", 16000))

    @property
    def targets(self) -> np.ndarray:
        index = {label: i for i, label in enumerate(self.labels)}
        return self.clips[schema.LABEL].map(index).to_numpy()


def _matrix(column: pd.Series, path: Path, name: str) -> np.ndarray:
    widths = column.map(lambda v: -1 if v is None else len(v))
    if widths.nunique() != 1 or widths.iloc[0] <= 0:
        raise HarkError(f"{path}: column {name!r} must hold one non-empty vector of the same length per clip")
    matrix = np.stack(column.to_numpy()).astype(np.float32)
    bad = ~np.isfinite(matrix).all(axis=1)
    if bad.any():
        examples = ", ".join(column.index[bad][:3].astype(str))
        raise HarkError(
            f"{path}: {int(bad.sum())} clip(s) have NaN or infinite values in {name!r} "
            f"(rows {examples}); re-run `hark evaluate`"
        )
    return matrix


def load_run_data(run_dir: str | Path) -> RunData:
    run_dir = Path(run_dir)
    if not run_dir.is_dir():
        raise HarkError(f"{run_dir}: no such run folder")
    config = read_json(run_dir / schema.CONFIG_FILE, "training config", f"hark train DATA --out {run_dir}")
    metrics = read_json(run_dir / schema.METRICS_FILE, "metrics", f"hark evaluate {run_dir}", default={})
    path = run_dir / schema.PREDICTIONS_FILE
    table = read_table(path, "predictions", f"hark evaluate {run_dir}", schema.PREDICTION_COLUMNS)
    frame = table.to_pandas()
    labels = config.get(schema.LABELS_KEY) or read_labels(table)
    if not labels:
        raise HarkError(f"{run_dir / schema.CONFIG_FILE}: no class list ('{schema.LABELS_KEY}')")
    if len(frame) < MIN_CLIPS:
        raise HarkError(
            f"{path}: only {len(frame)} clips; analysis needs at least {MIN_CLIPS} to say anything reliable"
        )
    if len(labels) < 2 or frame[schema.LABEL].nunique() < 2:
        raise HarkError(
            f"{path}: a single class ({frame[schema.LABEL].iloc[0]!r}); there is nothing to confuse it with"
        )
    unknown = sorted(map(str, (set(frame[schema.LABEL]) | set(frame[schema.PRED])) - set(labels)))
    if unknown:
        raise HarkError(f"{path}: labels not in the run's class list: {', '.join(unknown[:5])}")
    probs = _matrix(frame[schema.PROBS], path, schema.PROBS)
    if probs.shape[1] != len(labels):
        raise HarkError(
            f"{path}: probability vectors have {probs.shape[1]} entries but the run has {len(labels)} classes"
        )
    embeddings = _matrix(frame[schema.EMBEDDING], path, schema.EMBEDDING)
    history_path = run_dir / schema.HISTORY_FILE
    history = pd.read_csv(history_path) if history_path.exists() else None
    clips = frame.drop(columns=[schema.PROBS, schema.EMBEDDING]).reset_index(drop=True)
    clips[schema.SPEAKER] = clips[schema.SPEAKER].fillna("")
    return RunData(run_dir, config, list(labels), clips, probs, embeddings, metrics, history)
