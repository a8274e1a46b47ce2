"""Analysis of predictions hark did not make: any framework's predictions file (`hark analyze
--predictions P.parquet --data DATA --out DIR`, format in `schema_command.py`) and a run's
evaluation on another dataset (`RUN/eval/<name>/`, from `hark evaluate --data`).

There is no hark model to cross-validate, so the label-error step takes the file's out-of-fold
probabilities (`oof_probs`) when it has them and the in-sample `probs` otherwise, and says which.
For `--predictions`, DIR receives a `config.json` naming DATA and a normalised
`predictions.parquet`, so that `hark explore DIR` and a later `hark analyze DIR` work."""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa

from hark import schema
from hark.analysis.analyze import Analysis, AnalysisConfig, analyze
from hark.analysis.inputs import MIN_CLIPS, RunData
from hark.errors import HarkError, UsageError
from hark.fileio import ensure_writable_dir, write_json
from hark.runfiles import read_json, read_labels, read_table

SCHEMA_HINT = "see `hark schema`"
ROWS_SHOWN = 3


def origin(folder: Path) -> dict | None:
    """The `schema.PREDICTIONS_ORIGIN_KEY` section of a folder's config.json, if it has one."""
    config = read_json(Path(folder) / schema.CONFIG_FILE, "config", "hark train", default={})
    section = config.get(schema.PREDICTIONS_ORIGIN_KEY) if isinstance(config, dict) else None
    return section if isinstance(section, dict) else None


def read_labels_file(path: Path) -> list[str]:
    """One class name per line, or a JSON list."""
    try:
        text = Path(path).read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as err:
        raise HarkError(f"{path}: cannot read the label list ({err})") from None
    if text.lstrip().startswith("["):
        try:
            labels = [str(label) for label in json.loads(text)]
        except (json.JSONDecodeError, TypeError) as err:
            raise HarkError(f"{path}: not a JSON list of labels ({err})") from None
    else:
        labels = [line.strip() for line in text.splitlines() if line.strip()]
    duplicated = sorted(label for label, n in Counter(labels).items() if n > 1)
    if duplicated:
        raise HarkError(f"{path}: label(s) listed twice: {', '.join(duplicated)}")
    if len(labels) < 2:
        raise HarkError(f"{path}: needs at least two labels")
    return labels


def _rows(mask: np.ndarray) -> str:
    rows = np.flatnonzero(mask)
    more = f" and {len(rows) - ROWS_SHOWN} more" if len(rows) > ROWS_SHOWN else ""
    return ", ".join(map(str, rows[:ROWS_SHOWN])) + more


def vectors(table: pa.Table, column: str, width: int | None, path: Path, what: str) -> np.ndarray:
    """[N, width] float32 from a fixed-size or variable list column; every row must have `width`
    finite values (`width` None: any width, the same on every row)."""
    values = table.column(column).combine_chunks()
    if (
        not pa.types.is_fixed_size_list(values.type)
        and not pa.types.is_list(values.type)
        and not pa.types.is_large_list(values.type)
    ):
        raise HarkError(f"{path}: column {column!r} must be a list of floats ({SCHEMA_HINT}), not {values.type}")
    lengths = (
        np.asarray(values.value_lengths().fill_null(-1))
        if not pa.types.is_fixed_size_list(values.type)
        else np.where(np.asarray(values.is_null()), -1, values.type.list_size)
    )
    expected = width if width is not None else int(lengths[0]) if len(lengths) else 0
    wrong = lengths != expected
    if wrong.any():
        first = int(np.flatnonzero(wrong)[0])
        raise HarkError(
            f"{path}: row {first}: {column!r} has {int(lengths[first])} values but {what} has "
            f"{expected} (rows {_rows(wrong)})"
        )
    matrix = np.asarray(values.flatten().to_numpy(zero_copy_only=False), dtype=np.float32).reshape(len(values), -1)
    bad = ~np.isfinite(matrix).all(axis=1)
    if bad.any():
        raise HarkError(f"{path}: rows {_rows(bad)}: {column!r} holds NaN or infinite values")
    return matrix


def _probabilities(matrix: np.ndarray, path: Path, column: str) -> np.ndarray:
    negative = (matrix < 0).any(axis=1)
    if negative.any():
        raise HarkError(
            f"{path}: rows {_rows(negative)}: {column!r} has negative values; it must hold "
            "probabilities (apply a softmax to logits)"
        )
    sums = matrix.sum(axis=1, keepdims=True)
    off = np.abs(sums[:, 0] - 1.0) > 1e-2
    if off.any():
        raise HarkError(f"{path}: rows {_rows(off)}: {column!r} does not sum to 1 (e.g. {float(sums[off][0, 0]):.3f})")
    return matrix / sums


def _labels(table: pa.Table, path: Path, labels_file: Path | None) -> list[str]:
    """The user's --labels FILE when given (it overrides the file's own metadata), else the metadata."""
    if labels_file is not None:
        return read_labels_file(labels_file)
    labels = read_labels(table)
    if labels is None:
        raise UsageError(
            f"{path}: no class order: store it as Parquet metadata {schema.LABELS_METADATA_KEY.decode()!r}"
            f" (a JSON list) or pass --labels FILE ({SCHEMA_HINT})"
        )
    return [str(label) for label in labels]


def prepare_external(predictions: Path, data: str, out: Path, labels_file: Path | None = None) -> RunData:
    """Check a predictions file against DATA and write DIR's config.json, predictions.parquet
    (normalised: pred, confidence and loss added) and metrics.json."""
    from hark.data.datasets import load_dataset

    predictions = Path(predictions)
    out = ensure_writable_dir(out)
    table = read_table(
        predictions,
        "predictions",
        f"your model's export ({SCHEMA_HINT})",
        required=(schema.PATH, schema.LABEL, schema.PROBS),
    )
    labels = _labels(table, predictions, labels_file)
    probs = _probabilities(
        vectors(table, schema.PROBS, len(labels), predictions, "the label list"), predictions, schema.PROBS
    )
    oof = None
    if schema.OOF_PROBS in table.column_names:
        oof = _probabilities(
            vectors(table, schema.OOF_PROBS, len(labels), predictions, "the label list"), predictions, schema.OOF_PROBS
        )
    if schema.EMBEDDING in table.column_names:
        embeddings = vectors(table, schema.EMBEDDING, None, predictions, "the first row")
    else:
        embeddings = np.log(np.clip(probs, 1e-6, None)).astype(np.float32)
    frame = table.select(
        [c for c in (schema.PATH, schema.LABEL, schema.SPLIT, schema.SPEAKER) if c in table.column_names]
    ).to_pandas()
    for column in (schema.PATH, schema.LABEL):
        frame[column] = frame[column].astype(str)
    dataset = load_dataset(data)
    by_path = {e.path: e for e in dataset.examples}
    _check_rows(frame, labels, by_path, predictions, data)
    examples = [by_path[p] for p in frame[schema.PATH]]
    differ = int((frame[schema.LABEL].to_numpy() != np.array([e.label for e in examples])).sum())
    if differ:
        print(f"note: {differ} rows of {predictions.name} give another label than {data}; the file's label is used")
    if schema.SPLIT not in frame:
        frame[schema.SPLIT] = [e.split for e in examples]
    if schema.SPEAKER not in frame:
        frame[schema.SPEAKER] = [e.speaker_id for e in examples]
    frame = _with_model_columns(frame, probs, labels)
    rates = Counter(e.sample_rate for e in examples)
    config = {
        "data": {"source": str(Path(data).resolve()), "task": "all", "sample_rate": rates.most_common(1)[0][0]},
        "labels": labels,
        schema.PREDICTIONS_ORIGIN_KEY: {
            "kind": schema.ORIGIN_EXTERNAL,
            "predictions": str(predictions.resolve()),
            "labels_file": str(labels_file) if labels_file else None,
            "oof_probs": oof is not None,
            "embedding": schema.EMBEDDING in table.column_names,
        },
    }
    _write_folder(
        out,
        config,
        frame,
        {schema.PROBS: probs, schema.EMBEDDING: embeddings, schema.OOF_PROBS: oof},
        dataset.root.resolve(),
    )
    return _run_data(out, config, labels, frame, oof if oof is not None else probs, embeddings)


def _write_folder(
    out: Path, config: dict, frame: pd.DataFrame, matrices: dict[str, np.ndarray | None], data_root: Path
) -> None:
    from hark.evaluate.predictions import describe_table, vector_column, write_predictions

    columns = {c: pa.array(frame[c]) for c in schema.PREDICTION_COLUMNS if c not in matrices}
    vectors_ = {name: vector_column(matrix) for name, matrix in matrices.items() if matrix is not None}
    table = describe_table(pa.table({**columns, **vectors_}), config["labels"], data_root)
    write_predictions([table], out / schema.PREDICTIONS_FILE)
    write_json(out / schema.CONFIG_FILE, config)
    write_json(out / schema.METRICS_FILE, _metrics(frame, matrices[schema.PROBS], config["labels"]))


def _check_rows(frame: pd.DataFrame, labels: list[str], by_path: dict, path: Path, data: str) -> None:
    paths = frame[schema.PATH]
    missing = ~paths.isin(by_path.keys()).to_numpy()
    if missing.any():
        first = int(np.flatnonzero(missing)[0])
        raise HarkError(
            f"{path}: row {first}: path {paths.iloc[first]!r} is not a clip of {data} "
            f"({int(missing.sum())} such rows: {_rows(missing)}); paths are relative to DATA's root"
        )
    duplicated = paths.duplicated().to_numpy()
    if duplicated.any():
        raise HarkError(
            f"{path}: rows {_rows(duplicated)}: a path is listed twice (e.g. {paths[duplicated].iloc[0]!r})"
        )
    if schema.SPLIT in frame:
        bad_split = ~frame[schema.SPLIT].isin(schema.SPLITS).to_numpy()
        if bad_split.any():
            first = int(np.flatnonzero(bad_split)[0])
            raise HarkError(
                f"{path}: row {first}: split {frame[schema.SPLIT].iloc[first]!r} is not one of "
                f"{', '.join(schema.SPLITS)} (rows {_rows(bad_split)})"
            )
    unknown = ~frame[schema.LABEL].isin(labels).to_numpy()
    if unknown.any():
        first = int(np.flatnonzero(unknown)[0])
        raise HarkError(
            f"{path}: row {first}: label {frame[schema.LABEL].iloc[first]!r} is not in the class list "
            f"({', '.join(labels[:12])}) (rows {_rows(unknown)})"
        )
    if len(frame) < MIN_CLIPS:
        raise HarkError(f"{path}: only {len(frame)} clips; analysis needs at least {MIN_CLIPS}")


def _with_model_columns(frame: pd.DataFrame, probs: np.ndarray, labels: list[str]) -> pd.DataFrame:
    """pred, confidence and loss from the probabilities, as `hark evaluate` computes them."""
    from hark.evaluate.predictions import model_columns

    targets = frame[schema.LABEL].map({label: i for i, label in enumerate(labels)}).to_numpy()
    frame = frame.copy()
    pred, confidence, loss = model_columns(np.log(np.clip(probs, 1e-12, None)), targets, labels)
    frame[schema.PRED], frame[schema.CONFIDENCE], frame[schema.LOSS] = pred, confidence, loss
    return frame


def _metrics(frame: pd.DataFrame, probs: np.ndarray, labels: list[str]) -> dict:
    """metrics.json as `hark evaluate` writes it, per split of the predictions."""
    from hark.evaluate.metrics import split_metrics

    targets = frame[schema.LABEL].map({label: i for i, label in enumerate(labels)}).to_numpy()
    metrics = {}
    for split in [s for s in schema.SPLITS if s in set(frame[schema.SPLIT])]:
        rows = (frame[schema.SPLIT] == split).to_numpy()
        metrics[split] = {
            **split_metrics(targets[rows], probs[rows].argmax(axis=1), labels),
            "clips": int(rows.sum()),
            "skipped": 0,
        }
    return metrics


def _run_data(
    folder: Path, config: dict, labels: list[str], frame: pd.DataFrame, probs: np.ndarray, embeddings: np.ndarray
) -> RunData:
    clips = frame[[c for c in schema.PREDICTION_COLUMNS if c in frame]].reset_index(drop=True)
    clips[schema.SPEAKER] = clips[schema.SPEAKER].fillna("").astype(str)
    metrics = read_json(folder / schema.METRICS_FILE, "metrics", "hark evaluate", default={})
    return RunData(folder, config, labels, clips, probs, embeddings, metrics, None)


def prepare_folder(folder: Path) -> tuple[RunData, int]:
    """A folder with an origin section (RUN/eval/<name>/, or a DIR written by `prepare_external`)
    as analysis input, and how many clips were left out because the model does not know their label."""
    from hark.evaluate.predictions import read_predictions

    config = read_json(folder / schema.CONFIG_FILE, "config", "hark evaluate RUN --data DATA")
    frame, labels = read_predictions(folder / schema.PREDICTIONS_FILE)
    known = frame[schema.LABEL].isin(labels).to_numpy()
    frame = frame[known].reset_index(drop=True)
    if len(frame) < MIN_CLIPS:
        raise HarkError(
            f"{folder / schema.PREDICTIONS_FILE}: only {len(frame)} clips with a label the model knows; "
            f"analysis needs at least {MIN_CLIPS}"
        )
    probs = np.stack(frame[schema.PROBS].to_numpy()).astype(np.float32)
    evidence = np.stack(frame[schema.OOF_PROBS].to_numpy()).astype(np.float32) if schema.OOF_PROBS in frame else probs
    embeddings = np.stack(frame[schema.EMBEDDING].to_numpy()).astype(np.float32)
    return _run_data(folder, config, labels, frame, evidence, embeddings), int((~known).sum())


def analyze_without_model(run: RunData, config: AnalysisConfig, evidence: str) -> Analysis:
    """The full analysis on `run`; label errors from `run.probs` (`evidence` says what they are)."""
    config = replace(config, label_errors=replace(config.label_errors, crossval=False))
    print(f"label errors: {evidence}")
    return analyze(run.run_dir, config, run=run)


def evidence_note(folder: Path) -> str:
    """What the label-error step's probabilities are, for a folder `origin` recognises."""
    section = origin(folder) or {}
    if section.get("oof_probs"):
        return "from the file's out-of-fold probabilities (oof_probs)"
    if section.get("kind") == schema.ORIGIN_CROSS_DATASET:
        return (
            "from the run's model, which did not train on this dataset (out-of-sample unless the datasets share clips)"
        )
    return (
        "from in-sample probabilities: the predictions have no oof_probs, and a model is over-confident on "
        "clips it trained on, so fewer label errors are found on the training split"
    )
