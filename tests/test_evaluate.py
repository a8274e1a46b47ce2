"""Metrics against hand-computed values; per-clip predictions; `hark evaluate` on a trained run."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import soundfile as sf
import torch
from torch import nn

from hark.data.example import Example
from hark.evaluate.metrics import format_per_class, format_split_table, split_metrics
from hark.train.confusion_plot import save_confusion
from hark.train.metrics import accuracy, confusion_matrix, macro_f1
from hark.evaluate.predictions import predictions_table, read_predictions, run_model, write_predictions
from hark.errors import HarkError

# Six clips over four classes; "d" never occurs. Worked out by hand:
#   a: tp 2, fp 0, fn 1 -> P 1, R 2/3, F1 0.8
#   b: tp 1, fp 1, fn 1 -> P 0.5, R 0.5, F1 0.5
#   c: tp 1, fp 1, fn 0 -> P 0.5, R 1, F1 2/3
Y_TRUE = np.array([0, 0, 0, 1, 1, 2])
Y_PRED = np.array([0, 0, 1, 1, 2, 2])
LABELS = ["a", "b", "c", "d"]


def test_metrics_match_hand_computed_values():
    assert accuracy(Y_TRUE, Y_PRED) == pytest.approx(4 / 6)
    assert macro_f1(Y_TRUE, Y_PRED) == pytest.approx((0.8 + 0.5 + 2 / 3) / 3)
    np.testing.assert_array_equal(
        confusion_matrix(Y_TRUE, Y_PRED, np.arange(4)), [[2, 1, 0, 0], [0, 1, 1, 0], [0, 0, 1, 0], [0, 0, 0, 0]]
    )
    entry = split_metrics(Y_TRUE, Y_PRED, LABELS)
    assert entry["per_class"]["a"] == pytest.approx({"precision": 1.0, "recall": 2 / 3, "f1": 0.8, "support": 3})
    assert entry["per_class"]["c"] == pytest.approx({"precision": 0.5, "recall": 1.0, "f1": 2 / 3, "support": 1})
    assert entry["per_class"]["d"] == {"precision": 0.0, "recall": 0.0, "f1": 0.0, "support": 0}
    assert json.loads(json.dumps(entry)) == entry  # plain JSON types only


def test_tables_are_readable_and_put_the_worst_class_first():
    entry = split_metrics(Y_TRUE, Y_PRED, LABELS)
    summary = format_split_table({"test": entry})
    assert "test" in summary and "0.6667" in summary
    rows = format_per_class(entry).splitlines()[1:]
    assert [r.split()[0] for r in rows] == ["d", "b", "c", "a"]


def test_confusion_files(tmp_path):
    save_confusion(
        confusion_matrix(Y_TRUE, Y_PRED, np.arange(4)), LABELS, tmp_path / "m.png", tmp_path / "m.csv", "test"
    )
    assert (tmp_path / "m.png").read_bytes()[:4] == b"\x89PNG"
    lines = (tmp_path / "m.csv").read_text().splitlines()
    assert lines[0].split(",")[1:] == LABELS and lines[1] == "a,2,1,0,0"


class TinyNet(nn.Module):
    """Waveform -> 6-d embedding -> `head`, the shape every hark model has."""

    def __init__(self, num_classes: int = 3, embedding_dim: int = 6):
        super().__init__()
        torch.manual_seed(0)
        self.embedding_dim = embedding_dim
        self.body = nn.Sequential(
            nn.Unflatten(1, (1, -1)),
            nn.Conv1d(1, embedding_dim, 64, stride=32),
            nn.ReLU(),
            nn.AdaptiveAvgPool1d(1),
            nn.Flatten(),
        )
        self.head = nn.Linear(embedding_dim, num_classes)

    def forward(self, x):
        return self.head(self.body(x))


def test_predictions_table_rows_probs_loss_and_embedding(tmp_path):
    labels = ["yes", "no", "up"]
    model = TinyNet()
    waves = np.random.default_rng(0).standard_normal((7, 1600)).astype(np.float32)
    examples = [Example(f"{labels[i % 3]}/s{i}_nohash_0.wav", labels[i % 3], "test", f"s{i}") for i in range(7)]
    rows = np.array([0, 2, 3, 4, 5, 6])  # row 1 "failed to decode"
    outputs = run_model(model, waves, rows, batch_size=4)
    table = predictions_table([examples[i] for i in rows], outputs, labels)
    path = write_predictions([table], tmp_path / "predictions.parquet")

    frame, read_labels = read_predictions(path)
    assert read_labels == labels
    assert list(frame.columns) == [
        "path",
        "split",
        "label",
        "speaker_id",
        "pred",
        "confidence",
        "loss",
        "probs",
        "embedding",
    ]
    assert list(frame.path) == [examples[i].path for i in rows]
    schema = pq.read_schema(path)
    assert schema.field("probs").type == pa.list_(pa.float32(), len(labels))
    assert schema.field("embedding").type == pa.list_(pa.float32(), model.embedding_dim)
    probs = np.stack(frame.probs)
    embeddings = np.stack(frame.embedding)
    np.testing.assert_allclose(probs.sum(axis=1), 1.0, atol=1e-5)
    assert embeddings.shape == (6, model.embedding_dim)
    with torch.no_grad():
        x = torch.from_numpy(waves[rows])
        np.testing.assert_allclose(embeddings, model.body(x).numpy(), atol=1e-5)
        expected = torch.softmax(model(x), 1).numpy()
    np.testing.assert_allclose(probs, expected, atol=1e-5)
    targets = np.array([labels.index(label) for label in frame.label])
    np.testing.assert_allclose(frame.loss, -np.log(probs[np.arange(6), targets]), rtol=1e-4)
    assert list(frame.pred) == [labels[i] for i in probs.argmax(1)]
    np.testing.assert_allclose(frame.confidence, probs.max(1), atol=1e-6)


def test_predictions_reject_labels_the_model_never_saw():
    outputs = run_model(TinyNet(), np.zeros((1, 1600), np.float32))
    with pytest.raises(HarkError, match="not trained on: left"):
        predictions_table([Example("left/x.wav", "left", "test")], outputs, ["yes", "no", "up"])


# ---- the commands on a real trained run ------------------------------------------------------


@pytest.fixture(scope="module")
def trained_run(tmp_path_factory):
    """A seed-m5 run (8 kHz) trained for two epochs on a fake Speech Commands tree (train 48
    clips, validation 16, test 16) with one corrupt test clip, which the loader rejects, and
    one validation clip full of NaNs, which only decoding finds."""
    from conftest import make_fake_speech_commands, train_run

    root = tmp_path_factory.mktemp("evaluate")
    data = make_fake_speech_commands(root / "sc", speakers=10, utterances=2, seed=1)
    corrupt = (data / "testing_list.txt").read_text().split()[0]
    (data / corrupt).write_bytes(b"RIFF but not really a wav file")
    nan_clip = (data / "validation_list.txt").read_text().split()[0]
    sf.write(data / nan_clip, np.full(16000, np.nan, np.float32), 16000, subtype="FLOAT")
    train_run(data, root / "run")
    return root / "run", corrupt, nan_clip


def test_evaluate_writes_metrics_predictions_and_confusion(trained_run, capsys):
    from hark.cli import main
    from hark.train.run import load_trained

    run, corrupt, nan_clip = trained_run
    assert main(["evaluate", str(run), "--device", "cpu", "--batch-size", "7"]) == 0
    out = capsys.readouterr().out
    assert "macro-F1" in out and f"skipped {corrupt}" in out and f"skipped {nan_clip} (validation)" in out
    skipped = pd.read_csv(run / "skipped.csv", keep_default_na=False)
    assert sorted(zip(skipped.path, skipped.split, strict=True)) == sorted([(corrupt, ""), (nan_clip, "validation")])

    loaded = load_trained(run)
    labels = loaded.labels
    metrics = json.loads((run / "metrics.json").read_text())
    assert list(metrics) == ["train", "validation", "test"]
    for entry in metrics.values():
        assert set(entry["per_class"]) == set(labels)
        assert all(set(c) == {"precision", "recall", "f1", "support"} for c in entry["per_class"].values())
    assert metrics["validation"]["skipped"] == 1
    assert [metrics[s]["clips"] for s in metrics] == [48, 15, 15]

    frame, read_labels = read_predictions(run / "predictions.parquet")
    assert read_labels == labels
    assert len(frame) == 48 + 15 + 15 and not {corrupt, nan_clip} & set(frame.path)
    assert frame.path.is_unique and not frame.path.str.startswith("/").any()
    probs = np.stack(frame.probs)
    np.testing.assert_allclose(probs.sum(1), 1.0, atol=1e-5)
    assert np.stack(frame.embedding).shape[1] == loaded.model.embedding_dim
    targets = np.array([labels.index(label) for label in frame.label])
    np.testing.assert_allclose(frame.loss, -np.log(probs[np.arange(len(frame)), targets]), rtol=1e-4, atol=1e-6)
    for split, entry in metrics.items():
        rows = frame[frame.split == split]
        assert entry["accuracy"] == pytest.approx((rows.pred == rows.label).mean())
        support = sum(c["support"] for c in entry["per_class"].values())
        assert support == len(rows)
    matrix = np.loadtxt(run / "confusion" / "test.csv", delimiter=",", skiprows=1, usecols=range(1, len(labels) + 1))
    assert matrix.sum() == 15
    assert (run / "confusion" / "test.png").stat().st_size > 0


def test_predict_command_handles_any_rate_long_audio_and_bad_files(trained_run, tmp_path, capsys):
    from hark.cli import main
    from hark.data.audio import load_clip, resample

    run, *_ = trained_run
    data = json.loads((run / "config.json").read_text())["data"]["source"]
    clips = [(run.parent / "sc" / "testing_list.txt").read_text().split()[i] for i in (1, 5)]
    waves = [load_clip(data, clip, 16000, 16000) for clip in clips]
    sf.write(tmp_path / "stereo44k.wav", np.stack([resample(waves[0], 16000, 44100)] * 2, 1), 44100)
    sf.write(tmp_path / "long.wav", np.concatenate(waves + waves), 16000)
    (tmp_path / "bad.wav").write_text("not audio")

    files = [tmp_path / "stereo44k.wav", tmp_path / "bad.wav", tmp_path / "long.wav"]
    # Threshold 0: every window reports its best word, so the detections must tile the file.
    code = main(
        [
            "predict",
            str(run),
            *map(str, files),
            "--top-k",
            "2",
            "--json",
            "--device",
            "cpu",
            "--threshold",
            "0",
            "--hop",
            "0.5",
        ]
    )
    captured = capsys.readouterr()

    assert code == 1  # one file failed, the others were still processed
    assert f"{tmp_path / 'bad.wav'}" in captured.err
    short, long = [json.loads(line) for line in captured.out.splitlines()]
    assert short["path"].endswith("stereo44k.wav") and short["duration"] == pytest.approx(1.0, abs=1e-3)
    assert len(short["top"]) == 2 and short["top"][0][1] >= short["top"][1][1]
    assert long["duration"] == pytest.approx(4.0)
    detections = long["detections"]
    assert detections[0]["start"] == 0.0 and detections[-1]["end"] == pytest.approx(4.0)
    assert all(d["label"] in json.loads((run / "config.json").read_text())["labels"] for d in detections)


def test_export_command_matches_the_trained_model(trained_run, tmp_path, capsys):
    from hark.cli import main
    from hark.evaluate.inference import Predictor
    from hark.evaluate.onnx_export import onnx_logits

    run, *_ = trained_run
    assert main(["export", str(run), "--onnx", str(tmp_path / "kws.onnx")]) == 0
    assert "onnxruntime matches torch" in capsys.readouterr().out
    sidecar = json.loads((tmp_path / "kws.json").read_text())
    predictor = Predictor.from_run(run, device="cpu")
    assert sidecar["labels"] == predictor.labels and sidecar["sample_rate"] == 8000 and sidecar["num_samples"] == 8000
    waves = np.random.default_rng(0).uniform(-0.3, 0.3, (4, 8000)).astype(np.float32)
    np.testing.assert_allclose(
        torch.softmax(torch.from_numpy(onnx_logits(tmp_path / "kws.onnx", waves)), 1).numpy(),
        predictor.probabilities(waves),
        atol=1e-4,
    )


def test_a_cuda_device_without_a_gpu_is_a_usage_error(monkeypatch):
    import torch

    from hark.errors import UsageError
    from hark.train.devices import torch_device

    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    with pytest.raises(UsageError, match="--device cuda:1: this machine has no CUDA GPU"):
        torch_device("cuda:1")
    assert torch_device("auto").type == "cpu" and torch_device("cpu").type == "cpu"
