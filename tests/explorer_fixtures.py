"""A small analysed run for the explorer's tests: real WAVs, hand-made analysis tables."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
from conftest import make_fake_speech_commands

WORDS = ("yes", "no", "up", "down")
FLAGS = ("cutoff", "multiword", "silent", "clipped")
BROKEN = "yes/broken_nohash_0.wav"  # listed in the run, zero bytes on disk
WINDOW = "_background_noise_/white_noise.wav#16000"  # a 1-s window of a longer file


def make_fake_run(base: Path, seed: int = 0) -> Path:
    """RUN folder with config.json, metrics.json, predictions.parquet and analysis/ for a
    48-clip fake Speech Commands tree (+ a broken clip and a noise window)."""
    data = make_fake_speech_commands(base / "data", words=WORDS, speakers=6, utterances=2, seed=seed)
    (data / BROKEN).write_bytes(b"")
    rng = np.random.default_rng(seed)
    paths = sorted(str(p.relative_to(data)) for w in WORDS for p in (data / w).glob("*.wav")) + [WINDOW]
    n = len(paths)
    labels = [p.split("/")[0] if not p.startswith("_") else "_silence_" for p in paths]
    # Every third clip is misclassified as the next word, so agree/disagree both exist.
    preds = [WORDS[(WORDS.index(lab) + 1) % 4] if (i % 3 == 0 and lab in WORDS) else lab
             for i, lab in enumerate(labels)]
    confidence = np.round(rng.uniform(0.3, 1.0, n), 4)
    clips = pd.DataFrame({
        "path": paths,
        "split": [("train", "validation", "test")[(i // 2) % 3] for i in range(n)],
        "label": labels,
        "pred": preds,
        "confidence": confidence,
        "loss": np.round(-np.log(confidence) + np.array([2.0 if p != l else 0 for p, l in zip(preds, labels)]), 4),
        "label_quality": np.round(rng.uniform(0, 1, n), 4),
        "label_issue": [i % 7 == 0 for i in range(n)],
        "cluster": [i % 3 if labels[i] != preds[i] else -1 for i in range(n)],
        "x": rng.normal(size=n).round(3),
        "y": rng.normal(size=n).round(3),
        "speaker_id": [Path(p).name.split("_")[0] if "_nohash_" in p else "" for p in paths],
        "cutoff_score": rng.uniform(0, 1, n),
    })
    for k, flag in enumerate(FLAGS):
        clips[f"flag_{flag}"] = [(i + k) % (4 + k) == 0 for i in range(n)]
    run = base / "run"
    (run / "analysis").mkdir(parents=True)
    clips.to_parquet(run / "analysis" / "clips.parquet", index=False)
    wrong = clips[clips.label != clips.pred]
    findings = [
        {"title": "Failure mode 1", "description": "speech runs into the end of the clip",
         "size": len(wrong) // 2, "clips": wrong.path.tolist()[: len(wrong) // 2]},
        {"title": "Failure mode 2", "description": "yes heard as no", "size": 2, "clips": wrong.path.tolist()[-2:]},
    ]
    (run / "analysis" / "findings.json").write_text(json.dumps(findings))
    per_class = {w: {"precision": 0.7, "recall": 0.6, "f1": 0.65, "support": 4} for w in WORDS}
    (run / "metrics.json").write_text(json.dumps(
        {s: {"accuracy": 0.66, "macro_f1": 0.65, "per_class": per_class} for s in ("validation", "test")}))
    centres = {lab: rng.normal(size=8) * 3 for lab in set(labels)}
    embedding = [(centres[lab] + rng.normal(size=8) * 0.1).astype(np.float32).tolist() for lab in labels]
    pq.write_table(pa.table({
        "path": paths, "split": clips.split, "label": labels, "pred": preds,
        "embedding": pa.array(embedding, type=pa.list_(pa.float32())),
    }), run / "predictions.parquet")
    (run / "config.json").write_text(json.dumps(
        {"data": {"source": str(data), "sample_rate": 16000}, "labels": sorted(set(labels))}))
    return run
