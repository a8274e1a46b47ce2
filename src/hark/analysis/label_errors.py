"""Likely label errors: out-of-sample probabilities (K-fold cross-validation on the training
split, reusing the training code) combined with the labels of each clip's neighbours in the
model's embedding space; cleanlab's confident learning is computed alongside as the baseline."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from scipy.special import softmax
from sklearn.decomposition import PCA
from sklearn.model_selection import StratifiedKFold
from sklearn.neighbors import NearestNeighbors
from sklearn.preprocessing import normalize
from tqdm import tqdm

from hark.analysis.inputs import RunData
from hark.errors import HarkError
from hark.fileio import atomic_write
from hark.schema import ANALYSIS_DIR, CONFIG_FILE, PREDICTIONS_FILE


@dataclass
class LabelErrorConfig:
    folds: int = 5
    crossval: bool = True
    neighbours: int = 10
    # Share of the model's own probability in the combined label distribution; the rest comes
    # from the neighbours' labels, which a memorising model cannot bend towards a wrong label.
    self_weight: float = 0.5
    seed: int = 0


@dataclass
class LabelErrors:
    probs: np.ndarray  # out-of-sample probabilities [N, C]
    quality: np.ndarray  # [N], higher = label more likely right
    issue: np.ndarray  # [N] bool
    suggested: np.ndarray  # [N] class index the evidence favours
    cleanlab_issue: np.ndarray  # [N] bool
    crossval_folds: int  # 0 when the model's in-sample training predictions were used


def reduce_embeddings(embeddings: np.ndarray, dims: int = 32, seed: int = 0) -> np.ndarray:
    """Unit-length embeddings projected onto their main directions: cosine neighbours stay
    neighbours and a 100k-clip neighbour search stays cheap."""
    unit = normalize(embeddings)
    dims = min(dims, unit.shape[1], unit.shape[0])
    if dims < unit.shape[1]:
        unit = PCA(n_components=dims, random_state=seed).fit_transform(unit)
    return unit.astype(np.float32)


def neighbour_labels(reduced: np.ndarray, targets: np.ndarray, num_classes: int, k: int) -> np.ndarray:
    """[N, C]: the share of each clip's k nearest neighbours (itself excluded) in each class."""
    k = min(k, len(reduced) - 1)
    _, index = NearestNeighbors(n_neighbors=k + 1).fit(reduced).kneighbors(reduced)
    index = index[:, 1:]
    shares = np.zeros((len(reduced), num_classes), np.float32)
    np.add.at(shares, (np.repeat(np.arange(len(reduced)), k), targets[index].ravel()), 1.0 / k)
    return shares


def crossval_probs(run: RunData, folds: int, seed: int = 0, progress: bool = True) -> np.ndarray:
    """Probabilities for every training clip from a model that never saw it: K models, each
    trained with the run's own config on K-1 folds. Other splits keep the run model's output."""
    from hark.data.cache import load_split
    from hark.data.datasets import load_dataset
    from hark.evaluate.predictions import run_model
    from hark.train.config import TrainConfig
    from hark.train.run import fit

    config = TrainConfig.load(run.run_dir / CONFIG_FILE)
    dataset = load_dataset(run.source, task=run.task)
    cached = load_split(dataset, "train", config.data.sample_rate, config.data.num_samples, progress=progress)
    row_of = {e.path: i for i, e in enumerate(cached.examples) if cached.valid[i]}
    probs = run.probs.copy()
    train = np.flatnonzero((run.clips["split"] == "train").to_numpy() & run.clips["path"].isin(row_of).to_numpy())
    targets = run.targets[train]
    counts = np.bincount(targets)
    present = counts[counts > 0]
    # A class rarer than K limits the number of folds: each fold needs one clip of every class.
    n_splits = min(folds, int(present.min())) if len(present) else 0
    if n_splits < 2:
        raise HarkError("a class has fewer than 2 training clips, too few for cross-validation; use --no-crossval")
    splitter = StratifiedKFold(n_splits=n_splits, shuffle=True, random_state=seed)
    by_path = {e.path: e for e in cached.examples}
    paths = run.clips["path"].to_numpy()
    folds = list(splitter.split(train, targets))
    for index, (fit_rows, held_rows) in enumerate(
        tqdm(folds, desc="cross-validation", unit="fold", disable=not progress)
    ):
        fit_examples = [by_path[p] for p in paths[train[fit_rows]]]
        model = fit(
            config,
            dataset,
            fit_examples,
            [by_path[p] for p in paths[train[held_rows]]],
            report=_fold_report(index, len(folds)) if progress else _silent,
            progress=progress,
            # The folds train alike: the first one's estimate holds for each.
            estimate=index == 0,
        )
        held = train[held_rows]
        outputs = run_model(model, cached.waves, np.array([row_of[p] for p in paths[held]]))
        probs[held] = softmax(outputs.logits, axis=1)
    return probs


def _fold_report(index: int, count: int) -> Callable[[str], None]:
    """`fit`'s report during cross-validation: each line names its fold."""
    return lambda message: print(f"fold {index + 1}/{count}: {message}")


def _silent(message: str) -> None:
    """`fit`'s report when progress is off (`hark analyze --quiet`)."""


CROSSVAL_CACHE = "crossval_probs.npz"


def _crossval_key(run: RunData, folds: int, seed: int) -> str:
    """What the fold models depend on: the run's config (data, recipe) and its predictions (a
    retrained or re-evaluated run rewrites them), the folds and the seed."""
    digest = hashlib.sha1()
    for name in (CONFIG_FILE, PREDICTIONS_FILE):
        digest.update((run.run_dir / name).read_bytes())
    return f"{digest.hexdigest()}-{folds}-{seed}"


def cached_crossval_probs(run: RunData, folds: int, seed: int = 0, progress: bool = True) -> np.ndarray:
    """`crossval_probs`, kept in `RUN/analysis/` so that analysing the same run again (other
    options, a newer hark) does not train the K models again."""
    path = run.run_dir / ANALYSIS_DIR / CROSSVAL_CACHE
    key = _crossval_key(run, folds, seed)
    try:
        with np.load(path) as saved:
            if str(saved["key"]) == key and saved["probs"].shape == run.probs.shape:
                return saved["probs"]
    except (OSError, KeyError, ValueError):  # absent, damaged or from another layout: recompute
        pass
    probs = crossval_probs(run, folds, seed, progress)
    path.parent.mkdir(exist_ok=True)
    atomic_write(path, lambda temporary: _save_npz(temporary, key=np.array(key), probs=probs))
    return probs


def _save_npz(path: Path, **arrays: np.ndarray) -> None:
    with open(path, "wb") as handle:  # a file object: np.savez would append .npz to a name
        np.savez(handle, **arrays)


def cleanlab_issues(targets: np.ndarray, probs: np.ndarray) -> np.ndarray:
    """Confident learning (Northcutt et al. 2021) as cleanlab ships it: the baseline to beat."""
    from cleanlab.filter import find_label_issues

    present = np.unique(targets)
    # cleanlab needs every class of the probability matrix to occur among the labels.
    remap = np.full(probs.shape[1], -1)
    remap[present] = np.arange(len(present))
    sub = probs[:, present]
    sub = sub / np.maximum(sub.sum(axis=1, keepdims=True), 1e-12)
    try:
        return find_label_issues(remap[targets], sub, filter_by="prune_by_noise_rate")
    except ValueError as err:
        raise HarkError(f"cleanlab could not rank label issues: {err}") from None


def per_class_thresholds(scores: np.ndarray, targets: np.ndarray) -> np.ndarray:
    """[C]: confident learning's per-class bars (cleanlab's `get_confident_thresholds`: the mean
    score each class gets on the clips labelled with it), so that a class the model finds hard
    gets a low bar and an easy one a high bar. A class nobody carries has no evidence; its bar
    sits out of reach."""
    from cleanlab.count import get_confident_thresholds

    thresholds = get_confident_thresholds(targets, scores).astype(np.float64)
    thresholds[np.bincount(targets, minlength=scores.shape[1]) == 0] = np.inf
    return thresholds


def find_label_errors(
    run: RunData,
    config: LabelErrorConfig = LabelErrorConfig(),
    reduced: np.ndarray | None = None,
    progress: bool = True,
    explained: np.ndarray | None = None,
) -> LabelErrors:
    """`explained`: clips whose audio detectors already account for the model's disagreement
    (no word, a cut-off word, several words): their labels are not what is wrong with them."""
    targets = run.targets
    folds = config.folds if config.crossval else 0
    probs = cached_crossval_probs(run, config.folds, config.seed, progress) if folds else run.probs
    if reduced is None:
        reduced = reduce_embeddings(run.embeddings, seed=config.seed)
    shares = neighbour_labels(reduced, targets, len(run.labels), config.neighbours)
    combined = config.self_weight * probs + (1.0 - config.self_weight) * shares
    rows = np.arange(len(targets))
    quality = combined[rows, targets]
    thresholds = per_class_thresholds(combined, targets)
    # Confidently another class: above that class's own bar, and the strongest such class.
    above = np.where(combined >= thresholds, combined, -np.inf)
    above[rows, targets] = -np.inf
    suggested = np.where(np.isfinite(above.max(axis=1)), above.argmax(axis=1), combined.argmax(axis=1))
    # Both witnesses must lean the same way: the model prefers the other class and its
    # neighbours carry it more than the given label; a merely hard clip sits among mixed labels.
    issue = (
        np.isfinite(above.max(axis=1))
        & (quality < thresholds[targets])
        & (probs[rows, suggested] > probs[rows, targets])
        & (shares[rows, suggested] > shares[rows, targets])
    )
    if explained is not None:
        issue &= ~explained
    return LabelErrors(probs, quality.astype(np.float32), issue, suggested, cleanlab_issues(targets, probs), folds)
