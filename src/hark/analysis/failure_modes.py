"""Failure modes: groups of misclassified clips, found by clustering them (HDBSCAN) on what the
model sees (its embedding) and what the audio detectors see (their flags), then described in
one plain sentence from what sets each group apart from the correctly classified clips."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from sklearn.cluster import HDBSCAN
from sklearn.decomposition import PCA
from sklearn.neighbors import NearestNeighbors

from hark.analysis.detectors import DETECTORS

# (column, what a higher value means, what a lower value means, unit, smallest difference worth saying)
CONTINUOUS = (
    ("onset_s", "speech starts late", "speech starts early", "s", 0.1),
    ("offset_s", "speech ends late", "speech ends early", "s", 0.1),
    ("score_length", "long clips", "short clips", "s", 0.1),
    ("score_low_snr", "clean recordings", "noisy recordings", "dB SNR", 6.0),
)

# Nearest-neighbour distances in many dimensions vary little within a group and jump between
# groups, so a modest slack takes in stragglers without bridging groups.
ABSORB_SLACK = 1.5


@dataclass
class FailureModeConfig:
    embedding_dims: int = 10
    # Weight of each detector flag next to unit-length embeddings (distances up to ~1.4): enough
    # for clips sharing a fault to group even when their words differ.
    flag_weight: float = 0.5
    min_cluster_share: float = 0.02
    min_cluster_size: int = 5
    flag_min_rate: float = 0.4
    group_min_share: float = 0.3


@dataclass
class FailureMode:
    cluster: int
    rows: np.ndarray
    title: str
    description: str
    details: dict = field(default_factory=dict)


def cluster_errors(reduced: np.ndarray, flags: np.ndarray, config: FailureModeConfig = FailureModeConfig(), seed: int = 0) -> np.ndarray:
    """Cluster id per error row (-1 = belongs to no group)."""
    n = len(reduced)
    min_size = max(config.min_cluster_size, int(round(config.min_cluster_share * n)))
    if n < 2 * min_size:
        return np.zeros(n, int) if n else np.zeros(0, int)
    dims = min(config.embedding_dims, reduced.shape[1], n - 1)
    embedded = PCA(n_components=dims, random_state=seed).fit_transform(reduced)
    features = np.hstack([embedded, config.flag_weight * flags.astype(np.float32)])
    # One dominant fault is a legitimate answer, so a single cluster is allowed.
    labels = HDBSCAN(min_cluster_size=min_size, allow_single_cluster=True, copy=True).fit_predict(features)
    return absorb_noise(features, labels)


def absorb_noise(features: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """HDBSCAN leaves many members of small, loose groups as noise; a noise point that lies about
    as close to a cluster as that cluster's members lie to each other (within `ABSORB_SLACK`)
    joins it, repeatedly, so that a chain of such points joins too."""
    labels = labels.copy()
    while True:
        clustered, noise = np.flatnonzero(labels >= 0), np.flatnonzero(labels < 0)
        if not len(clustered) or not len(noise):
            return labels
        reach = {}
        for cluster in np.unique(labels[clustered]):
            members = features[labels == cluster]
            if len(members) > 1:
                distance, _ = NearestNeighbors(n_neighbors=2).fit(members).kneighbors(members)
                reach[cluster] = ABSORB_SLACK * distance[:, 1].max()
        distance, nearest = NearestNeighbors(n_neighbors=1).fit(features[clustered]).kneighbors(features[noise])
        target = labels[clustered[nearest[:, 0]]]
        joins = distance[:, 0] <= np.array([reach.get(t, 0.0) for t in target])
        if not joins.any():
            return labels
        labels[noise[joins]] = target[joins]


def _flag_reasons(mode: pd.DataFrame, correct: pd.DataFrame, config: FailureModeConfig) -> list[tuple[float, str, str]]:
    reasons = []
    for name, (_, meaning) in DETECTORS.items():
        column = f"flag_{name}"
        rate = float(mode[column].mean())
        base = float(correct[column].mean()) if len(correct) else 0.0
        if rate >= config.flag_min_rate and rate >= 2 * base + 0.1:
            label = name.replace("_", " ").replace("cutoff", "cut-off")
            reasons.append((rate - base, meaning, f"{meaning} ({rate:.0%} flagged {label} vs {base:.0%} of correct clips)"))
    return sorted(reasons, reverse=True)


def _continuous_reasons(mode: pd.DataFrame, correct: pd.DataFrame) -> list[tuple[float, str, str]]:
    reasons = []
    for column, higher, lower, unit, min_difference in CONTINUOUS:
        ours, theirs = mode[column].median(), correct[column].median()
        spread = correct[column].quantile(0.75) - correct[column].quantile(0.25)
        difference = ours - theirs
        if np.isfinite(difference) and abs(difference) >= max(min_difference, 0.5 * (spread if np.isfinite(spread) else 0)):
            meaning = higher if difference > 0 else lower
            reasons.append((abs(difference) / max(spread, min_difference), meaning, f"{meaning} (median {ours:.2f} {unit} vs {theirs:.2f} {unit} for correct clips)"))
    return sorted(reasons, reverse=True)


def _spread(mode: pd.DataFrame, clips: pd.DataFrame, pred_column: str, config: FailureModeConfig) -> list[str]:
    parts = []
    pairs = (mode["label"] + "\u2192" + mode[pred_column]).value_counts()
    top_pair, top_count = pairs.index[0], int(pairs.iloc[0])
    words = mode["label"].nunique()
    if top_count / len(mode) >= config.group_min_share:
        label, pred = top_pair.split("\u2192")
        parts.append(f"mostly '{label}' taken for '{pred}' ({top_count} of {len(mode)})")
    else:
        parts.append(f"spread over {words} word{'s' if words != 1 else ''}")
    speakers = mode["speaker_id"][mode["speaker_id"] != ""].value_counts()
    if len(speakers) and speakers.iloc[0] >= 3 and speakers.iloc[0] / len(mode) >= config.group_min_share:
        parts.append(f"{speakers.iloc[0] / len(mode):.0%} from speaker {speakers.index[0]}")
    shares, base = mode["split"].value_counts(normalize=True), clips["split"].value_counts(normalize=True)
    split = shares.index[0]
    if shares.iloc[0] - base.get(split, 0.0) >= config.group_min_share:
        parts.append(f"{shares.iloc[0]:.0%} in the {split} split")
    return parts


def describe_mode(rank: int, mode: pd.DataFrame, correct: pd.DataFrame, clips: pd.DataFrame, total_errors: int,
                  pred_column: str, config: FailureModeConfig = FailureModeConfig()) -> tuple[str, str, dict]:
    """(title, one-sentence description, details) of one group of errors."""
    reasons = _flag_reasons(mode, correct, config)
    continuous = _continuous_reasons(mode, correct)
    chosen = reasons[:2] + continuous[: 1 if reasons else 2]
    spread = _spread(mode, clips, pred_column, config)
    headline = chosen[0][1] if chosen else spread[0]
    share = len(mode) / max(total_errors, 1)
    sentence = "; ".join([text for _, _, text in chosen] + spread)
    description = f"Failure mode {rank} \u2014 {len(mode)} errors ({share:.0%}): {sentence}."
    details = {
        "flag_rates": {name: float(mode[f"flag_{name}"].mean()) for name in DETECTORS},
        "correct_flag_rates": {name: float(correct[f"flag_{name}"].mean()) if len(correct) else 0.0 for name in DETECTORS},
        "top_pairs": (mode["label"] + "\u2192" + mode[pred_column]).value_counts().head(5).to_dict(),
        "share": share,
    }
    return f"Failure mode {rank} \u2014 {headline}", description, details


def find_failure_modes(clips: pd.DataFrame, reduced: np.ndarray, error: np.ndarray, pred_column: str,
                       config: FailureModeConfig = FailureModeConfig(), seed: int = 0) -> tuple[list[FailureMode], np.ndarray]:
    """Failure modes largest first, and a cluster id per clip (-1: correct or in no group)."""
    error_rows = np.flatnonzero(error)
    flag_columns = [f"flag_{name}" for name in DETECTORS]
    labels = cluster_errors(reduced[error_rows], clips[flag_columns].to_numpy()[error_rows], config, seed)
    ids, sizes = np.unique(labels[labels >= 0], return_counts=True)
    order = ids[np.argsort(-sizes, kind="stable")]
    cluster_of = np.full(len(clips), -1)
    correct = clips[~error]
    modes = []
    for rank, cluster in enumerate(order, start=1):
        rows = error_rows[labels == cluster]
        cluster_of[rows] = rank - 1
        title, description, details = describe_mode(rank, clips.iloc[rows], correct, clips, len(error_rows), pred_column, config)
        modes.append(FailureMode(rank - 1, rows, title, description, details))
    return modes, cluster_of
