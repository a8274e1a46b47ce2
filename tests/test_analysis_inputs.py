"""Bad runs give one clear HarkError naming the file and the problem."""

from __future__ import annotations

import json

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from hark.analysis.inputs import load_run_data
from hark.cli import main
from hark.errors import HarkError


def _write(run, n=40, classes=("a", "b"), drop=None, nan_row=None):
    run.mkdir(exist_ok=True)
    labels = [classes[i % len(classes)] for i in range(n)]
    embedding = np.ones((n, 4), np.float32)
    if nan_row is not None:
        embedding[nan_row, 2] = np.nan
    columns = {
        "path": [f"{word}/{i}.wav" for i, word in enumerate(labels)],
        "split": ["train"] * n,
        "label": labels,
        "speaker_id": ["s"] * n,
        "pred": labels,
        "confidence": [0.9] * n,
        "loss": [0.1] * n,
        "probs": pa.array([[1.0 / len(classes)] * len(classes)] * n, pa.list_(pa.float32())),
        "embedding": pa.array(embedding.tolist(), pa.list_(pa.float32())),
    }
    columns.pop(drop, None)
    pq.write_table(pa.table(columns), run / "predictions.parquet")
    (run / "config.json").write_text(json.dumps({"data": {"source": str(run)}, "labels": list(classes)}))
    return run


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"drop": "embedding"}, "missing column(s) embedding"),
        ({"nan_row": 3}, "NaN or infinite values in 'embedding'"),
        ({"classes": ("only",)}, "single class"),
        ({"n": 20}, "only 20 clips"),
    ],
)
def test_bad_runs_are_refused_clearly(tmp_path, kwargs, message):
    run = _write(tmp_path / "run", **kwargs)
    with pytest.raises(HarkError, match="predictions.parquet") as caught:
        load_run_data(run)
    assert message in str(caught.value)


def test_cli_reports_a_missing_run_without_traceback(tmp_path, capsys):
    assert main(["analyze", str(tmp_path / "nowhere"), "--no-crossval"]) == 1  # a run-time problem
    assert "no such run folder" in capsys.readouterr().err


def test_run_without_predictions_points_to_evaluate(tmp_path):
    run = _write(tmp_path / "run")
    (run / "predictions.parquet").unlink()
    with pytest.raises(HarkError, match="hark evaluate"):
        load_run_data(run)
