"""Exact duplicates (same audio content), near duplicates and outliers in embedding space;
duplicates across splits are leakage that inflates test scores."""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.neighbors import NearestNeighbors

from hark import schema


def exact_duplicate_groups(clips: pd.DataFrame, hashes: list[str | None]) -> list[dict]:
    """Groups of clips with identical audio: {paths, splits, labels, across_splits}."""
    frame = clips.assign(hash=hashes).dropna(subset=["hash"])
    groups = []
    for _, group in frame.groupby("hash"):
        if len(group) > 1:
            groups.append(
                {
                    "paths": group[schema.PATH].tolist(),
                    "splits": sorted(set(group[schema.SPLIT])),
                    "labels": sorted(set(group[schema.LABEL])),
                    "across_splits": group[schema.SPLIT].nunique() > 1,
                }
            )
    return sorted(groups, key=lambda g: (not g["across_splits"], -len(g["paths"])))


def neighbour_structure(reduced: np.ndarray, k: int = 5) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """For each clip: distance to its nearest other clip, that clip's row, and an outlier score
    (mean distance to its k nearest neighbours, relative to the median clip's)."""
    k = max(1, min(k, len(reduced) - 1))
    distance, index = NearestNeighbors(n_neighbors=k + 1).fit(reduced).kneighbors(reduced)
    spread = distance[:, 1:].mean(axis=1)
    return distance[:, 1], index[:, 1], spread / max(float(np.median(spread)), 1e-9)


def near_duplicate_pairs(
    clips: pd.DataFrame, nearest_distance: np.ndarray, nearest_row: np.ndarray, max_distance: float = 0.02
) -> list[dict]:
    """Pairs of clips in different splits whose embeddings (unit length) nearly coincide."""
    pairs, seen = [], set()
    split, path = clips[schema.SPLIT].to_numpy(), clips[schema.PATH].to_numpy()
    for row in np.flatnonzero(nearest_distance <= max_distance):
        other = int(nearest_row[row])
        key = (min(row, other), max(row, other))
        if split[row] != split[other] and key not in seen:
            seen.add(key)
            pairs.append(
                {
                    "a": path[key[0]],
                    "b": path[key[1]],
                    "splits": [split[key[0]], split[key[1]]],
                    "distance": float(nearest_distance[row]),
                }
            )
    return sorted(pairs, key=lambda p: p["distance"])
