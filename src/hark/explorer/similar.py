"""Nearest neighbours in the model's embedding space, from `RUN/predictions.parquet`.
The index is built on the first request: most sessions never ask, and 100k embeddings take a
few seconds to read."""

from __future__ import annotations

import threading
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.parquet as pq


class SimilarClips:
    def __init__(self, predictions: Path, clip_paths: pd.Series):
        self.predictions = Path(predictions)
        self.clip_paths = clip_paths
        self._lock = threading.Lock()
        self._index = None
        self._rows: np.ndarray | None = None  # index position -> clip row

    @property
    def available(self) -> bool:
        return self.predictions.exists()

    def _build(self) -> None:
        table = pq.read_table(self.predictions, columns=["path", "embedding"])
        paths = table.column("path").to_pylist()
        embedding = table.column("embedding").combine_chunks()
        width = len(embedding[0]) if len(embedding) else 0
        vectors = np.asarray(embedding.flatten().to_numpy(zero_copy_only=False), dtype=np.float32)
        vectors = vectors.reshape(len(paths), width)
        row_of = pd.Series(np.arange(len(self.clip_paths)), index=self.clip_paths.to_numpy())
        row_of = row_of[~row_of.index.duplicated()]
        rows = row_of.reindex(paths).to_numpy()
        usable = ~np.isnan(rows) & np.isfinite(vectors).all(axis=1)
        from sklearn.neighbors import NearestNeighbors

        self._rows = rows[usable].astype(int)
        self._index = NearestNeighbors(metric="cosine").fit(vectors[usable])
        self._vectors = vectors[usable]
        self._position = {row: i for i, row in enumerate(self._rows)}

    def neighbours(self, row: int, k: int) -> list[tuple[int, float]] | None:
        """(clip row, cosine distance) of the k nearest other clips; None if the clip has no
        embedding."""
        with self._lock:
            if self._index is None:
                self._build()
        position = self._position.get(row)
        if position is None:
            return None
        k = min(k + 1, len(self._rows))
        distances, positions = self._index.kneighbors(self._vectors[position:position + 1], n_neighbors=k)
        return [(int(self._rows[p]), float(d)) for p, d in zip(positions[0], distances[0]) if p != position][: k - 1]
