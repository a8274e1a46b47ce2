"""A hand-made run for analysis tests: real Speech Commands clips (plus faulty versions made
from them) in a folder-per-class dataset, and a predictions.parquet written as `hark evaluate`
would, with known errors: cut-off clips the model gets wrong and clips filed under the wrong word."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from hark.data.audio import load_clip, write_wav

SR = 16000
WORDS = ("yes", "no", "up", "down")
MINI = "speech_commands_mini_v0.02"
# Clean recordings (one word, quiet background) that the cut-off clips are made from.
CUTOFF_SOURCES = {
    "yes": ("5f814c23_nohash_0", "7c75a504_nohash_0", "7f74626f_nohash_1"),
    "no": ("08ab231c_nohash_1", "122c5aa7_nohash_2", "171edea9_nohash_1"),
    "up": ("15c563d7_nohash_1", "197f4153_nohash_2", "9f869f70_nohash_0"),
    "down": ("28e47b1a_nohash_1", "65079685_nohash_0", "7096522d_nohash_0"),
}


def cut_off(wave: np.ndarray) -> np.ndarray:
    """The same recording with its word moved right so that the second ends mid-word."""
    envelope = np.convolve(np.abs(wave), np.ones(400) / 400, mode="same")
    loud = np.flatnonzero(envelope > 0.2 * envelope.max())
    middle = (loud[0] + loud[-1]) // 2
    quiet = np.resize(wave[: int(0.05 * SR)], SR - (middle - loud[0]))
    return np.concatenate([quiet, wave[loud[0] :]])[:SR]


def make_run(tmp_path: Path, shared_data: Path, speaker_override: str | None = None) -> dict:
    """Write dataset + run; returns {"run", "root", "cutoff": [paths], "mislabeled": {path: true word}}."""
    source = shared_data / MINI
    root = tmp_path / "data"
    rng = np.random.default_rng(0)
    rows, cutoff, mislabeled = [], [], {}
    for word in WORDS:
        for wav in sorted((source / word).glob("*.wav")):
            rel = f"{word}/{wav.name}"
            (root / word).mkdir(parents=True, exist_ok=True)
            shutil.copy(wav, root / rel)
            rows.append((rel, word, word, "clean"))
            if wav.stem in CUTOFF_SOURCES[word]:
                cut = f"{word}/cut{wav.stem}.wav"
                write_wav(root / cut, cut_off(load_clip(root, rel, SR, SR)))
                rows.append((cut, word, word, "cutoff"))
                cutoff.append(cut)
    # Clips filed under the wrong word: the audio says the first word, the folder the second.
    for spoken, filed in (("yes", "no"), ("no", "up"), ("up", "down"), ("down", "yes")):
        wav = sorted((source / spoken).glob("*.wav"))[-1]
        rel = f"{filed}/wrong{spoken}_nohash_0.wav"
        shutil.copy(wav, root / rel)
        rows.append((rel, filed, spoken, "mislabel"))
        mislabeled[rel] = spoken

    centres = rng.normal(size=(len(WORDS) + 1, 16))
    paths, labels, preds, probs, embeddings, splits, speakers = [], [], [], [], [], [], []
    for n, (rel, label, heard, kind) in enumerate(rows):
        wrong_for_cutoff = WORDS[(WORDS.index(label) + 1) % len(WORDS)]
        pred = wrong_for_cutoff if kind == "cutoff" else heard
        p = np.full(len(WORDS), 0.05, np.float32)
        p[WORDS.index(pred)] = 0.85
        centre = centres[-1] if kind == "cutoff" else centres[WORDS.index(heard)]
        paths.append(rel)
        labels.append(label)
        preds.append(pred)
        probs.append(p)
        embeddings.append((centre + 0.15 * rng.normal(size=16)).astype(np.float32))
        splits.append(("train", "train", "train", "validation", "test")[n % 5])
        speakers.append(speaker_override if speaker_override and label == "yes" else rel.split("/")[1].split("_")[0])
    targets = [WORDS.index(label) for label in labels]
    loss = [-float(np.log(p[t])) for p, t in zip(probs, targets, strict=True)]
    table = pa.table(
        {
            "path": paths,
            "split": splits,
            "label": labels,
            "speaker_id": speakers,
            "pred": preds,
            "confidence": pa.array([float(p.max()) for p in probs], pa.float32()),
            "loss": pa.array(loss, pa.float32()),
            "probs": pa.array([p.tolist() for p in probs], pa.list_(pa.float32())),
            "embedding": pa.array([e.tolist() for e in embeddings], pa.list_(pa.float32())),
        }
    )
    run = tmp_path / "run"
    run.mkdir()
    pq.write_table(table, run / "predictions.parquet")
    (run / "config.json").write_text(
        json.dumps(
            {"data": {"source": str(root), "task": "all", "sample_rate": SR, "num_samples": SR}, "labels": list(WORDS)}
        )
    )
    (run / "metrics.json").write_text(json.dumps({"test": {"accuracy": 0.8, "macro_f1": 0.78, "per_class": {}}}))
    (run / "history.csv").write_text("epoch,train_loss,val_loss,val_accuracy\n1,1.2,1.1,0.5\n2,0.8,0.9,0.7\n")
    return {"run": run, "root": root, "cutoff": cutoff, "mislabeled": mislabeled, "table": table}
