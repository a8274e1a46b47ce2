"""Runs for the explorer's tests: a small hand-made analysis whose every name comes from
hark.schema (the columns `hark analyze` writes), and a real one (`hark synth` -> train ->
evaluate -> analyze) for the browser tests."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
from conftest import make_fake_speech_commands, torch_threads

from hark import schema

WORDS = ("yes", "no", "up", "down")
FLAGS = tuple(d.name for d in schema.DETECTORS)
BROKEN = "yes/broken_nohash_0.wav"  # listed in the run, zero bytes on disk
WINDOW = "_background_noise_/white_noise.wav#16000"  # a 1-s window of a longer file
# Headless Chromium for the browser tests and the explorer benchmark; without the
# background-networking flags it keeps dialling hosts this closed network refuses.
CHROMIUM = os.environ.get("HARK_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = (
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
)


def _next_word(label: str, step: int = 1) -> str:
    return WORDS[(WORDS.index(label) + step) % len(WORDS)] if label in WORDS else label


def make_fake_run(base: Path, seed: int = 0, legacy: bool = False) -> Path:
    """RUN folder with config.json, metrics.json, predictions.parquet and analysis/ for a
    48-clip fake Speech Commands tree (+ a broken clip and a noise window). Every third clip
    is wrong by the final model, every fourth by the out-of-fold prediction, which defines
    `error`. `legacy` writes what `hark analyze` wrote before the rename: `oos_pred` and
    failure modes numbered from 0 by their clusters."""
    data = make_fake_speech_commands(base / "data", words=WORDS, speakers=6, utterances=2, seed=seed)
    (data / BROKEN).write_bytes(b"")
    rng = np.random.default_rng(seed)
    paths = sorted(str(p.relative_to(data)) for w in WORDS for p in (data / w).glob("*.wav")) + [WINDOW]
    n = len(paths)
    labels = [p.split("/")[0] if not p.startswith("_") else schema.SILENCE_LABEL for p in paths]
    preds = [_next_word(lab) if i % 3 == 0 else lab for i, lab in enumerate(labels)]
    oof = [_next_word(lab) if i % 4 == 0 else lab for i, lab in enumerate(labels)]
    confidence = np.round(rng.uniform(0.3, 1.0, n), 4)
    error = np.array([o != lab for o, lab in zip(oof, labels, strict=True)])
    clips = pd.DataFrame(
        {
            schema.PATH: paths,
            schema.SPLIT: [schema.SPLITS[(i // 2) % 3] for i in range(n)],
            schema.LABEL: labels,
            schema.SPEAKER: [Path(p).name.split("_")[0] if "_nohash_" in p else "" for p in paths],
            schema.PRED: preds,
            schema.CONFIDENCE: confidence,
            schema.LOSS: np.round(-np.log(confidence) + 2.0 * (np.array(preds) != np.array(labels)), 4),
            schema.OOF_PRED: oof,
            schema.OOF_CONFIDENCE: np.round(rng.uniform(0.3, 1.0, n), 4),
            schema.ERROR: error,
            schema.LABEL_QUALITY: np.round(rng.uniform(0, 1, n), 4),
            schema.LABEL_ISSUE: [i % 7 == 0 for i in range(n)],
            schema.SUGGESTED_LABEL: [_next_word(lab, 2) for lab in labels],
            schema.CLEANLAB_ISSUE: [i % 5 == 0 for i in range(n)],
        }
    )
    for k, d in enumerate(schema.DETECTORS):
        clips[d.score_column] = np.round(rng.uniform(0, 1, n), 4)
        clips[d.flag_column] = [(i + k) % (4 + k) == 0 for i in range(n)]
    clips[schema.ONSET] = np.round(rng.uniform(0.05, 0.3, n), 3)
    clips[schema.OFFSET] = np.round(rng.uniform(0.5, 0.95, n), 3)
    wrong = np.flatnonzero(error)
    first, second = wrong[: len(wrong) // 2], wrong[-2:]
    cluster = np.full(n, schema.NO_CLUSTER)
    cluster[first], cluster[second] = (0, 1) if legacy else (1, 2)
    clips[schema.CLUSTER] = cluster
    clips[schema.MAP_X] = rng.normal(size=n).round(3)
    clips[schema.MAP_Y] = rng.normal(size=n).round(3)
    clips[schema.OUTLIER_SCORE] = rng.uniform(0, 1, n)
    if legacy:
        clips = clips.rename(columns={schema.OOF_PRED: "oos_pred", schema.OOF_CONFIDENCE: "oos_confidence"})
    run = base / "run"
    (run / schema.ANALYSIS_DIR).mkdir(parents=True)
    table = pa.Table.from_pandas(clips, preserve_index=False)
    if not legacy:
        table = table.replace_schema_metadata(
            {**(table.schema.metadata or {}), schema.ERROR_DEFINED_BY_METADATA_KEY: schema.OOF_PRED.encode()}
        )
    pq.write_table(table, run / schema.ANALYSIS_DIR / schema.CLIPS_FILE)
    findings = [
        {
            "title": "Failure mode 1 — speech runs into the end of the clip",
            "description": "Failure mode 1 — speech runs into the end of the clip",
            "size": len(first),
            "clips": [paths[i] for i in first],
            "cluster": 0 if legacy else 1,
        },
        {
            "title": "Failure mode 2 — 'yes' heard as 'no'",
            "description": "'yes' heard as 'no'",
            "size": 2,
            "clips": [paths[i] for i in second],
            "cluster": 1 if legacy else 2,
        },
    ]
    (run / schema.ANALYSIS_DIR / schema.FINDINGS_FILE).write_text(json.dumps(findings))
    per_class = {w: {"precision": 0.7, "recall": 0.6, "f1": 0.65, "support": 4} for w in WORDS}
    (run / schema.METRICS_FILE).write_text(
        json.dumps({s: {"accuracy": 0.66, "macro_f1": 0.65, "per_class": per_class} for s in ("validation", "test")})
    )
    classes = sorted(set(labels))
    centres = {lab: rng.normal(size=8) * 3 for lab in classes}
    embedding = [(centres[lab] + rng.normal(size=8) * 0.1).astype(np.float32).tolist() for lab in labels]
    probs = [[0.9 if c == p else 0.1 / (len(classes) - 1) for c in classes] for p in preds]
    pq.write_table(
        pa.table(
            {
                schema.PATH: paths,
                schema.SPLIT: clips[schema.SPLIT],
                schema.LABEL: labels,
                schema.PRED: preds,
                schema.PROBS: pa.array(probs, type=pa.list_(pa.float32())),
                schema.EMBEDDING: pa.array(embedding, type=pa.list_(pa.float32())),
            }
        ),
        run / schema.PREDICTIONS_FILE,
    )
    (run / schema.CONFIG_FILE).write_text(
        json.dumps({"data": {"source": str(data), "sample_rate": 16000}, "labels": classes})
    )
    return run


def make_analysed_run(base: Path) -> Path:
    """A real analysis: `hark synth` (4 words, 12 speakers), a few epochs of the default recipe,
    `hark evaluate`, `hark analyze --folds 2`. Under a minute on one core; the result is reused
    when `base` already holds it. A model at chance would leave the explorer's tests little to
    check (BC-ResNet-1 with Adam once predicted one word for every clip here), so it must learn."""
    from hark.cli import main

    run = base / "run"
    if (run / schema.ANALYSIS_DIR / schema.FINDINGS_FILE).exists():
        return run
    data = base / "data"
    with torch_threads(1):
        steps = (
            [
                "synth",
                str(data),
                "--words",
                ",".join(WORDS),
                "--speakers",
                "12",
                "--utterances",
                "3",
                "--workers",
                "1",
                "--quiet",
            ],
            [
                "train",
                str(data),
                "--out",
                str(run),
                "--epochs",
                "12",
                "--batch-size",
                "32",
                "--device",
                "cpu",
            ],
            ["evaluate", str(run)],
            ["analyze", str(run), "--folds", "2", "--no-umap", "--quiet"],
        )
        for step in steps:
            if main(step) != 0:
                raise RuntimeError(f"hark {' '.join(step)} failed")
    accuracy = json.loads((run / schema.METRICS_FILE).read_text())["validation"]["accuracy"]
    if accuracy < 2 / len(WORDS):
        raise RuntimeError(f"the explorer's test run did not learn: validation accuracy {accuracy:.2f}")
    return run
