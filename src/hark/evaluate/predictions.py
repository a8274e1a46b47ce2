"""Per-clip model outputs (probabilities, loss, penultimate embedding) and their parquet file,
so that analysis never needs the model again.

The file describes itself: vectors are `fixed_size_list<float32>[D]`, and the schema metadata
holds the class order of `probs`, the dataset root the paths are relative to and the schema
version (`hark.schema`). A copy rewritten by pandas or DuckDB loses that metadata; reading it
then falls back to the `config.json` beside it."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import torch

from hark import schema
from hark.data.example import Example
from hark.errors import HarkError
from hark.fileio import atomic_write
from hark.models.embedding import logits_and_embeddings
from hark.runfiles import read_json, read_labels, read_table


@dataclass
class ModelOutputs:
    logits: np.ndarray  # [N, C] float32
    embeddings: np.ndarray  # [N, D] float32, the input of the model's `head`


def run_model(
    model: torch.nn.Module,
    waves: np.ndarray,
    rows: np.ndarray | None = None,
    batch_size: int = 256,
    device: str | torch.device = "cpu",
) -> ModelOutputs:
    """Logits and penultimate embeddings of `waves[rows]` (all rows by default; `waves` may be
    memory-mapped and is read one batch at a time), in evaluation mode."""
    rows = np.arange(len(waves)) if rows is None else np.asarray(rows)
    device = torch.device(device)
    model = model.to(device).eval()
    batches = (
        torch.from_numpy(np.ascontiguousarray(waves[rows[start : start + batch_size]], dtype=np.float32)).to(
            device, non_blocking=True
        )
        for start in range(0, len(rows), batch_size)
    )
    outputs = list(logits_and_embeddings(model, batches))
    if not outputs:
        return ModelOutputs(np.zeros((0, 0), np.float32), np.zeros((0, 0), np.float32))
    return ModelOutputs(torch.cat([o[0] for o in outputs]).numpy(), torch.cat([o[1] for o in outputs]).numpy())


def label_indices(examples: list[Example], labels: list[str], unknown: int | None = None) -> np.ndarray:
    """Class index of every example; a label outside `labels` is an error, or `unknown` if given."""
    index = {label: i for i, label in enumerate(labels)}
    missing = sorted({e.label for e in examples} - index.keys())
    if missing and unknown is None:
        raise HarkError(f"the dataset has labels the model was not trained on: {', '.join(missing)}")
    return np.array([index.get(e.label, unknown) for e in examples], dtype=np.int64)


def vector_column(matrix: np.ndarray) -> pa.FixedSizeListArray:
    """`fixed_size_list<float32>[D]`: the width is in the schema, so a reader knows it up front."""
    matrix = np.ascontiguousarray(matrix, dtype=np.float32)
    return pa.FixedSizeListArray.from_arrays(pa.array(matrix.reshape(-1)), matrix.shape[1])


def describe_table(table: pa.Table, labels: list[str], data_root: str | Path | None = None) -> pa.Table:
    """`table` with hark's metadata: the class order, the dataset root and the schema version."""
    metadata = {
        **(table.schema.metadata or {}),
        schema.LABELS_METADATA_KEY: json.dumps(list(labels)).encode(),
        schema.SCHEMA_METADATA_KEY: str(schema.SCHEMA_VERSION).encode(),
    }
    if data_root is not None:
        metadata[schema.DATA_ROOT_METADATA_KEY] = str(data_root).encode()
    return table.replace_schema_metadata(metadata)


def model_columns(
    log_probs: np.ndarray, targets: np.ndarray, labels: list[str]
) -> tuple[list[str], np.ndarray, np.ndarray]:
    """pred, confidence and loss (float32) from log-probabilities [N, C]; the loss is NaN where
    the target is -1 (a label the model does not know)."""
    predicted = log_probs.argmax(axis=1) if len(log_probs) else np.zeros(0, np.int64)
    known = targets >= 0
    loss = np.full(len(targets), np.nan)
    loss[known] = -log_probs[np.flatnonzero(known), targets[known]]
    confidence = np.exp(log_probs.max(axis=1, initial=-np.inf))
    return [labels[i] for i in predicted], confidence.astype(np.float32), loss.astype(np.float32)


def predictions_table(
    examples: list[Example],
    outputs: ModelOutputs,
    labels: list[str],
    data_root: str | Path | None = None,
    unknown_ok: bool = False,
) -> pa.Table:
    """One row per clip: path, split, label, speaker_id, pred, confidence, loss, probs, embedding.
    `unknown_ok`: labels outside `labels` are kept, with a NaN loss (cross-dataset evaluation)."""
    targets = label_indices(examples, labels, unknown=-1 if unknown_ok else None)
    log_probs = torch.log_softmax(torch.from_numpy(outputs.logits).double(), dim=1).numpy()
    probs = np.exp(log_probs)
    pred, confidence, loss = model_columns(log_probs, targets, labels)
    table = pa.table(
        {
            schema.PATH: pa.array([e.path for e in examples], pa.string()),
            schema.SPLIT: pa.array([e.split for e in examples], pa.string()),
            schema.LABEL: pa.array([e.label for e in examples], pa.string()),
            schema.SPEAKER: pa.array([e.speaker_id for e in examples], pa.string()),
            schema.PRED: pa.array(pred, pa.string()),
            schema.CONFIDENCE: pa.array(confidence),
            schema.LOSS: pa.array(loss),
            schema.PROBS: vector_column(probs.reshape(len(examples), len(labels))),
            schema.EMBEDDING: vector_column(outputs.embeddings.reshape(len(examples), -1)),
        }
    )
    return describe_table(table, labels, data_root)


def write_predictions(tables: list[pa.Table], path: Path) -> Path:
    """Concatenate per-split tables and write them atomically (a crash leaves the old file)."""
    table = pa.concat_tables(tables)
    return atomic_write(path, lambda temporary: pq.write_table(table, temporary))


def table_labels(table: pa.Table, path: Path) -> list[str] | None:
    """The class order from the file's metadata, else from the `config.json` beside it (a copy
    rewritten by pandas or DuckDB keeps the columns but not hark's metadata); None if neither."""
    labels = read_labels(table)
    if labels is not None:
        return list(labels)
    config = read_json(Path(path).parent / schema.CONFIG_FILE, "config", "hark train", default={})
    labels = config.get("labels") if isinstance(config, dict) else None
    return list(labels) if labels else None


def read_predictions(path: str | Path) -> tuple[pd.DataFrame, list[str]]:
    """The predictions as a DataFrame (probs/embedding as numpy arrays) and the class order."""
    table = read_table(path, "predictions", "hark evaluate RUN")
    labels = table_labels(table, Path(path))
    if labels is None:
        raise HarkError(f"{path}: no class order (neither in its metadata nor in a {schema.CONFIG_FILE} beside it)")
    return table.to_pandas(), labels
