"""Failure modes as slices: sets of clips a person can name (a detector flag, two words the
model confuses, a speaker, a word, late or early speech, short or noisy clips, one region of the
model's embedding), that fail far more often than the rest, as slice finders do (SliceLine,
Domino, sliceguard). Clustering the errors' embeddings (the old method) put every error of a
real-speech run into one group; slices stay statable however the embedding looks.

Slices are picked greedily by the errors they explain beyond what the overall error rate
predicts (excess errors), each slice claiming its errors, so that overlapping slices are merged
and every error is explained once; they are then ranked by the errors they explain. Flags of
faults in the audio (`schema.CONTENT_FAULTS`) are picked before any other slice: a fault names a
cause, and the confusion a cut-off 'on' shows up as ('off') is its symptom, so the cause claims
that error. What no slice explains is the last mode, "no single cause"."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy.stats import binomtest
from sklearn.cluster import KMeans

from hark.schema import CONTENT_FAULTS, DETECTORS, LABEL, NO_CLUSTER, OFFSET, ONSET, SPEAKER, SPLIT, TRAIN

ARROW = "\u2192"
DASH = "\u2014"
NO_SINGLE_CAUSE = "no single cause"
# A speaker with no training clips: their errors are the model failing on a new voice.
NEW_VOICE = "a speaker with no training clips"
# (column, which tail, what a clip in that tail is, unit); the bar is the tail's quantile.
BINNED = (
    (ONSET, "high", "speech starts late", "s"),
    (OFFSET, "low", "speech ends early", "s"),
    ("score_length", "low", "short clips", "s"),
    ("score_length", "high", "long clips", "s"),
    ("score_low_snr", "low", "noisy recordings", "dB SNR"),
)


@dataclass
class FailureModeConfig:
    # A slice must explain at least this many errors (and this share of them).
    min_errors: int = 5
    min_error_share: float = 0.01
    # ... fail at least this many times as often as the rest would predict ...
    min_lift: float = 1.5
    # ... and do so beyond chance (one-sided binomial test against the expected rate).
    alpha: float = 0.01
    # Bins: the top or bottom quarter of a continuous attribute.
    tail_quantile: float = 0.25
    embedding_groups: int = 8
    embedding_fit_max: int = 10000
    # A detector flag or a confusion names what to fix; a word, a speaker or a bin (late onset,
    # short clips) says only where it happens, a region of the embedding less still. Such a slice
    # must explain this many times the excess errors of a flag or pair to be chosen before it.
    where_handicap: float = 1.5
    embedding_handicap: float = 2.0
    max_modes: int = 12
    examples: int = 3
    seed: int = 0


@dataclass
class FailureMode:
    cluster: int  # the mode's number, from 1 (schema.CLUSTER)
    rows: np.ndarray
    title: str
    description: str
    details: dict = field(default_factory=dict)


@dataclass
class Slice:
    key: str  # machine-readable: "flag_cutoff", "pair:go|no", "speaker_id=x", ...
    name: str  # the title's words
    phrase: str  # what every clip of it is, in plain words
    # Row indices, not masks: the greedy cover re-counts every slice each round, and 100k clips
    # with thousands of speakers must stay cheap.
    member_rows: np.ndarray  # the clips the slice holds
    explain_rows: np.ndarray  # the errors it accounts for (among its members' errors)
    expected_rate: float  # the error rate its members would have if it meant nothing
    pair: tuple[str, str] | None = None  # a confused pair, the more frequent direction first
    handicap: float = 1.0  # its excess errors are divided by this when slices compete
    new_voice: bool = False  # a speaker with no training clips
    cause: bool = False  # a fault in the audio: picked before every slice that is not one


def _pair_slices(
    clips: pd.DataFrame, error: np.ndarray, pred: np.ndarray, base: float, classes: int, min_errors: int
) -> list[Slice]:
    """Two words confused (either direction): among the clips of either word, confusions into
    the other, against an even spread of their errors over every other class."""
    labels = clips[LABEL].to_numpy()
    rows_of = clips.groupby(LABEL).indices
    slices = []
    pairs = pd.Series(list(zip(labels[error], pred[error], strict=True))).value_counts()
    seen = set()
    for (a, b), count in pairs.items():
        key = tuple(sorted((a, b)))
        if key in seen or count < min_errors / 2:
            continue
        seen.add(key)
        a_as_b = (labels == a) & (pred == b)
        b_as_a = (labels == b) & (pred == a)
        if b_as_a.sum() > a_as_b.sum():
            a, b = b, a
        members = np.concatenate([rows_of[key[0]], rows_of[key[1]]])
        slices.append(
            Slice(
                f"pair:{key[0]}|{key[1]}",
                f"'{a}' and '{b}' confused",
                f"'{a}' heard as '{b}' or the reverse",
                members,
                np.flatnonzero(a_as_b | b_as_a),
                base / max(classes - 1, 1),
                (a, b),
            )
        )
    return slices


def min_mode_errors(error: np.ndarray, config: FailureModeConfig) -> int:
    return max(config.min_errors, int(np.ceil(config.min_error_share * error.sum())))


def candidate_slices(
    clips: pd.DataFrame, error: np.ndarray, pred_column: str, reduced: np.ndarray | None, config: FailureModeConfig
) -> list[Slice]:
    base = float(error.mean())
    min_errors = min_mode_errors(error, config)
    pred = clips[pred_column].to_numpy()

    def attribute(
        key: str,
        name: str,
        phrase: str,
        members: np.ndarray,
        handicap: float = config.where_handicap,
        cause: bool = False,
        new_voice: bool = False,
    ) -> Slice:
        """`members`: a bool mask or row indices."""
        rows = np.flatnonzero(members) if members.dtype == bool else np.asarray(members)
        return Slice(
            key, name, phrase, rows, rows[error[rows]], base, handicap=handicap, cause=cause, new_voice=new_voice
        )

    # A fault in the audio (cut off, two words, no speech, clipped) is a cause; an odd length
    # only says where errors happen, like a length bin (FSDD's trimmed clips are mostly "short").
    slices = []
    for d in DETECTORS:
        if d.flag_column in clips:
            fault = d.name in CONTENT_FAULTS
            flags = clips[d.flag_column].to_numpy(bool)
            handicap = 1.0 if fault else config.where_handicap
            slices.append(attribute(d.flag_column, d.title, d.flag_meaning, flags, handicap, cause=fault))
    slices += _pair_slices(clips, error, pred, base, clips[LABEL].nunique(), min_errors)
    for word, rows in sorted(clips.groupby(LABEL).indices.items()):
        slices.append(attribute(f"{LABEL}={word}", f"'{word}' clips", f"labelled '{word}'", rows))
    speakers = clips[SPEAKER].fillna("") if SPEAKER in clips else pd.Series("", index=clips.index)
    trained = set(speakers[clips[SPLIT] == TRAIN]) if SPLIT in clips else None
    for speaker, rows in sorted(speakers.groupby(speakers.to_numpy()).indices.items()):
        if speaker and error[rows].sum() >= min_errors:
            unheard = trained is not None and speaker not in trained
            phrase = f"spoken by {speaker}" + (f", {NEW_VOICE}" if unheard else "")
            slices.append(attribute(f"{SPEAKER}={speaker}", f"speaker {speaker}", phrase, rows, new_voice=unheard))
    for column, tail, phrase, unit in BINNED:
        if column not in clips:
            continue
        values = clips[column].to_numpy(float)
        finite = np.isfinite(values)
        if finite.sum() < 2:
            continue
        quantile = config.tail_quantile if tail == "low" else 1 - config.tail_quantile
        bar = float(np.quantile(values[finite], quantile))
        members = finite & ((values <= bar) if tail == "low" else (values >= bar))
        where, sign = ("under", "<=") if tail == "low" else ("over", ">=")
        slices.append(attribute(f"{column}{sign}{bar:.6g}", phrase, f"{phrase} ({where} {bar:.2f} {unit})", members))
    if reduced is not None and len(reduced) >= 2 * config.embedding_groups:
        # Fitted on a sample: the regions are coarse, and 100k clips must not cost minutes.
        sample = np.random.default_rng(config.seed).permutation(len(reduced))[: config.embedding_fit_max]
        regions = KMeans(config.embedding_groups, n_init=3, random_state=config.seed).fit(reduced[sample])
        groups = regions.predict(reduced)
        for group in range(config.embedding_groups):
            slices.append(
                attribute(
                    f"embedding={group + 1}",
                    f"embedding region {group + 1}",
                    f"in region {group + 1} of the model's embedding",
                    groups == group,
                    config.embedding_handicap,
                )
            )
    return slices


def pick_slices(
    slices: list[Slice], error: np.ndarray, config: FailureModeConfig
) -> list[tuple[Slice, np.ndarray, float, float, float]]:
    """Greedy cover: (slice, the errors it claims, its error rate, the expected rate, lift),
    causes first, then most excess errors first; each error goes to the first slice that explains it."""
    claimed = np.zeros(len(error), bool)
    min_errors = min_mode_errors(error, config)
    slices = [s for s in slices if len(s.explain_rows) >= min_errors]
    picked = []
    while len(picked) < config.max_modes:
        best, best_rank = None, (False, 0.0)
        for candidate in slices:
            count = int((~claimed[candidate.explain_rows]).sum())
            if count < min_errors:
                continue
            support = int((~claimed[candidate.member_rows]).sum())
            if not support:
                continue
            expected = candidate.expected_rate * support
            rate = count / support
            rank = (candidate.cause, (count - expected) / candidate.handicap)
            if rate < config.min_lift * candidate.expected_rate or rank[1] <= 0 or rank <= best_rank:
                continue
            p_value = binomtest(count, support, min(candidate.expected_rate, 1.0), alternative="greater").pvalue
            if p_value < config.alpha:
                best, best_rank = (candidate, rate), rank
        if best is None:
            return picked
        candidate, rate = best
        new = np.zeros(len(error), bool)
        new[candidate.explain_rows[~claimed[candidate.explain_rows]]] = True
        claimed |= new
        picked.append((candidate, new, rate, candidate.expected_rate, rate / max(candidate.expected_rate, 1e-12)))
        slices = [s for s in slices if s is not candidate]
    return picked


def _confusions(clips: pd.DataFrame, rows: np.ndarray, pred_column: str, top: int = 3) -> str:
    pairs = (clips[LABEL].iloc[rows] + ARROW + clips[pred_column].iloc[rows]).value_counts().head(top)
    return ", ".join(f"'{pair.split(ARROW)[0]}' as '{pair.split(ARROW)[1]}' ({count})" for pair, count in pairs.items())


def describe(
    rank: int,
    found: Slice,
    rows: np.ndarray,
    rate: float,
    expected: float,
    total_errors: int,
    clips: pd.DataFrame,
    pred_column: str,
) -> tuple[str, str]:
    share = len(rows) / max(total_errors, 1)
    if found.pair:
        a, b = found.pair
        labels, preds = clips[LABEL].to_numpy()[rows], clips[pred_column].to_numpy()[rows]
        forward, reverse = int(((labels == a) & (preds == b)).sum()), int(((labels == b) & (preds == a)).sum())
        detail = (
            f"'{a}' as '{b}' {forward} times, '{b}' as '{a}' {reverse} times; {rate:.0%} of the clips of "
            f"the two words fail this way, against {expected:.0%} for any one other word"
        )
    else:
        detail = (
            f"such clips are wrong {rate:.0%} of the time, against {expected:.0%} overall; "
            f"most often {_confusions(clips, rows, pred_column)}"
        )
    description = f"{share:.0%} of errors ({len(rows)} clips): {found.phrase}; {detail}."
    return f"Failure mode {rank} {DASH} {found.name}", description


def find_failure_modes(
    clips: pd.DataFrame,
    reduced: np.ndarray | None,
    error: np.ndarray,
    pred_column: str,
    config: FailureModeConfig = FailureModeConfig(),
) -> tuple[list[FailureMode], np.ndarray]:
    """Failure modes (explained ones by the errors they explain, then the unexplained rest) and the mode
    number of every clip (`schema.NO_CLUSTER` for correct clips)."""
    error = np.asarray(error, bool)
    cluster = np.full(len(clips), NO_CLUSTER)
    if not error.any():
        return [], cluster
    picked = pick_slices(candidate_slices(clips, error, pred_column, reduced, config), error, config)
    # Chosen by excess errors (so that overlaps go to the strongest cause), shown by size: the
    # mode that explains the most errors is what to fix first.
    picked.sort(key=lambda item: (-int(item[1].sum()), -item[4]))
    modes = []
    for rank, (found, claimed, rate, expected, lift) in enumerate(picked, start=1):
        rows = np.flatnonzero(claimed)
        title, description = describe(rank, found, rows, rate, expected, int(error.sum()), clips, pred_column)
        cluster[rows] = rank
        modes.append(
            FailureMode(
                rank,
                rows,
                title,
                description,
                {
                    "slice": found.key,
                    "matches_title": 1.0,
                    "error_rate": rate,
                    "expected_rate": expected,
                    "lift": lift,
                    "share": len(rows) / error.sum(),
                    "new_voice": found.new_voice,
                },
            )
        )
    rest = np.flatnonzero(error & (cluster == NO_CLUSTER))
    if len(rest):
        rank = len(modes) + 1
        cluster[rest] = rank
        share = len(rest) / error.sum()
        description = (
            f"{share:.0%} of errors ({len(rest)}): no slice explains them beyond chance; "
            f"{clips[LABEL].iloc[rest].nunique()} words, most often "
            f"{_confusions(clips, rest, pred_column)}."
        )
        modes.append(
            FailureMode(
                rank,
                rest,
                f"Failure mode {rank} {DASH} {NO_SINGLE_CAUSE}",
                description,
                {"slice": "", "matches_title": float("nan"), "share": share},
            )
        )
    return modes, cluster


def slice_members(clips: pd.DataFrame, key: str, pred_column: str) -> np.ndarray:
    """The clips of `clips` matching a mode's slice key (for checks and the explorer): flags
    and bins by value, pairs by either direction of the defining prediction."""
    if key.startswith("pair:"):
        a, b = key.removeprefix("pair:").split("|")
        labels, preds = clips[LABEL].to_numpy(), clips[pred_column].to_numpy()
        return ((labels == a) & (preds == b)) | ((labels == b) & (preds == a))
    for sign in ("<=", ">="):
        if sign in key:
            column, bar = key.split(sign)
            values = clips[column].to_numpy(float)
            return (values <= float(bar)) if sign == "<=" else (values >= float(bar))
    if "=" in key and not key.startswith("embedding="):
        column, value = key.split("=", 1)
        return (clips[column].astype(str) == value).to_numpy()
    if key in clips:
        return clips[key].to_numpy(bool)
    raise KeyError(key)
