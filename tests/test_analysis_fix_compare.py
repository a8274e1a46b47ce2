"""`hark fix` writes a manifest that load_dataset reads back; `hark compare` counts clips
fixed and broken between two runs."""

from __future__ import annotations

import json

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from hark.analysis.analyze import AnalysisConfig, analyze
from hark.analysis.compare import clip_status
from hark.analysis.label_errors import LabelErrorConfig
from hark.cli import main
from hark.data.datasets import load_dataset
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


def test_clip_status_counts_fixed_and_broken():
    a = pd.DataFrame({"path": ["1", "2", "3", "4", "5"], "split": ["test"] * 5,
                      "label": ["x", "x", "y", "y", "y"], "pred": ["x", "y", "y", "x", "x"]})
    b = a.assign(pred=["y", "x", "y", "y", "x"])
    b.loc[4, "label"] = "_cutoff_"  # moved to a new class and still wrong: both wrong
    status = clip_status(a, b).set_index("path")["status"]
    assert status.to_dict() == {"1": "broken", "2": "fixed", "3": "both right", "4": "fixed", "5": "both wrong"}


def test_compare_cli_reports_modes_of_a_in_b(analysed_run, tmp_path, capsys):
    fake = analysed_run
    run_b = tmp_path / "run_b"
    run_b.mkdir()
    table = fake["table"]
    fixed_preds = pa.array(table["label"].to_pylist())  # B gets every clip right
    pq.write_table(table.set_column(table.schema.get_field_index("pred"), "pred", fixed_preds), run_b / "predictions.parquet")
    (run_b / "config.json").write_text((fake["run"] / "config.json").read_text())
    html = tmp_path / "cmp.html"
    assert main(["compare", str(fake["run"]), str(run_b), "--html", str(html)]) == 0
    out = capsys.readouterr().out
    wrong_in_a = sum(l != p for l, p in zip(table["label"].to_pylist(), table["pred"].to_pylist()))
    findings = json.loads((fake["run"] / "analysis" / "findings.json").read_text())
    assert "failure modes of A in B" in out and findings[0]["title"] in out
    page = html.read_text()
    assert "Clips fixed and broken" in page and "https://" not in page
    statuses = clip_status(fake["table"].to_pandas(), pq.read_table(run_b / "predictions.parquet").to_pandas())["status"]
    assert (statuses == "fixed").sum() == wrong_in_a and (statuses == "broken").sum() == 0
