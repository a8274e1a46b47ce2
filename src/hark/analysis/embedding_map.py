"""The 2-D map of every clip's embedding. UMAP is fitted on a sub-sample and the rest is
projected with `transform`, so 100k clips take minutes on two cores; PCA is the fallback."""

from __future__ import annotations

import warnings

import numpy as np
from sklearn.decomposition import PCA


def embed_2d(reduced: np.ndarray, use_umap: bool = True, fit_max: int = 15000, seed: int = 0) -> tuple[np.ndarray, str]:
    """[N, 2] coordinates of `reduced` (unit embeddings after PCA) and the method used."""
    if len(reduced) < 3:
        return np.zeros((len(reduced), 2), np.float32), "none"
    if use_umap and len(reduced) >= 20:
        try:
            import umap

            rng = np.random.default_rng(seed)
            fit_rows = rng.choice(len(reduced), size=min(fit_max, len(reduced)), replace=False)
            reducer = umap.UMAP(n_neighbors=min(15, len(fit_rows) - 1), random_state=seed, n_jobs=1)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # UMAP warns about n_jobs with a seed; the seed matters more
                reducer.fit(reduced[fit_rows])
                coords = np.empty((len(reduced), 2), np.float32)
                coords[fit_rows] = reducer.embedding_
                rest = np.setdiff1d(np.arange(len(reduced)), fit_rows)
                if len(rest):
                    coords[rest] = reducer.transform(reduced[rest])
            return np.asarray(coords, np.float32), "umap"
        except (ImportError, ValueError, TypeError):
            pass  # tiny or degenerate inputs: the linear map below always works
    return PCA(n_components=2, random_state=seed).fit_transform(reduced).astype(np.float32), "pca"
