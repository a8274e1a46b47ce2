"""Failure modes on hand-made errors: one mode per cause (even when the embedding splits it),
ranked by size, each described by what sets it apart."""

from __future__ import annotations

import numpy as np
import pandas as pd

from hark.analysis.detectors import DETECTORS
from hark.analysis.failure_modes import FailureModeConfig, cluster_errors, find_failure_modes
from hark.schema import OOF_CONFIDENCE, OOF_PRED

WORDS = ("go", "no", "up", "off", "yes", "down")


def _clips(groups: list[tuple[int, str, str, str | None]], correct: int = 120, seed: int = 0):
    """groups: (count, label, prediction, flag or None), each at its own place in embedding
    space; plus `correct` correctly classified clips. Returns (clips, reduced embeddings)."""
    rng = np.random.default_rng(seed)
    rows, vectors = [], []
    centres = np.eye(16)
    for index, (count, label, pred, flag) in enumerate(groups):
        for _ in range(count):
            rows.append({"label": label, OOF_PRED: pred, "flag": flag, "error": True})
            vectors.append(centres[index] + 0.03 * rng.normal(size=16))
    for n in range(correct):
        word = WORDS[n % len(WORDS)]
        rows.append({"label": word, OOF_PRED: word, "flag": None, "error": False})
        vectors.append(centres[8 + n % len(WORDS)] + 0.03 * rng.normal(size=16))
    clips = pd.DataFrame(rows)
    flag = clips.pop("flag")
    for name in DETECTORS:
        clips[f"flag_{name}"] = (flag == name).to_numpy()
    clips["speaker_id"] = [f"s{n % 40}" for n in range(len(clips))]
    clips["split"] = "train"
    clips["onset_s"] = np.where(clips["flag_cutoff"], 0.8, 0.3)
    clips["offset_s"] = np.where(clips["flag_cutoff"], 1.0, 0.7)
    clips["score_length"] = 1.0
    clips["score_low_snr"] = 25.0
    clips["label_issue"] = False
    clips[OOF_CONFIDENCE] = 0.6
    return clips, np.asarray(vectors, np.float32)


def test_a_cause_split_by_the_embedding_is_one_mode_ranked_first():
    # Cut-off clips of two words sit in two places; together they are the largest group.
    groups = [(24, "yes", "up", "cutoff"), (22, "down", "go", "cutoff"), (30, "go", "no", None), (8, "up", "off", None)]
    clips, reduced = _clips(groups)
    error = clips["error"].to_numpy()
    cutoff_rows = np.flatnonzero(clips["flag_cutoff"].to_numpy())
    flags = clips[[f"flag_{name}" for name in DETECTORS]].to_numpy()
    raw = cluster_errors(reduced[error], flags[error])
    assert len(set(raw[cutoff_rows])) == 2, "the embedding must split the cut-off clips for this test to mean anything"

    modes, cluster = find_failure_modes(clips, reduced, error, OOF_PRED)
    assert sorted(modes[0].rows) == sorted(cutoff_rows)
    assert "end of the clip" in modes[0].description and modes[0].title.endswith("speech runs into the end of the clip")
    assert set(cluster[cutoff_rows]) == {0}
    assert [len(m.rows) for m in modes] == sorted((len(m.rows) for m in modes), reverse=True)


def test_a_dominant_confusion_is_named_as_a_pair_with_both_directions():
    groups = [(26, "go", "no", None), (6, "no", "go", None), (20, "up", "off", None)]
    clips, reduced = _clips(groups)
    # The two directions sit apart in the embedding but are one confusable pair.
    modes, _ = find_failure_modes(clips, reduced, clips["error"].to_numpy(), OOF_PRED)
    top = modes[0]
    assert len(top.rows) == 32
    assert "'go' heard as 'no' (26 of 32, and the reverse 6 times)" in top.description
    assert "confusable pair" in top.description and top.title.endswith("'go' heard as 'no'")


MIXED_PAIRS = (("go", "up"), ("no", "yes"), ("up", "down"), ("off", "go"), ("yes", "off"), ("down", "no"))


def test_a_group_without_a_single_cause_says_so_and_lists_its_confusions():
    mixed = [(4, a, b, None) for a, b in MIXED_PAIRS]
    clips, reduced = _clips(mixed)
    # One place in the embedding for all of them: they form one group.
    reduced[clips["error"].to_numpy()] = reduced[0] + 0.03 * np.random.default_rng(1).normal(size=(24, 16))
    modes, _ = find_failure_modes(clips, reduced, clips["error"].to_numpy(), OOF_PRED)
    assert len(modes) == 1
    assert "no single cause" in modes[0].description and "most often" in modes[0].description
    assert "spread over" not in modes[0].description


def test_faults_too_rare_to_explain_a_group_alone_are_still_named():
    mixed = [(4, a, b, None) for a, b in MIXED_PAIRS]
    clips, reduced = _clips(mixed)
    reduced[clips["error"].to_numpy()] = reduced[0] + 0.03 * np.random.default_rng(1).normal(size=(24, 16))
    clips.loc[:7, "flag_multiword"] = True  # a third of the group, no correct clip
    # Flags left out of the clustering, so that the flagged clips stay in the group.
    modes, _ = find_failure_modes(clips, reduced, clips["error"].to_numpy(), OOF_PRED,
                                  FailureModeConfig(flag_weight=0.0))
    assert "no single cause: two or more words (33% flagged multiword vs 0% of correct clips)" in modes[0].description
    assert modes[0].title.endswith("mixed causes")
