"""A model trained outside hark, its predictions written in hark's published schema
(`hark schema`) and ready for `hark analyze --predictions`.

    python examples/sklearn_predictions.py DATA OUT.parquet [--every N]

scikit-learn logistic regression on librosa log-mel statistics; out-of-fold probabilities for
the training clips from 5-fold cross-validation (`oof_probs`). Uses hark only to list DATA's clips."""

from __future__ import annotations

import argparse
import json

import librosa
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import cross_val_predict
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from hark.data.datasets import load_dataset


def features(path: str, sample_rate: int = 8000) -> np.ndarray:
    wave, _ = librosa.load(path, sr=sample_rate, mono=True)
    mel = librosa.power_to_db(librosa.feature.melspectrogram(y=wave, sr=sample_rate, n_fft=256, hop_length=80,
                                                             n_mels=32))
    return np.concatenate([mel.mean(axis=1), mel.std(axis=1), mel[:, : mel.shape[1] // 2].mean(axis=1)])


def vectors(matrix: np.ndarray) -> pa.FixedSizeListArray:
    matrix = np.ascontiguousarray(matrix, dtype=np.float32)
    return pa.FixedSizeListArray.from_arrays(pa.array(matrix.reshape(-1)), matrix.shape[1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("data")
    parser.add_argument("out")
    parser.add_argument("--every", type=int, default=1, help="keep every N-th clip only (a quicker run)")
    args = parser.parse_args()
    dataset = load_dataset(args.data)
    examples = dataset.examples[:: args.every]
    x = np.stack([features(str(dataset.abspath(e))) for e in examples])
    labels = sorted({e.label for e in examples})
    y = np.array([labels.index(e.label) for e in examples])
    train = np.array([e.split == "train" for e in examples])
    model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=2000, C=0.5))
    model.fit(x[train], y[train])
    probs = model.predict_proba(x)
    oof = probs.copy()
    oof[train] = cross_val_predict(model, x[train], y[train], cv=5, method="predict_proba")
    table = pa.table({
        "path": [e.path for e in examples], "label": [e.label for e in examples], "split": [e.split for e in examples],
        "probs": vectors(probs), "oof_probs": vectors(oof), "embedding": vectors(model[0].transform(x)),
    }).replace_schema_metadata({b"hark.labels": json.dumps(labels).encode(), b"hark.schema": b"1"})
    pq.write_table(table, args.out)
    held = ~train
    print(f"wrote {args.out}: {len(examples)} clips; held-out accuracy {(probs[held].argmax(1) == y[held]).mean():.3f}")


if __name__ == "__main__":
    main()
