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
from hark.schema import OOF_CONFIDENCE

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
ARROW = "\u2192"
# A group's median confidence this far from that of all errors is worth saying.
LOW_CONFIDENCE_GAP = 0.15
# Below `flag_min_rate` a flag explains no group, but one this common among its errors (and
# far more than among correct clips) is still worth naming.
MINOR_FLAG_RATE = 0.2


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


def _flag_reasons(mode: pd.DataFrame, correct: pd.DataFrame, config: FailureModeConfig, min_rate: float | None = None) -> list[tuple[float, str, str]]:
    """Detector flags far more common in the group than among correct clips, largest gap first;
    `min_rate` (default `flag_min_rate`) is the share of the group a flag must reach."""
    reasons = []
    for name, (_, meaning) in DETECTORS.items():
        column = f"flag_{name}"
        rate = float(mode[column].mean())
        base = float(correct[column].mean()) if len(correct) else 0.0
        if rate >= (config.flag_min_rate if min_rate is None else min_rate) and rate >= 2 * base + 0.1:
            label = name.replace("_", " ").replace("cutoff", "cut-off")
            reasons.append((rate - base, name, f"{meaning} ({rate:.0%} flagged {label} vs {base:.0%} of correct clips)"))
    return sorted(reasons, reverse=True)


def _continuous_reasons(mode: pd.DataFrame, correct: pd.DataFrame) -> list[tuple[float, str, str]]:
    # Onset, offset and SNR mean nothing for a clip without speech; nor do they for a group of
    # mostly such clips.
    speaking = mode[~mode["flag_no_speech"].astype(bool)]
    if len(speaking) < 0.5 * len(mode) or not len(speaking):
        return []
    mode = speaking
    reasons = []
    for column, higher, lower, unit, min_difference in CONTINUOUS:
        ours, theirs = mode[column].median(), correct[column].median()
        spread = correct[column].quantile(0.75) - correct[column].quantile(0.25)
        difference = ours - theirs
        if np.isfinite(difference) and abs(difference) >= max(min_difference, 0.5 * (spread if np.isfinite(spread) else 0)):
            meaning = higher if difference > 0 else lower
            reasons.append((abs(difference) / max(spread, min_difference), meaning, f"{meaning} (median {ours:.2f} {unit} vs {theirs:.2f} {unit} for correct clips)"))
    return sorted(reasons, reverse=True)


def _pairs(mode: pd.DataFrame, pred_column: str) -> pd.Series:
    """Counts of 'label→prediction', most frequent first."""
    return (mode["label"] + ARROW + mode[pred_column]).value_counts()


def _top_pair(pairs: pd.Series) -> tuple[str, str, int]:
    """The two words most often confused in either direction, the more frequent direction first,
    and how many errors they make together."""
    both: dict[tuple[str, str], int] = {}
    for pair, count in pairs.items():
        key = tuple(sorted(pair.split(ARROW)))
        both[key] = both.get(key, 0) + int(count)
    (a, b), total = max(both.items(), key=lambda item: item[1])
    if pairs.get(f"{b}{ARROW}{a}", 0) > pairs.get(f"{a}{ARROW}{b}", 0):
        a, b = b, a
    return a, b, total


def _pair_text(label: str, pred: str, total: int, size: int, pairs: pd.Series) -> str:
    forward, reverse = int(pairs.get(f"{label}{ARROW}{pred}", 0)), int(pairs.get(f"{pred}{ARROW}{label}", 0))
    both = f", and the reverse {reverse} times" if reverse else ""
    return f"'{label}' heard as '{pred}' ({forward} of {size}{both}) \u2014 confusable pair"


def dominant_explanation(mode: pd.DataFrame, correct: pd.DataFrame, pred_column: str, config: FailureModeConfig) -> tuple[str, ...] | None:
    """What a group of errors is mostly about, as a key that two groups with the same cause share:
    a detector flag over-represented among them, else a confusable pair (either direction)."""
    flags = _flag_reasons(mode, correct, config)
    if flags:
        return ("flag", flags[0][1])
    label, pred, total = _top_pair(_pairs(mode, pred_column))
    if total / len(mode) >= config.group_min_share:
        return ("pair", *sorted((label, pred)))
    return None


def _over_represented(mode: pd.DataFrame, clips: pd.DataFrame, column: str, config: FailureModeConfig) -> tuple[str, float, float] | None:
    """The value of `column` whose share in the mode is large and well above its share overall."""
    shares = mode[column][mode[column] != ""].value_counts(normalize=True)
    if not len(shares):
        return None
    value, share = shares.index[0], float(shares.iloc[0])
    base = float((clips[column] == value).mean())
    if share >= config.group_min_share and share >= 2 * base and (mode[column] == value).sum() >= 3:
        return str(value), share, base
    return None


def _context(mode: pd.DataFrame, clips: pd.DataFrame, pred_column: str, config: FailureModeConfig, by_pair: bool) -> list[str]:
    """What else sets the group apart: label problems, confidence, a class (unless a confusable
    pair already names it), a speaker, a split."""
    parts = []
    errors = clips[clips["error"]] if "error" in clips else mode
    if "label_issue" in mode:
        rate, base = float(mode["label_issue"].mean()), float(errors["label_issue"].mean())
        if rate >= config.group_min_share and rate >= 1.5 * base:
            parts.append(f"{rate:.0%} look mislabelled (vs {base:.0%} of all errors)")
    if OOF_CONFIDENCE in mode and len(errors) > len(mode):
        ours, theirs = float(mode[OOF_CONFIDENCE].median()), float(errors[OOF_CONFIDENCE].median())
        if abs(ours - theirs) >= LOW_CONFIDENCE_GAP:
            parts.append(f"{'confident' if ours > theirs else 'unsure'} mistakes (median confidence {ours:.2f} vs {theirs:.2f} over all errors)")
    columns = (("label", "'{}' clips"), (pred_column, "predicted '{}'"))[2 if by_pair else 0:]
    for column, what in columns + (("speaker_id", "from speaker {}"), ("split", "in the {} split")):
        found = _over_represented(mode, clips, column, config)
        if found:
            value, share, base = found
            parts.append(f"{share:.0%} {what.format(value)} (vs {base:.0%} of all clips)")
    return parts


def describe_mode(rank: int, mode: pd.DataFrame, correct: pd.DataFrame, clips: pd.DataFrame, total_errors: int,
                  pred_column: str, config: FailureModeConfig = FailureModeConfig()) -> tuple[str, str, dict]:
    """(title, one-sentence description, details) of one group of errors: its dominant cause
    first (a detector flag, a confusable pair), then whatever else sets it apart; a group with
    no single cause says so and lists its most frequent confusions."""
    flags = _flag_reasons(mode, correct, config)
    continuous = _continuous_reasons(mode, correct)
    pairs = _pairs(mode, pred_column)
    chosen = [text for _, _, text in flags[:2] + continuous[: 1 if flags else 2]]
    headline = DETECTORS[flags[0][1]][1] if flags else None
    label, pred, total = _top_pair(pairs)
    by_pair = total / len(mode) >= config.group_min_share
    if by_pair:
        chosen.append(_pair_text(label, pred, total, len(mode), pairs))
        headline = headline or f"'{label}' heard as '{pred}'"
    context = _context(mode, clips, pred_column, config, by_pair)
    if headline is None:
        top = ", ".join(f"{pair.replace(ARROW, ' as ')} ({count})" for pair, count in pairs.head(3).items())
        # No fault explains the group alone, but faults far more common in it than among correct
        # clips are still its best description.
        minor = _flag_reasons(mode, correct, config, min_rate=MINOR_FLAG_RATE)
        words = f"{mode['label'].nunique()} words, most often {top}"
        if minor:
            headline = "mixed causes"
            chosen.append(f"no single cause: {'; '.join(text for _, _, text in minor)}; {words}")
        elif context:
            headline = context[0].split(" (")[0]
            chosen.append(f"most often {top}")
        else:
            headline = "no single cause"
            chosen.append(f"no single cause: {words}")
    share = len(mode) / max(total_errors, 1)
    sentence = "; ".join(chosen + context)
    description = f"Failure mode {rank} \u2014 {len(mode)} errors ({share:.0%}): {sentence}."
    details = {
        "flag_rates": {name: float(mode[f"flag_{name}"].mean()) for name in DETECTORS},
        "correct_flag_rates": {name: float(correct[f"flag_{name}"].mean()) if len(correct) else 0.0 for name in DETECTORS},
        "top_pairs": pairs.head(5).to_dict(),
        "share": share,
    }
    return f"Failure mode {rank} \u2014 {headline}", description, details


def merge_same_cause(labels: np.ndarray, errors: pd.DataFrame, correct: pd.DataFrame, pred_column: str, config: FailureModeConfig) -> np.ndarray:
    """Clusters with the same dominant explanation become one mode: the embedding may split, say,
    cut-off clips by word, but for the person fixing the data they are one problem."""
    labels = labels.copy()
    first_with: dict[tuple[str, ...], int] = {}
    for cluster in np.unique(labels[labels >= 0]):
        key = dominant_explanation(errors[labels == cluster], correct, pred_column, config)
        if key is None:
            continue
        if key in first_with:
            labels[labels == cluster] = first_with[key]
        else:
            first_with[key] = cluster
    return labels


def find_failure_modes(clips: pd.DataFrame, reduced: np.ndarray, error: np.ndarray, pred_column: str,
                       config: FailureModeConfig = FailureModeConfig(), seed: int = 0) -> tuple[list[FailureMode], np.ndarray]:
    """Failure modes largest first, and a cluster id per clip (-1: correct or in no group)."""
    error_rows = np.flatnonzero(error)
    flag_columns = [f"flag_{name}" for name in DETECTORS]
    correct = clips[~error]
    labels = cluster_errors(reduced[error_rows], clips[flag_columns].to_numpy()[error_rows], config, seed)
    labels = merge_same_cause(labels, clips.iloc[error_rows], correct, pred_column, config)
    ids, sizes = np.unique(labels[labels >= 0], return_counts=True)
    order = ids[np.argsort(-sizes, kind="stable")]
    cluster_of = np.full(len(clips), -1)
    modes = []
    for rank, cluster in enumerate(order, start=1):
        rows = error_rows[labels == cluster]
        cluster_of[rows] = rank - 1
        title, description, details = describe_mode(rank, clips.iloc[rows], correct, clips, len(error_rows), pred_column, config)
        modes.append(FailureMode(rank - 1, rows, title, description, details))
    return modes, cluster_of
