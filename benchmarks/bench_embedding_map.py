"""The embedding map at scale: `embed_2d` (UMAP fitted on a sub-sample, the rest projected) on
N clustered embeddings, against fitting UMAP on a smaller N' exactly, and against PCA (the floor).

    python benchmarks/bench_embedding_map.py [--clips 100000] [--dim 32] [--classes 35]
"""

from __future__ import annotations

import argparse
import time

import numpy as np
from sklearn.decomposition import PCA

from hark.analysis.embedding_map import embed_2d


def clustered_embeddings(clips: int, dim: int, classes: int, seed: int = 0) -> np.ndarray:
    """Unit vectors around one centre per class, like a trained network's penultimate layer."""
    rng = np.random.default_rng(seed)
    centres = rng.standard_normal((classes, dim))
    points = centres[rng.integers(0, classes, clips)] + 0.35 * rng.standard_normal((clips, dim))
    return (points / np.linalg.norm(points, axis=1, keepdims=True)).astype(np.float32)


def timed(fn, *args, **kwargs):
    started = time.perf_counter()
    result = fn(*args, **kwargs)
    return result, time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clips", type=int, default=100_000)
    parser.add_argument("--dim", type=int, default=32)
    parser.add_argument("--classes", type=int, default=35)
    args = parser.parse_args()

    embeddings = clustered_embeddings(args.clips, args.dim, args.classes)
    (coords, method), seconds = timed(embed_2d, embeddings)
    _, pca_seconds = timed(PCA(n_components=2).fit_transform, embeddings)
    assert coords.shape == (args.clips, 2) and np.isfinite(coords).all() and method == "umap"
    print(f"{args.clips:,} clips, {args.dim}-d embeddings, {args.classes} classes")
    print(f"{'method':<40}{'seconds':>9}")
    print(f"{'hark embed_2d (UMAP fit 15k + transform)':<40}{seconds:>9.1f}")
    print(f"{'PCA (linear floor)':<40}{pca_seconds:>9.2f}")
    print(
        f"UMAP map: {seconds / 60:.1f} min for {args.clips:,} clips (goal: minutes on 2 cores), "
        f"{seconds / max(pca_seconds, 1e-9):.0f}x the linear floor"
    )


if __name__ == "__main__":
    main()
