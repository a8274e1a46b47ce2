"""What the explorer reads from `RUN/predictions.parquet` on demand: nearest neighbours in the
model's embedding space and the final model's class probabilities. Read on the first request:
most sessions never ask, and 100k embeddings take a few seconds to read."""

from __future__ import annotations

import threading
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.parquet as pq

from hark import schema


def _matrix(column) -> np.ndarray:
    column = column.combine_chunks()
    width = len(column[0]) if len(column) else 0
    values = np.asarray(column.flatten().to_numpy(zero_copy_only=False), dtype=np.float32)
    return values.reshape(len(column), width)


class Predictions:
    def __init__(self, predictions: Path, clip_paths: pd.Series):
        self.predictions = Path(predictions)
        self.clip_paths = clip_paths
        self._lock = threading.Lock()
        self._index = None

    @property
    def available(self) -> bool:
        return self.predictions.exists()

    def _build(self) -> None:
        names = pq.read_schema(self.predictions).names
        wanted = [c for c in (schema.PATH, schema.EMBEDDING, schema.PROBS) if c in names]
        table = pq.read_table(self.predictions, columns=wanted)
        row_of = pd.Series(np.arange(len(self.clip_paths)), index=self.clip_paths.to_numpy())
        row_of = row_of[~row_of.index.duplicated()]
        rows = row_of.reindex(table.column(schema.PATH).to_pylist()).to_numpy()
        known = ~np.isnan(rows)
        self.probs = np.full((len(self.clip_paths), 0), np.nan, dtype=np.float32)
        if schema.PROBS in wanted:
            probs = _matrix(table.column(schema.PROBS))
            self.probs = np.full((len(self.clip_paths), probs.shape[1]), np.nan, dtype=np.float32)
            self.probs[rows[known].astype(int)] = probs[known]
        vectors = _matrix(table.column(schema.EMBEDDING)) if schema.EMBEDDING in wanted else np.zeros((len(rows), 0))
        usable = known & np.isfinite(vectors).all(axis=1) & (vectors.shape[1] > 0)
        from sklearn.neighbors import NearestNeighbors

        self._rows = rows[usable].astype(int)
        self._vectors = vectors[usable]
        self._position = {row: i for i, row in enumerate(self._rows)}
        self._index = NearestNeighbors(metric="cosine").fit(self._vectors) if len(self._rows) else False

    def _ready(self) -> None:
        with self._lock:
            if self._index is None:
                self._build()

    def neighbours(self, row: int, k: int) -> list[tuple[int, float]] | None:
        """(clip row, cosine distance) of the k nearest other clips; None if the clip has no
        embedding."""
        self._ready()
        position = self._position.get(row)
        if position is None or not self._index:
            return None
        k = min(k + 1, len(self._rows))
        distances, positions = self._index.kneighbors(self._vectors[position : position + 1], n_neighbors=k)
        pairs = zip(positions[0], distances[0], strict=True)
        return [(int(self._rows[p]), float(d)) for p, d in pairs if p != position][: k - 1]

    def final_probs(self, row: int) -> np.ndarray | None:
        self._ready()
        probs = self.probs[row] if self.probs.shape[1] else None
        return probs if probs is not None and np.isfinite(probs).all() else None
