"""Any model's predictions: a scikit-learn model trained outside hark on real speech (FSDD),
its predictions in the published schema, analysed by `hark analyze --predictions` and served by
the explorer; and every kind of bad predictions file naming the file, the row and the problem."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from hark import schema
from hark.cli import main

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "sklearn_predictions.py"


@pytest.fixture(scope="module")
def fsdd(tmp_path_factory):
    from conftest import SHARED_DATA

    recordings = SHARED_DATA / "fsdd" / "recordings"
    if not recordings.is_dir():
        pytest.skip(f"FSDD not found at {recordings} (set HARK_SHARED_DATA)")
    root = tmp_path_factory.mktemp("fsdd")
    manifest = root / "fsdd.csv"
    assert (
        main(["data", "index", str(recordings), "--pattern", "{label}_{speaker}_{take}.wav", "--out", str(manifest)])
        == 0
    )
    return root, manifest


@pytest.fixture(scope="module")
def outside(fsdd):
    """Every 8th FSDD clip (375, all 6 speakers), logistic regression on log-mel statistics."""
    root, manifest = fsdd
    predictions = root / "sk.parquet"
    subprocess.run(
        [sys.executable, str(EXAMPLE), str(manifest), str(predictions), "--every", "8"],
        check=True,
        capture_output=True,
        text=True,
    )
    return root, manifest, predictions


def test_outside_model_analysed_and_explorable(outside, capsys):
    root, manifest, predictions = outside
    out = root / "analysis-out"
    assert (
        main(
            [
                "analyze",
                "--predictions",
                str(predictions),
                "--data",
                str(manifest),
                "--out",
                str(out),
                "--no-umap",
                "--quiet",
            ]
        )
        == 0
    )
    printed = capsys.readouterr().out
    assert "out-of-fold probabilities (oof_probs)" in printed
    clips = pq.read_table(out / schema.ANALYSIS_DIR / schema.CLIPS_FILE).to_pandas()
    source = pq.read_table(predictions).to_pandas()
    assert len(clips) == len(source) == 375 and list(clips[schema.PATH]) == list(source[schema.PATH])
    probs = np.stack(source[schema.PROBS])
    labels = json.loads(pq.read_schema(predictions).metadata[schema.LABELS_METADATA_KEY])
    assert list(clips[schema.PRED]) == [labels[i] for i in probs.argmax(1)]
    # The label errors come from the file's out-of-fold probabilities, not the in-sample ones.
    oof = np.stack(source[schema.OOF_PROBS])
    assert list(clips["oos_pred" if "oos_pred" in clips else schema.OOF_PRED]) == [labels[i] for i in oof.argmax(1)]
    assert clips[schema.SPEAKER].nunique() == 6 and clips[schema.LABEL_QUALITY].between(0, 1).all()
    findings = json.loads((out / schema.ANALYSIS_DIR / schema.FINDINGS_FILE).read_text())
    assert isinstance(findings, list) and all(set(f["clips"]) <= set(clips[schema.PATH]) for f in findings)
    assert (out / schema.ANALYSIS_DIR / schema.REPORT_FILE).stat().st_size > 1000
    metrics = json.loads((out / schema.METRICS_FILE).read_text())
    held = source[schema.SPLIT] == "validation"
    assert metrics["validation"]["accuracy"] == pytest.approx(
        float((probs[held.to_numpy()].argmax(1) == [labels.index(x) for x in source[schema.LABEL][held]]).mean())
    )

    from fastapi.testclient import TestClient

    from hark.explorer.app import create_app

    client = TestClient(create_app(out), base_url="http://127.0.0.1:8765")  # the Host the explorer accepts
    assert client.get("/api/summary").json()["clips"] == 375
    first = client.get("/api/clips", params={"limit": 1}).json()
    assert first  # served from the analysis, with audio found through config.json's dataset
    # Analysing the folder again needs no --predictions.
    assert main(["analyze", str(out), "--no-umap", "--no-report", "--quiet"]) == 0


def _write(path, table, labels=None):
    if labels is not None:
        table = table.replace_schema_metadata({schema.LABELS_METADATA_KEY: json.dumps(labels).encode()})
    pq.write_table(table, path)
    return path


def _vectors(matrix):
    matrix = np.asarray(matrix, np.float32)
    return pa.FixedSizeListArray.from_arrays(pa.array(matrix.reshape(-1)), matrix.shape[1])


def _analyze_predictions(path, manifest, out, *extra) -> int:
    """`hark analyze --predictions PATH --data MANIFEST --out OUT`, without UMAP or report."""
    return main(
        [
            "analyze",
            "--predictions",
            str(path),
            "--data",
            str(manifest),
            "--out",
            str(out),
            "--no-umap",
            "--no-report",
            "--quiet",
            *extra,
        ]
    )


def test_bad_predictions_name_the_file_row_and_problem(outside, tmp_path, capsys):
    _, manifest, predictions = outside
    table = pq.read_table(predictions)
    labels = json.loads(table.schema.metadata[schema.LABELS_METADATA_KEY])
    n = table.num_rows

    def analyze(path, *extra):
        code = _analyze_predictions(path, manifest, tmp_path / "out", *extra)
        return code, capsys.readouterr().err

    short = table.set_column(table.schema.get_field_index("probs"), "probs", _vectors(np.full((n, 9), 1 / 9)))
    code, err = analyze(_write(tmp_path / "short.parquet", short, labels))
    assert code == 1 and "short.parquet: row 0: 'probs' has 9 values but the label list has 10" in err

    ragged = pa.array([[0.1] * 10] * (n - 1) + [[0.5, 0.5]], pa.list_(pa.float32()))
    code, err = analyze(
        _write(
            tmp_path / "ragged.parquet",
            short.set_column(short.schema.get_field_index("probs"), "probs", ragged),
            labels,
        )
    )
    assert code == 1 and f"row {n - 1}: 'probs' has 2 values" in err

    paths = table.column("path").to_pylist()
    paths[4] = "elsewhere/9_nobody_0.wav"
    stray = table.set_column(0, "path", pa.array(paths))
    code, err = analyze(_write(tmp_path / "stray.parquet", stray, labels))
    assert code == 1 and "stray.parquet: row 4: path 'elsewhere/9_nobody_0.wav' is not a clip of" in err

    splits = table.column("split").to_pylist()
    splits[2] = "dev"
    odd = table.set_column(table.schema.get_field_index("split"), "split", pa.array(splits))
    code, err = analyze(_write(tmp_path / "odd.parquet", odd, labels))
    assert code == 1 and "odd.parquet: row 2: split 'dev' is not one of train, validation, test" in err

    code, err = analyze(_write(tmp_path / "bare.parquet", table.replace_schema_metadata({})))
    assert code == 2 and "bare.parquet: no class order" in err and "--labels" in err
    (tmp_path / "labels.txt").write_text("\n".join(labels[:-1]) + "\n")
    code, err = analyze(tmp_path / "bare.parquet", "--labels", str(tmp_path / "labels.txt"))
    assert code == 1 and "has 10 values but the label list has 9" in err

    logits = table.set_column(
        table.schema.get_field_index("probs"), "probs", _vectors(np.random.default_rng(0).standard_normal((n, 10)))
    )
    code, err = analyze(_write(tmp_path / "logits.parquet", logits, labels))
    assert code == 1 and "negative values" in err and "softmax" in err


def test_without_oof_the_label_error_step_says_in_sample(outside, tmp_path, capsys):
    _, manifest, predictions = outside
    table = pq.read_table(predictions)
    plain = table.drop_columns(["oof_probs", "embedding"])
    path = tmp_path / "plain.parquet"
    pq.write_table(plain, path)
    assert _analyze_predictions(path, manifest, tmp_path / "o") == 0
    assert "from in-sample probabilities" in capsys.readouterr().out
    written = pq.read_schema(tmp_path / "o" / schema.PREDICTIONS_FILE)
    assert written.field(schema.EMBEDDING).type == pa.list_(pa.float32(), 10)  # log-probabilities stand in
