"""Per-clip model outputs (probabilities, loss, penultimate embedding) and their parquet file,
so that analysis never needs the model again."""

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
from hark.runfiles import read_labels, read_table


@dataclass
class ModelOutputs:
    logits: np.ndarray  # [N, C] float32
    embeddings: np.ndarray  # [N, D] float32, the input of the model's `head`


def run_model(model: torch.nn.Module, waves: np.ndarray, rows: np.ndarray | None = None,
              batch_size: int = 256, device: str | torch.device = "cpu") -> ModelOutputs:
    """Logits and penultimate embeddings of `waves[rows]` (all rows by default; `waves` may be
    memory-mapped and is read one batch at a time), in evaluation mode. The embedding is caught
    by a forward hook on `head`, as the seed did."""
    rows = np.arange(len(waves)) if rows is None else np.asarray(rows)
    if not hasattr(model, "head"):
        raise HarkError(f"{type(model).__name__} has no `head` layer to take embeddings from")
    device = torch.device(device)
    model = model.to(device).eval()
    caught: list[torch.Tensor] = []
    hook = model.head.register_forward_hook(
        lambda _module, inputs, _output: caught.append(inputs[0].flatten(1).float().cpu()))
    logits = []
    try:
        with torch.inference_mode():
            for start in range(0, len(rows), batch_size):
                batch = torch.from_numpy(np.ascontiguousarray(waves[rows[start:start + batch_size]], dtype=np.float32))
                logits.append(model(batch.to(device, non_blocking=True)).float().cpu())
    finally:
        hook.remove()
    if not logits:
        return ModelOutputs(np.zeros((0, 0), np.float32), np.zeros((0, 0), np.float32))
    return ModelOutputs(torch.cat(logits).numpy(), torch.cat(caught).numpy())


def label_indices(examples: list[Example], labels: list[str]) -> np.ndarray:
    index = {label: i for i, label in enumerate(labels)}
    missing = sorted({e.label for e in examples} - index.keys())
    if missing:
        raise HarkError(f"the dataset has labels the model was not trained on: {', '.join(missing)}")
    return np.array([index[e.label] for e in examples], dtype=np.int64)


def _list_column(matrix: np.ndarray) -> pa.ListArray:
    matrix = np.ascontiguousarray(matrix, dtype=np.float32)
    rows, width = matrix.shape
    offsets = pa.array(np.arange(rows + 1, dtype=np.int32) * width)
    return pa.ListArray.from_arrays(offsets, pa.array(matrix.reshape(-1)))


def predictions_table(examples: list[Example], outputs: ModelOutputs, labels: list[str]) -> pa.Table:
    """One row per clip: path, split, label, speaker_id, pred, confidence, loss, probs, embedding."""
    targets = label_indices(examples, labels)
    log_probs = torch.log_softmax(torch.from_numpy(outputs.logits).double(), dim=1)
    probs = log_probs.exp().numpy()
    predicted = probs.argmax(axis=1) if len(probs) else np.zeros(0, np.int64)
    loss = -log_probs.numpy()[np.arange(len(targets)), targets]
    table = pa.table({
        schema.PATH: pa.array([e.path for e in examples], pa.string()),
        schema.SPLIT: pa.array([e.split for e in examples], pa.string()),
        schema.LABEL: pa.array([e.label for e in examples], pa.string()),
        schema.SPEAKER: pa.array([e.speaker_id for e in examples], pa.string()),
        schema.PRED: pa.array([labels[i] for i in predicted], pa.string()),
        schema.CONFIDENCE: pa.array(probs.max(axis=1, initial=0.0).astype(np.float32)),
        schema.LOSS: pa.array(loss.astype(np.float32)),
        schema.PROBS: _list_column(probs.reshape(len(examples), len(labels))),
        schema.EMBEDDING: _list_column(outputs.embeddings.reshape(len(examples), -1)),
    })
    return table.replace_schema_metadata({schema.LABELS_METADATA_KEY: json.dumps(labels).encode()})


def write_predictions(tables: list[pa.Table], path: Path) -> Path:
    """Concatenate per-split tables and write them atomically (a crash leaves the old file)."""
    table = pa.concat_tables(tables)
    return atomic_write(path, lambda temporary: pq.write_table(table, temporary))


def read_predictions(path: str | Path) -> tuple[pd.DataFrame, list[str]]:
    """The predictions as a DataFrame (probs/embedding as numpy arrays) and the class order."""
    table = read_table(path, "predictions", "hark evaluate RUN")
    labels = read_labels(table)
    if labels is None:
        raise HarkError(f"{path}: not a hark predictions file (no label list in its metadata)")
    return table.to_pandas(), labels
