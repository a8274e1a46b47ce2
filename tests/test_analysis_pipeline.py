"""`hark analyze` end to end on a hand-made run: outputs, their shape, and what they find."""

from __future__ import annotations

import json

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from hark.analysis.analyze import AnalysisConfig, analyze
from hark.analysis.label_errors import LabelErrorConfig
from hark.cli import main
from hark.schema import OOF_PRED
from test_analysis_fakes import make_run

FAST = AnalysisConfig(label_errors=LabelErrorConfig(crossval=False), umap=False, progress=False)


@pytest.fixture(scope="module")
def analysed(tmp_path_factory):
    from conftest import SHARED_DATA

    if not (SHARED_DATA / "speech_commands_mini_v0.02").is_dir():
        pytest.skip(f"real Speech Commands clips not found at {SHARED_DATA}")
    fake = make_run(tmp_path_factory.mktemp("analysis"), SHARED_DATA, speaker_override="<script>alert(1)</script>")
    return fake, analyze(fake["run"], FAST)


def test_clips_parquet_has_one_row_per_clip_with_the_contract_columns(analysed):
    fake, _ = analysed
    clips = pd.read_parquet(fake["run"] / "analysis" / "clips.parquet")
    assert len(clips) == fake["table"].num_rows
    for column in (
        "path",
        "split",
        "label",
        "pred",
        "confidence",
        "loss",
        "label_quality",
        "label_issue",
        "flag_cutoff",
        "score_cutoff",
        "flag_multiword",
        "cluster",
        "x",
        "y",
        "speaker_id",
    ):
        assert column in clips, column
    assert clips["label_issue"].dtype == bool and clips["flag_cutoff"].dtype == bool
    assert set(clips["path"]) == set(fake["table"]["path"].to_pylist())


def test_cutoff_clips_are_flagged_and_form_the_top_failure_mode(analysed):
    fake, _ = analysed
    clips = pd.read_parquet(fake["run"] / "analysis" / "clips.parquet").set_index("path")
    flagged = set(clips.index[clips["flag_cutoff"]])
    assert set(fake["cutoff"]) <= flagged
    findings = json.loads((fake["run"] / "analysis" / "findings.json").read_text())
    assert findings and [f["cluster"] for f in findings] == list(range(1, len(findings) + 1))
    top = findings[0]
    assert {"title", "description", "size", "clips"} <= top.keys() and top["size"] == len(top["clips"])
    assert set(top["clips"]) <= set(fake["cutoff"]) and len(top["clips"]) >= 0.75 * len(fake["cutoff"])
    assert "end of the clip" in top["description"] and top["title"].endswith("cut off")
    members = clips.loc[top["clips"]]
    assert (members["cluster"] == 1).all() and members["flag_cutoff"].all()


def test_clips_parquet_carries_both_predictions_and_says_which_defines_error(analysed):
    fake, _ = analysed
    path = fake["run"] / "analysis" / "clips.parquet"
    table = pq.read_table(path)
    assert pa.types.is_fixed_size_list(table.schema.field("oof_probs").type)
    assert table.schema.field("oof_probs").type.value_type == pa.float32()
    assert table.schema.metadata[b"hark.error_defined_by"] == b"pred"  # no cross-validation in FAST
    clips = table.to_pandas()
    assert (clips["error"] == (clips["pred"] != clips["label"])).all()
    assert {"pred", "confidence", "oof_pred", "oof_confidence"} <= set(clips.columns)
    assert set(clips.loc[~clips["error"], "cluster"]) == {-1}


def test_label_issues_are_the_misfiled_clips(analysed):
    fake, result = analysed
    clips = result.clips.set_index("path")
    assert set(clips.index[clips["label_issue"]]) == set(fake["mislabeled"])
    assert clips.loc[list(fake["mislabeled"]), "suggested_label"].tolist() == list(fake["mislabeled"].values())


def test_confusable_pairs_count_both_directions(analysed):
    _, result = analysed
    clips = result.clips
    for pair in result.pairs:
        a_as_b = ((clips["label"] == pair["a"]) & (clips[OOF_PRED] == pair["b"])).sum()
        b_as_a = ((clips["label"] == pair["b"]) & (clips[OOF_PRED] == pair["a"])).sum()
        assert (pair["a_as_b"], pair["b_as_a"], pair["total"]) == (a_as_b, b_as_a, a_as_b + b_as_a)


def test_report_is_self_contained_and_escapes_user_text(analysed):
    fake, _ = analysed
    html = (fake["run"] / "analysis" / "report.html").read_text()
    assert "http://" not in html and "https://" not in html
    assert "<audio" in html and "data:audio/wav;base64," in html and "data:image/png;base64," in html
    assert "<script>alert(1)" not in html and "&lt;script&gt;alert(1)" in html
    assert "Failure mode 1" in html


def test_cli_prints_findings_and_report_location(tmp_path, shared_data, capsys):
    fake = make_run(tmp_path, shared_data)
    assert main(["analyze", str(fake["run"]), "--no-crossval", "--no-umap", "--quiet"]) == 0
    out = capsys.readouterr().out
    assert "Failure mode 1" in out and str(fake["run"] / "analysis" / "report.html") in out
    coords = pq.read_table(fake["run"] / "analysis" / "clips.parquet", columns=["x", "y"]).to_pandas()
    assert coords.notna().all().all() and coords["x"].std() > 0


def test_every_mode_holds_the_clips_its_sentence_describes(analysed):
    """Opening a mode's clips (as the explorer does, from findings.json and clips.parquet) shows
    clips matching its title in the share its description states."""
    import re

    from hark.analysis.failure_modes import slice_members

    fake, _ = analysed
    clips = pd.read_parquet(fake["run"] / "analysis" / "clips.parquet").set_index("path")
    defining = pq.read_schema(fake["run"] / "analysis" / "clips.parquet").metadata[b"hark.error_defined_by"].decode()
    findings = json.loads((fake["run"] / "analysis" / "findings.json").read_text())
    for finding in findings:
        opened = clips.loc[finding["clips"]].reset_index()
        assert (opened["cluster"] == finding["cluster"]).all() and opened["error"].all()
        if not finding["slice"] or finding["slice"].startswith("embedding="):
            continue
        stated = re.search(r"of errors \((\d+) clips\)", finding["description"])
        matching = slice_members(opened, finding["slice"], defining)
        assert stated and int(stated.group(1)) == matching.sum() == len(opened), finding["description"]
