"""Hugging Face datasets in and out, through the optional `datasets` library (`pip install
'hark[hf]'`).

In: a folder written by `save_to_disk` (a `Dataset` or a `DatasetDict` whose keys are splits)
or a Parquet file with an `Audio` column. The audio bytes are written once into the cache
(keyed by the source's files) so that every stage reads clips from a folder as usual. Columns:
the `Audio` one (or `audio`), `label` (a `ClassLabel` or strings), optional `split`, `speaker`
(or `speaker_id`, `spk_id`) and `path` (the clip's identity; `hark data export` writes it).

Out: `export_hf` writes a `DatasetDict` of the dataset's splits with an `Audio` column at the
clips' own sampling rate, a `ClassLabel` label, `split`, `speaker` and `path`.

The audio is decoded with soundfile here rather than by `datasets`, whose decoder needs
torchcodec."""

from __future__ import annotations

import hashlib
import io
import os
from pathlib import Path

import numpy as np
import pyarrow as pa
import soundfile as sf

from hark.data.audio import read_audio
from hark.data.example import SPLITS, ClipDataset
from hark.data.naming import is_audio_name
from hark.data.paths import cache_dir
from hark.data.tabular import Row, build_dataset, relative_path_problem
from hark.errors import HarkError
from hark.fileio import atomic_path
from hark.schema import WINDOW_MARK

SAVED_MARKERS = ("dataset_dict.json", "state.json")
SPEAKER_COLUMNS = ("speaker", "speaker_id", "spk_id")
PATH_COLUMN = "path"


def _datasets():
    try:
        import datasets
    except ImportError:
        raise HarkError("Hugging Face datasets need the `datasets` package: pip install 'hark[hf]'") from None
    return datasets


def is_hf_source(path: Path) -> bool:
    return (path.is_file() and path.suffix.lower() == ".parquet") or (
        path.is_dir() and any((path / marker).is_file() for marker in SAVED_MARKERS)
    )


def _open(path: Path) -> dict:
    """{split or "": Dataset} with the audio left undecoded (bytes and path)."""
    datasets = _datasets()
    try:
        if path.is_dir():
            loaded = datasets.load_from_disk(str(path))
        else:
            table = _read_parquet(path)
            loaded = _as_dataset(datasets, table, datasets.Features.from_arrow_schema(table.schema))
    except (OSError, ValueError, TypeError, KeyError) as err:
        raise HarkError(f"{path}: not a readable Hugging Face dataset ({err})") from None
    parts = dict(loaded) if isinstance(loaded, datasets.DatasetDict) else {"": loaded}
    return {name: _undecoded(part, path) for name, part in parts.items()}


def _as_dataset(datasets, table: pa.Table, features):
    """A Dataset over an Arrow table as it is: `Dataset.from_dict` would re-encode the audio
    through torchcodec."""
    return datasets.Dataset(datasets.table.InMemoryTable(table), info=datasets.DatasetInfo(features=features))


def _read_parquet(path: Path) -> pa.Table:
    import pyarrow.parquet as pq

    try:
        return pq.read_table(path)
    except Exception as err:  # pyarrow raises many kinds for a damaged file
        raise HarkError(f"{path}: cannot read the Parquet file ({err})") from None


def _undecoded(part, source: Path):
    datasets = _datasets()
    audio = [name for name, feature in part.features.items() if isinstance(feature, datasets.Audio)]
    if not audio and "audio" in part.features:
        audio = ["audio"]
    if not audio:
        raise HarkError(f"{source}: no Audio column (columns: {', '.join(part.features)})")
    if "label" not in part.features:
        raise HarkError(f"{source}: no `label` column (columns: {', '.join(part.features)})")
    if audio[0] != "audio":
        part = part.rename_column(audio[0], "audio")
    return part.cast_column("audio", datasets.Audio(decode=False))


def _fingerprint(path: Path) -> str:
    digest = hashlib.sha256(str(path.resolve()).encode())
    files = sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else [path]
    for file in files:
        stat = file.stat()
        digest.update(f"{file.name}:{stat.st_size}:{stat.st_mtime_ns}".encode())
    return digest.hexdigest()[:20]


def load_hf(source: str | Path, validation_percentage: float = 10.0, testing_percentage: float = 10.0) -> ClipDataset:
    source = Path(source)
    target = cache_dir() / "hf" / _fingerprint(source)
    rows: list[Row] = []
    audio_columns = []  # per part: the Arrow struct column {bytes, path}, read only to fill the cache
    for split, part in _open(source).items():
        table = part.data.table
        audio = table.column("audio")
        label = part.features["label"]
        labels = table.column("label").to_pylist()
        labels = [label.names[i] for i in labels] if hasattr(label, "names") else [str(x) for x in labels]
        speaker_column = next((c for c in SPEAKER_COLUMNS if c in part.features), None)
        speakers = table.column(speaker_column).to_pylist() if speaker_column else [None] * len(labels)
        splits = [split] * len(labels) if split or "split" not in part.features else table.column("split").to_pylist()
        paths = _paths(table, audio, split)
        rows += [
            Row(f"{split or 'row'} {i}", paths[i], labels[i], str(splits[i] or ""), str(speakers[i] or ""))
            for i in range(len(labels))
        ]
        audio_columns.append(audio)
    if not target.is_dir():
        _materialise(source, rows, audio_columns, target)
    return build_dataset(
        source,
        target,
        rows,
        name=source.stem,
        validation_percentage=validation_percentage,
        testing_percentage=testing_percentage,
    )


def _paths(table: pa.Table, audio: pa.ChunkedArray, split: str) -> list[str]:
    """Each clip's identity: the `path` column when every entry is a usable relative path (as
    `hark data export` writes it), else `<split>/<row>-<file name of the audio>`."""
    if PATH_COLUMN in table.column_names:
        given = [str(p or "") for p in table.column(PATH_COLUMN).to_pylist()]
        if all(relative_path_problem(p) is None for p in given):
            return given
    names = [
        os.path.basename(p or "")
        for p in pa.concat_arrays(
            [chunk.field("path") for chunk in audio.chunks] or [pa.array([], pa.string())]
        ).to_pylist()
    ]
    return [f"{split or 'clips'}/{i:06d}-{name if is_audio_name(name) else 'clip.wav'}" for i, name in enumerate(names)]


def _materialise(source: Path, rows: list[Row], audio_columns: list[pa.ChunkedArray], target: Path) -> None:
    """Every clip's encoded bytes as a file under `target`, renamed into place when complete."""
    target.parent.mkdir(parents=True, exist_ok=True)
    entries = (entry for column in audio_columns for chunk in column.chunks for entry in chunk)
    with atomic_path(target) as folder:
        for row, entry in zip(rows, entries, strict=True):
            audio = entry.as_py()
            file = folder / row.path
            if not file.resolve().is_relative_to(folder.resolve()):
                raise HarkError(f"{source}: {row.where}: path {row.path!r} leaves the dataset")
            file.parent.mkdir(parents=True, exist_ok=True)
            if audio.get("bytes"):
                file.write_bytes(audio["bytes"])
            elif audio.get("path") and Path(audio["path"]).is_file():
                file.write_bytes(Path(audio["path"]).read_bytes())
            else:
                raise HarkError(f"{source}: {row.where}: the audio has neither bytes nor a readable file")


def _clip_bytes(dataset: ClipDataset, example) -> bytes:
    """The file's own bytes (lossless and exact); a `path#N` window is cut out as a WAV."""
    if WINDOW_MARK not in example.path:  # `file#0-M` is a window too, though its offset is 0
        return dataset.abspath(example).read_bytes()
    wave, rate = read_audio(dataset.abspath(example), start=example.offset, frames=example.num_samples or -1)
    buffer = io.BytesIO()
    sf.write(buffer, np.clip(wave, -1.0, 1.0), rate, format="WAV", subtype="PCM_16")
    return buffer.getvalue()


def export_hf(dataset: ClipDataset, out: str | Path) -> Path:
    """`hark data export DATA --hf OUT`: a DatasetDict folder that `datasets.load_from_disk` opens."""
    datasets = _datasets()
    out = Path(out)
    if out.exists():
        raise HarkError(f"{out}: already exists; choose a new folder for the export")
    rates = {e.sample_rate for e in dataset.examples}
    features = datasets.Features(
        {
            "audio": datasets.Audio(sampling_rate=rates.pop() if len(rates) == 1 else None),
            "label": datasets.ClassLabel(names=list(dataset.labels)),
            "split": datasets.Value("string"),
            "speaker": datasets.Value("string"),
            PATH_COLUMN: datasets.Value("string"),
        }
    )
    index = {label: i for i, label in enumerate(dataset.labels)}
    parts = {}
    for split in SPLITS:
        examples = dataset.split(split)
        if not examples:
            continue
        table = pa.table(
            {
                "audio": pa.array(
                    [{"bytes": _clip_bytes(dataset, e), "path": e.file} for e in examples], features["audio"].pa_type
                ),
                "label": pa.array([index[e.label] for e in examples], pa.int64()),
                "split": pa.array([e.split for e in examples], pa.string()),
                "speaker": pa.array([e.speaker_id for e in examples], pa.string()),
                PATH_COLUMN: pa.array(
                    [e.path.replace(WINDOW_MARK, "@") + (".wav" if WINDOW_MARK in e.path else "") for e in examples],
                    pa.string(),
                ),
            }
        )
        parts[split] = _as_dataset(datasets, table, features)
    if not parts:
        raise HarkError(f"{dataset.root}: no clips to export")
    out.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(out) as folder:
        datasets.DatasetDict(parts).save_to_disk(str(folder))
    return out
