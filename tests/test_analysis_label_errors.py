"""Label errors on a hand-made run (real clips, made-up predictions): per-class bars, clips whose
audio explains the disagreement, and the cross-validation cache."""

from __future__ import annotations

import numpy as np
import pytest

from hark.analysis import label_errors
from hark.analysis.inputs import load_run_data
from hark.analysis.label_errors import LabelErrorConfig, cached_crossval_probs, find_label_errors, per_class_thresholds
from test_analysis_fakes import make_run

NO_CROSSVAL = LabelErrorConfig(crossval=False)


@pytest.fixture
def fake(tmp_path, shared_data):
    return make_run(tmp_path, shared_data)


def test_each_class_gets_the_mean_score_of_its_own_clips_as_its_bar():
    scores = np.array([[0.9, 0.1, 0.0], [0.7, 0.3, 0.0], [0.2, 0.4, 0.4], [0.6, 0.2, 0.2]])
    targets = np.array([0, 0, 1, 1])
    # Class 1 is hard (its clips score 0.4 and 0.2 on it), so its bar is low; class 2 has no clips.
    np.testing.assert_allclose(per_class_thresholds(scores, targets), [0.8, 0.3, np.inf])


def test_a_clip_whose_audio_explains_the_disagreement_is_not_a_label_error(fake):
    run = load_run_data(fake["run"])
    found = find_label_errors(run, NO_CROSSVAL, progress=False)
    paths = run.clips["path"]
    assert set(paths[found.issue]) == set(fake["mislabeled"])
    explained = paths.isin(list(fake["mislabeled"])[:2]).to_numpy()
    kept = find_label_errors(run, NO_CROSSVAL, progress=False, explained=explained)
    assert set(paths[kept.issue]) == set(list(fake["mislabeled"])[2:])


def test_a_class_the_model_finds_hard_is_not_flagged_wholesale(fake):
    """The 'down' clips get a probability that only just favours 'yes', with neighbours of both
    words: below 'yes''s own bar, so they are hard clips, not mislabelled ones."""
    run = load_run_data(fake["run"])
    down = (run.clips["label"] == "down").to_numpy() & ~run.clips["path"].isin(fake["mislabeled"]).to_numpy()
    run.probs[down] = 0.1
    run.probs[down, run.labels.index("yes")] = 0.45
    run.probs[down, run.labels.index("down")] = 0.35
    mixed = np.flatnonzero(down)
    run.embeddings[mixed[::2]] = run.embeddings[(run.clips["label"] == "yes").to_numpy()][: len(mixed[::2])]
    found = find_label_errors(run, NO_CROSSVAL, progress=False)
    assert not found.issue[down].any()
    expected = set(fake["mislabeled"]) - {p for p in fake["mislabeled"] if p.startswith("down/")}
    assert set(run.clips["path"][found.issue]) >= expected


def test_crossvalidation_is_computed_once_per_run_state(fake, monkeypatch):
    run = load_run_data(fake["run"])
    calls = []

    def fake_crossval(run, folds, seed, progress):
        calls.append(folds)
        return np.roll(run.probs, 1, axis=1)

    monkeypatch.setattr(label_errors, "crossval_probs", fake_crossval)
    first = cached_crossval_probs(run, 3, progress=False)
    again = cached_crossval_probs(run, 3, progress=False)
    np.testing.assert_array_equal(first, again)
    assert calls == [3]
    cached_crossval_probs(run, 4, progress=False)  # other folds: other models
    assert calls == [3, 4]
    (fake["run"] / "predictions.parquet").write_bytes((fake["run"] / "predictions.parquet").read_bytes() + b"\0")
    cached_crossval_probs(run, 4, progress=False)  # re-evaluated run: stale
    assert calls == [3, 4, 4]
