"""`hark fix` writes a manifest that load_dataset reads back; `hark compare` judges two sides on
shared clips in one label space, with paired statistics and a verdict."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from hark.analysis.analyze import AnalysisConfig, analyze
from hark.analysis.compare import ONE_RUN_NOTE, compare_sides, mcnemar
from hark.analysis.label_errors import LabelErrorConfig
from hark.cli import main
from hark.data.datasets import load_dataset
from hark.errors import UsageError
from test_analysis_fakes import make_run

FAST = AnalysisConfig(label_errors=LabelErrorConfig(crossval=False), umap=False, report=False, progress=False)


@pytest.fixture
def analysed_run(tmp_path, shared_data):
    fake = make_run(tmp_path, shared_data)
    analyze(fake["run"], FAST)
    return fake


def test_fix_cutoff_class_round_trips_through_load_dataset(analysed_run, capsys):
    fake = analysed_run
    corrections = fake["run"] / "corrections.csv"
    wrong = list(fake["mislabeled"].items())
    corrections.write_text("path,label\n" + f"{wrong[0][0]},{wrong[0][1]}\n" + f"{wrong[1][0]},unusable\n")
    out = fake["run"].parent / "fixed.json"
    assert main(["fix", str(fake["run"]), "--cutoff-class", "--relabel", str(corrections), "--out", str(out)]) == 0
    fixed = load_dataset(out)
    labels = {e.path: e.label for e in fixed.examples}
    clips = pd.read_parquet(fake["run"] / "analysis" / "clips.parquet")
    flagged = set(clips.loc[clips["flag_cutoff"], "path"])
    assert "_cutoff_" in fixed.labels
    assert {p for p, label in labels.items() if label == "_cutoff_"} == flagged - {wrong[0][0], wrong[1][0]}
    assert labels[wrong[0][0]] == wrong[0][1] and wrong[1][0] not in labels
    assert len(labels) == len(clips) - 1 and not [p for p in fixed.problems if "examples[" in p.problem]
    assert "1 dropped" in capsys.readouterr().out


def test_fix_rejects_unknown_flag_and_unknown_paths(analysed_run, capsys):
    run = analysed_run["run"]
    assert main(["fix", str(run), "--drop", "wobble"]) == 2
    assert "valid: cutoff" in capsys.readouterr().err
    bad = run / "bad.csv"
    bad.write_text("path,label\nnot/there.wav,yes\n")
    assert main(["fix", str(run), "--relabel", str(bad)]) == 1  # the data is wrong, not the call
    assert "not/there.wav" in capsys.readouterr().err


def test_fix_drop_removes_flagged_clips(analysed_run):
    run = analysed_run["run"]
    out = run / "dropped.json"
    assert main(["fix", str(run), "--drop", "cutoff", "--out", str(out)]) == 0
    kept = {e.path for e in load_dataset(out).examples}
    assert not kept & set(analysed_run["cutoff"])


def _run(tmp_path, name, table, preds=None, labels=None, config=None):
    """A run folder whose predictions are `table` with `pred` (and `label`) replaced."""
    run = tmp_path / name
    run.mkdir()
    for column, values in (("pred", preds), ("label", labels)):
        if values is not None:
            table = table.set_column(table.schema.get_field_index(column), column, pa.array(list(values)))
    pq.write_table(table, run / "predictions.parquet")
    (run / "config.json").write_text(config)
    return run


def _sides(frame_a, frame_b):
    from hark.analysis.inputs import RunData

    def data(frame, name):
        labels = sorted(set(frame["label"]) | set(frame["pred"]))
        return RunData(Path(name), {}, labels, frame, None, None, {}, None)

    return [data(frame_a, "a")], [data(frame_b, "b")]


def test_cutoff_moves_keep_their_label_and_rejections_count_apart():
    a = pd.DataFrame(
        {
            "path": [str(n) for n in range(8)],
            "split": ["test"] * 8,
            "label": ["x", "x", "y", "y", "x", "y", "x", "y"],
            "pred": ["x", "y", "y", "x", "y", "x", "x", "y"],
        }
    )
    b = a.assign(pred=["x", "x", "_cutoff_", "x", "_cutoff_", "_cutoff_", "x", "y"])
    b.loc[[4, 5], "label"] = "_cutoff_"  # `hark fix` moved two clips: judged by their original word
    comparison = compare_sides(*_sides(a, b))
    clips = comparison.clips.set_index("path")
    assert clips.loc[["4", "5"], "truth"].tolist() == ["x", "y"] and clips["is_cutoff"].sum() == 2
    assert comparison.a.clean_accuracy == [4 / 6] and comparison.b.clean_accuracy == [4 / 6]
    assert comparison.b.false_rejection == [1 / 6]  # clip 2: a clean word rejected
    assert comparison.a.cutoff_wrong == [1.0] and comparison.b.cutoff_rejected == [1.0]


def test_mcnemar_and_verdicts_follow_the_paired_evidence():
    rng = np.random.default_rng(0)
    n = 400
    labels = rng.choice(["x", "y", "z"], n)
    right_a = rng.random(n) < 0.6
    right_b = right_a | (rng.random(n) < 0.6)  # B fixes many clips and breaks none
    wrong = {"x": "y", "y": "z", "z": "x"}
    frame = pd.DataFrame({"path": [str(i) for i in range(n)], "split": "test", "label": labels})
    a = frame.assign(pred=[w if r else wrong[w] for w, r in zip(labels, right_a, strict=True)])
    b = frame.assign(pred=[w if r else wrong[w] for w, r in zip(labels, right_b, strict=True)])
    better = compare_sides(*_sides(a, b))
    accuracy = better.tests.set_index("measure").loc["accuracy, clean clips"]
    assert accuracy["verdict"] == "B is better" and accuracy["p_value"] < 1e-6 and accuracy["low"] > 0
    p, low, high = mcnemar(right_a, right_a)
    assert p == 1.0 and low < 0 < high
    same = compare_sides(*_sides(a, a.copy()))
    assert set(same.tests["verdict"]) == {"no difference beyond noise"}
    assert "B is better" in better.verdict and "no difference beyond noise" in same.verdict
    # One run a side: the verdict says what its test cannot see (a retrain's own noise).
    assert better.notes == [ONE_RUN_NOTE] and same.notes == []


@pytest.mark.parametrize(
    ("n", "moved", "verdict", "too_few"),
    [
        (278, 4, "no difference beyond noise", False),
        (278, 12, "B is worse", False),
        (16, 4, "no difference beyond noise", True),
    ],
)
def test_a_rate_change_is_judged_by_the_exact_test_and_says_when_too_few_clips_moved(n, moved, verdict, too_few):
    """B alone rejects `moved` of `n` clean clips. The interval holds the observed change; with 4
    of 278 it holds 0 as the exact test does (p = 0.125), where a bootstrap interval left 0 out.
    With 4 of 16 the score interval leaves 0 out, the exact test cannot tell, and the verdict says
    that too few clips changed."""
    frame = pd.DataFrame({"path": [str(i) for i in range(n)], "split": "test", "label": "x"})
    a = frame.assign(pred="x")
    b = frame.assign(pred=["_cutoff_" if i < moved else "x" for i in range(n)])
    comparison = compare_sides(*_sides(a, b))
    rejections = comparison.tests.set_index("measure").loc["false rejections, clean clips"]
    assert rejections["verdict"] == verdict and rejections["differ"] == moved
    assert rejections["low"] <= rejections["delta"] == moved / n <= rejections["high"]
    assert (rejections["low"] > 0) == (too_few or verdict == "B is worse")
    line = next(x for x in comparison.verdict.splitlines() if x.startswith("false rejections"))
    assert ("only 4 clips changed, too few for the exact test to tell" in line) == too_few
    p, low, high = mcnemar(np.zeros(n, bool), np.arange(n) < moved)
    assert (p, low, high) == (rejections["p_value"], rejections["low"], rejections["high"])


def test_bad_comparisons_get_a_clear_message():
    a = pd.DataFrame(
        {"path": ["1", "2", "3"], "split": ["test"] * 3, "label": ["x", "y", "x"], "pred": ["x", "y", "y"]}
    )
    disjoint = a.assign(path=["7", "8", "9"])
    with pytest.raises(UsageError, match="share no clip"):
        compare_sides(*_sides(a, disjoint))
    renamed = a.assign(label=["oui", "non", "oui"], pred=["oui", "non", "oui"])
    with pytest.raises(UsageError, match="cannot be mapped"):
        compare_sides(*_sides(a, renamed))
    with pytest.raises(UsageError, match="same number of seeds"):
        compare_sides(_sides(a, a)[0] * 2, _sides(a, a)[1])


def test_compare_cli_gives_a_verdict_and_seed_spread(analysed_run, tmp_path, capsys):
    fake = analysed_run
    table, config = fake["table"], (fake["run"] / "config.json").read_text()
    right = table["label"].to_pylist()
    runs_b = [_run(tmp_path, f"b{k}", table, preds=right, config=config) for k in range(2)]
    html = tmp_path / "cmp.html"
    assert main(["compare", f"{fake['run']},{fake['run']}", ",".join(map(str, runs_b)), "--html", str(html)]) == 0
    out = capsys.readouterr().out
    findings = json.loads((fake["run"] / "analysis" / "findings.json").read_text())
    assert "failure modes of A in B" in out and findings[0]["title"] in out
    assert "Verdict:" in out and "seed-to-seed spread" in out and ONE_RUN_NOTE not in out
    page = html.read_text()
    assert "Paired tests" in page and "https://" not in page


def test_compare_cli_refuses_runs_of_different_datasets(analysed_run, tmp_path, capsys):
    fake = analysed_run
    other = json.loads((fake["run"] / "config.json").read_text())
    other["data"]["source"] = str(tmp_path)
    run_b = _run(tmp_path, "other", fake["table"], config=json.dumps(other))
    assert main(["compare", str(fake["run"]), str(run_b)]) == 2
    assert "different datasets" in capsys.readouterr().err


def test_fix_relabel_suggested_relabels_only_flagged_training_clips(analysed_run):
    fake = analysed_run
    out = fake["run"].parent / "relabelled.json"
    assert main(["fix", str(fake["run"]), "--relabel-suggested", "--out", str(out)]) == 0
    labels = {e.path: e.label for e in load_dataset(out).examples}
    clips = pd.read_parquet(fake["run"] / "analysis" / "clips.parquet").set_index("path")
    flagged = clips[clips["label_issue"] & (clips["split"] == "train")]
    assert len(flagged)
    assert all(labels[p] == s for p, s in flagged["suggested_label"].items())
    others = clips.index.difference(flagged.index)
    assert all(labels[p] == clips.loc[p, "label"] for p in others)


def test_fix_suggested_applies_what_the_analysis_recommends(analysed_run, capsys):
    """`--suggested` is the same decision `hark analyze` prints: the suggested labels when the
    training split has label errors, a cut-off class only when a cut-off slice is a failure mode."""
    from hark.analysis.fix import suggested_plan
    from hark.runfiles import read_clips

    fake = analysed_run
    analysis = fake["run"] / "analysis"
    findings = json.loads((analysis / "findings.json").read_text())
    clips = read_clips(analysis / "clips.parquet")
    plan = suggested_plan(findings, clips)
    assert plan.relabel_suggested  # the fake run has injected mislabels in its training split
    assert plan.cutoff_class == any(f.get("slice") == "flag_cutoff" for f in findings)
    out = fake["run"].parent / "suggested.json"
    assert main(["fix", str(fake["run"]), "--suggested", "--out", str(out)]) == 0
    labels = {e.path: e.label for e in load_dataset(out).examples}
    train_errors = clips[clips["label_issue"] & (clips["split"] == "train")]
    assert all(labels.get(p) == s for p, s in zip(train_errors["path"], train_errors["suggested_label"], strict=True))
    assert ("_cutoff_" in set(labels.values())) == plan.cutoff_class


def test_fix_suggested_with_nothing_to_suggest_is_a_clear_error(analysed_run, capsys):
    analysis = analysed_run["run"] / "analysis"
    clips = pd.read_parquet(analysis / "clips.parquet")
    clips["label_issue"] = False
    clips.to_parquet(analysis / "clips.parquet", index=False)
    (analysis / "findings.json").write_text("[]")
    assert main(["fix", str(analysed_run["run"]), "--suggested"]) == 1
    assert "suggests no fix" in capsys.readouterr().err


def test_per_class_f1_and_modes_average_over_every_seed(tmp_path):
    """With several seeds a side, a word's F1 is each side's mean over its seeds (with their
    spread), and a failure mode's share fixed counts every B seed, not just the first."""
    from hark.analysis.inputs import RunData
    from hark.schema import ANALYSIS_DIR, FINDINGS_FILE

    truth = ["x", "x", "y", "y"]
    frame = pd.DataFrame({"path": ["0", "1", "2", "3"], "split": "test", "label": truth})
    wrong = frame.assign(pred=["y", "x", "y", "y"])  # clip 0 heard as y
    right = frame.assign(pred=truth)
    (tmp_path / "a0" / ANALYSIS_DIR).mkdir(parents=True)
    (tmp_path / "a0" / ANALYSIS_DIR / FINDINGS_FILE).write_text(
        json.dumps([{"title": "x heard as y", "size": 1, "clips": ["0"]}])
    )

    def run(frame, name):
        return RunData(tmp_path / name, {}, ["x", "y"], frame, None, None, {}, None)

    comparison = compare_sides([run(wrong, "a0"), run(wrong, "a1")], [run(wrong, "b0"), run(right, "b1")])
    per_class = comparison.per_class.set_index("label")
    f1_x_wrong = 2 * 1 / (2 + 1)  # one of two x clips heard right, nothing else said x
    assert per_class.loc["x", "f1_a"] == pytest.approx(f1_x_wrong)
    assert per_class.loc["x", "f1_b"] == pytest.approx((f1_x_wrong + 1.0) / 2)
    assert per_class.loc["x", "seed_sd"] == pytest.approx(np.std([f1_x_wrong, 1.0], ddof=1))
    mode = comparison.modes.iloc[0]
    assert mode["in_b"] == 1 and mode["share_fixed"] == pytest.approx(0.5)


def test_the_suggested_check_compares_seed_folders_when_the_analysed_run_is_one_of_several_seeds(tmp_path):
    """`make demo` analyses run-a/seed-0 of three: one retrain against it cannot be told from
    seed noise, so the suggestion is to retrain as many seeds and compare the two folders."""
    from hark.analysis.command import suggested_fixes
    from hark.analysis.fix import FixPlan

    for k in range(3):
        (tmp_path / "run-a" / f"seed-{k}").mkdir(parents=True)
        (tmp_path / "run-a" / f"seed-{k}" / "config.json").write_text("{}")
    (tmp_path / "single").mkdir()
    plan = FixPlan(cutoff_class=True, relabel_suggested=True)
    seeded = suggested_fixes(plan, 4, tmp_path / "run-a" / "seed-0")
    assert all(f"--seeds 3`, then `hark compare {tmp_path / 'run-a'} NEW_RUN`" in fix for fix in seeded)
    assert len(seeded) == 2
    single = suggested_fixes(plan, 4, tmp_path / "single")
    assert all(f"retrain, then `hark compare {tmp_path / 'single'} NEW_RUN`" in fix for fix in single)
