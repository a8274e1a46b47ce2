"""`hark evaluate RUN --data OTHER [--label-map CSV]` writes RUN/eval/<name>/ (metrics with an
"unknown to the model" row, confusion, predictions), never touching the run's own files; the
run's config.json names its dataset; `hark analyze` accepts the evaluation folder."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest

from hark import schema
from hark.cli import main
from hark.evaluate.predictions import read_predictions


@pytest.fixture(scope="module")
def trained(evaluated_run):
    """The shared seed-m5 run (two epochs on a fake 4-word tree, 10 speakers x 2 takes) and its data."""
    return evaluated_run.parent, evaluated_run.parent / "sc"


def _other(root, data):
    """Another dataset: the same recordings as a manifest, `yes` spelt `YES`, `up` called `maybe`."""
    rename = {"yes": "YES", "up": "maybe"}
    rows = ["path,label,speaker"]
    for word in ("yes", "no", "up", "down"):
        for clip in sorted((data / word).glob("*.wav")):
            rows.append(f"{word}/{clip.name},{rename.get(word, word)},{clip.name.split('_')[0]}")
    manifest = data / "other.csv"
    manifest.write_text("\n".join(rows) + "\n")
    (root / "map.csv").write_text("from,to\nYES,yes\n")
    return manifest


def test_cross_dataset_evaluation_counts_unknown_labels(trained, capsys):
    root, data = trained
    run = root / "run"
    own_metrics = (run / "metrics.json").read_bytes()
    own_predictions = (run / "predictions.parquet").read_bytes()
    manifest = _other(root, data)
    with __import__("conftest").torch_threads(1):
        assert (
            main(
                [
                    "evaluate",
                    str(run),
                    "--data",
                    str(manifest),
                    "--label-map",
                    str(root / "map.csv"),
                    "--device",
                    "cpu",
                    "--quiet",
                ]
            )
            == 0
        )
    out = capsys.readouterr().out
    assert "20 clips have labels the model does not know" in out and "maybe (20)" in out
    folder = run / schema.EVAL_DIR / "other"
    assert (run / "metrics.json").read_bytes() == own_metrics
    assert (run / "predictions.parquet").read_bytes() == own_predictions

    metrics = json.loads((folder / schema.METRICS_FILE).read_text())
    every = metrics["all"]
    assert every["clips"] == 80 and every["unknown_to_model"] == 20
    assert every["per_class"][schema.UNKNOWN_TO_MODEL]["support"] == 20
    assert every["per_class"][schema.UNKNOWN_TO_MODEL]["recall"] == 0.0
    frame, labels = read_predictions(folder / schema.PREDICTIONS_FILE)
    assert len(frame) == 80 and schema.UNKNOWN_TO_MODEL not in labels  # the class order is the model's
    unknown = frame[frame[schema.LABEL] == schema.UNKNOWN_TO_MODEL]
    assert len(unknown) == 20 and set(unknown[schema.SOURCE_LABEL]) == {"maybe"} and unknown[schema.LOSS].isna().all()
    yes = frame[frame[schema.SOURCE_LABEL] == "YES"]
    assert len(yes) == 20 and set(yes[schema.LABEL]) == {"yes"} and yes[schema.LOSS].notna().all()
    accuracy_known = (frame[schema.LABEL] == frame[schema.PRED]).sum() / 60
    assert every["accuracy_known"] == pytest.approx(accuracy_known)
    assert every["accuracy"] == pytest.approx(accuracy_known * 60 / 80)

    confusion = pd.read_csv(folder / "confusion" / "all.csv", index_col=0)
    assert confusion.loc[schema.UNKNOWN_TO_MODEL].sum() == 20 and confusion[schema.UNKNOWN_TO_MODEL].sum() == 0
    config = json.loads((folder / schema.CONFIG_FILE).read_text())
    assert config["data"]["source"] == str(manifest.resolve())
    assert config[schema.PREDICTIONS_ORIGIN_KEY]["unknown_to_model"] == {"maybe": 20}
    metadata = pq.read_schema(folder / schema.PREDICTIONS_FILE).metadata
    assert metadata[schema.DATA_ROOT_METADATA_KEY].decode() == str(data.resolve())

    assert main(["analyze", str(folder), "--no-umap", "--no-report", "--quiet"]) == 0
    out = capsys.readouterr().out
    assert "20 clips whose label the model does not know are left out" in out
    assert "did not train on this dataset" in out
    clips = pq.read_table(folder / schema.ANALYSIS_DIR / schema.CLIPS_FILE).to_pandas()
    assert len(clips) == 60 and set(clips[schema.LABEL]) <= set(labels)

    from hark.explorer.rundata import load_explorer_run

    explorer = load_explorer_run(folder)  # `hark explore RUN/eval/other` finds the other dataset's audio
    assert explorer.data_root == data.resolve() and len(explorer.clips) == 60


def test_a_bad_label_map_names_the_line(trained, capsys):
    root, data = trained
    manifest = _other(root, data)
    (root / "badmap.csv").write_text("from,to\nYES,yes\nmaybe,perhaps\n")
    assert (
        main(
            [
                "evaluate",
                str(root / "run"),
                "--data",
                str(manifest),
                "--label-map",
                str(root / "badmap.csv"),
                "--device",
                "cpu",
            ]
        )
        == 2
    )
    assert "badmap.csv: line 3: 'perhaps' is not a label of the model" in capsys.readouterr().err
    assert main(["evaluate", str(root / "run"), "--label-map", str(root / "badmap.csv")]) == 2


def test_evaluate_follows_config_json_after_the_data_moves(trained, tmp_path):
    root, data = trained
    run = tmp_path / "run"
    shutil.copytree(root / "run", run)
    moved = shutil.copytree(data, tmp_path / "moved")
    config = json.loads((run / "config.json").read_text())
    config["data"]["source"] = str(moved)
    (run / "config.json").write_text(json.dumps(config))
    shutil.rmtree(data / "no")  # the old location no longer holds the dataset
    try:
        with __import__("conftest").torch_threads(1):
            assert main(["evaluate", str(run), "--device", "cpu", "--quiet"]) == 0
    finally:
        shutil.copytree(moved / "no", data / "no")
    root_key = pq.read_schema(run / "predictions.parquet").metadata[schema.DATA_ROOT_METADATA_KEY].decode()
    assert root_key == str(moved.resolve())
    frame, _ = read_predictions(run / "predictions.parquet")
    assert np.isfinite(frame[schema.LOSS]).all()


def test_predictions_rewritten_by_pandas_fall_back_to_config(trained, tmp_path):
    root, _ = trained
    shutil.copy(root / "run" / "config.json", tmp_path / "config.json")
    frame, labels = read_predictions(root / "run" / "predictions.parquet")
    frame.to_parquet(tmp_path / "predictions.parquet")  # pandas keeps no hark metadata
    assert schema.LABELS_METADATA_KEY not in (pq.read_schema(tmp_path / "predictions.parquet").metadata or {})
    again, fallback = read_predictions(tmp_path / "predictions.parquet")
    assert fallback == labels and len(again) == len(frame)


def test_an_unwritable_evaluation_folder_is_refused_before_any_work(trained, tmp_path, capsys):
    root, _ = trained
    run = shutil.copytree(root / "run", tmp_path / "run", ignore=shutil.ignore_patterns("eval"))
    (run / schema.EVAL_DIR).write_text("a file where the folder should be")
    assert main(["evaluate", str(run), "--data", str(tmp_path / "not-loaded-yet"), "--name", "x"]) == 1
    err = capsys.readouterr().err
    assert str(run / schema.EVAL_DIR / "x") in err and "not writable" in err
