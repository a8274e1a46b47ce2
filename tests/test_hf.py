"""Hugging Face datasets: `hark data export --hf` writes what `datasets.load_from_disk` opens,
and reading it (or a Parquet file with an Audio column) back gives the same examples."""

from __future__ import annotations

import io

import numpy as np
import pytest
import soundfile as sf

from hark.cli import main
from hark.data.datasets import load_dataset
from hark.errors import HarkError

datasets = pytest.importorskip("datasets", reason="the optional `datasets` package (pip install 'hark[hf]') is missing")


@pytest.fixture
def manifest(tmp_path):
    rng = np.random.default_rng(0)
    rows = ["path,label,speaker"]
    for i in range(12):
        label, speaker = ("yes", "no", "up")[i % 3], f"spk{i % 4}"
        sf.write(
            tmp_path / f"{label}_{speaker}_{i}.wav", 0.1 * rng.standard_normal(4000 + 100 * i), 8000, subtype="PCM_16"
        )
        rows.append(f"{label}_{speaker}_{i}.wav,{label},{speaker}")
    path = tmp_path / "m.csv"
    path.write_text("\n".join(rows) + "\n")
    return path


def _key(dataset):
    return sorted((e.path, e.label, e.split, e.speaker_id, e.num_samples, e.sample_rate) for e in dataset.examples)


def test_export_opens_in_datasets_and_round_trips(manifest, tmp_path, capsys):
    original = load_dataset(manifest)
    out = tmp_path / "hf"
    assert main(["data", "export", str(manifest), "--hf", str(out)]) == 0
    opened = datasets.load_from_disk(str(out))
    assert set(opened) == {e.split for e in original.examples}
    part = next(iter(opened.values()))
    assert part.features["label"].names == original.labels
    assert part.features["audio"].sampling_rate == 8000
    raw = part.cast_column("audio", datasets.Audio(decode=False))[0]
    wave, rate = sf.read(io.BytesIO(raw["audio"]["bytes"]))
    source = original.abspath(next(e for e in original.examples if e.path == raw["path"]))
    np.testing.assert_array_equal(wave, sf.read(source)[0])
    assert rate == 8000 and raw["speaker"] and raw["split"]

    back = load_dataset(out)
    assert _key(back) == _key(original) and back.labels == original.labels
    for e in back.examples[:3]:
        np.testing.assert_array_equal(sf.read(back.abspath(e))[0], sf.read(original.abspath(e))[0])
    assert main(["data", "export", str(manifest), "--hf", str(out)]) == 1
    assert "already exists" in capsys.readouterr().err


def test_parquet_with_an_audio_column(manifest, tmp_path):
    out = tmp_path / "hf"
    assert main(["data", "export", str(manifest), "--hf", str(out)]) == 0
    train = datasets.load_from_disk(str(out))["train"]
    parquet = tmp_path / "train.parquet"
    train.remove_columns(["path", "split"]).to_parquet(str(parquet))
    loaded = load_dataset(parquet)
    assert len(loaded) == len(train) and loaded.labels == train.features["label"].names
    assert {e.speaker_id for e in loaded.examples} == set(train["speaker"])
    # no split column: speaker-disjoint by the official hash
    splits = {}
    for e in loaded.examples:
        splits.setdefault(e.speaker_id, set()).add(e.split)
    assert all(len(s) == 1 for s in splits.values())


def test_parquet_without_audio_is_refused(tmp_path):
    import pyarrow as pa
    import pyarrow.parquet as pq

    pq.write_table(pa.table({"label": ["a"], "text": ["x"]}), tmp_path / "t.parquet")
    with pytest.raises(HarkError, match=r"t\.parquet: no Audio column \(columns: label, text\)"):
        load_dataset(tmp_path / "t.parquet")


def test_a_saved_dataset_with_string_labels_and_a_split_column(tmp_path):
    import pyarrow as pa

    rng = np.random.default_rng(1)
    audio, labels, splits = [], [], []
    for i in range(6):
        buffer = io.BytesIO()
        sf.write(buffer, 0.1 * rng.standard_normal(1600), 16000, format="FLAC")
        audio.append({"bytes": buffer.getvalue(), "path": f"take{i}.flac"})
        labels.append("on" if i % 2 else "off")
        splits.append("test" if i == 5 else "train")
    features = datasets.Features(
        {
            "sound": datasets.Audio(sampling_rate=16000),
            "label": datasets.Value("string"),
            "split": datasets.Value("string"),
        }
    )
    table = pa.table({"sound": pa.array(audio, features["sound"].pa_type), "label": labels, "split": splits})
    datasets.Dataset(datasets.table.InMemoryTable(table), info=datasets.DatasetInfo(features=features)).save_to_disk(
        str(tmp_path / "saved")
    )
    loaded = load_dataset(tmp_path / "saved")
    assert loaded.labels == ["off", "on"] and [e.split for e in loaded.examples] == splits
    assert all(e.sample_rate == 16000 and e.num_samples == 1600 for e in loaded.examples)
    assert loaded.examples[0].path == "clips/000000-take0.flac"


def test_export_of_a_window_from_the_first_sample_holds_only_the_window(tmp_path):
    """`start=0,end=0.25` is the clip `long.wav#0-2000`: its offset is 0, yet it is a window."""
    wave = 0.1 * np.random.default_rng(1).standard_normal(8000)
    sf.write(tmp_path / "long.wav", wave, 8000, subtype="PCM_16")
    manifest = tmp_path / "m.csv"
    manifest.write_text("path,label,start,end\nlong.wav,yes,0,0.25\nlong.wav,no,0.5,\n")
    out = tmp_path / "hf"
    assert main(["data", "export", str(manifest), "--hf", str(out)]) == 0
    opened = datasets.load_from_disk(str(out))
    rows = [r for part in opened.values() for r in part.cast_column("audio", datasets.Audio(decode=False))]
    lengths = {r["path"]: len(sf.read(io.BytesIO(r["audio"]["bytes"]))[0]) for r in rows}
    assert lengths == {"long.wav@0-2000.wav": 2000, "long.wav@4000.wav": 4000}
