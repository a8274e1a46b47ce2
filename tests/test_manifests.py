"""Datasets as tables (CSV/TSV/JSONL), file-name patterns and SpeechBrain CSVs: what loads, the
split rules, and every kind of bad input naming the file, the line and the problem."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from hark.cli import main
from hark.data.datasets import load_dataset
from hark.data.naming import hash_split
from hark.data.pattern import index_by_pattern
from hark.errors import HarkError

RATE = 8000


def wav(path: Path, seconds: float = 0.5, rate: int = RATE, seed: int = 0) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    wave = 0.1 * np.random.default_rng(seed).standard_normal(int(seconds * rate)).astype(np.float32)
    sf.write(path, wave, rate, subtype="PCM_16")
    return path


@pytest.fixture
def recordings(tmp_path) -> Path:
    """A flat folder `<label>_<speaker>_<take>.wav`: 3 labels x 4 speakers x 2 takes."""
    folder = tmp_path / "recordings"
    for label in ("yes", "no", "up"):
        for speaker in ("ann", "bob", "cid", "dee"):
            for take in range(2):
                wav(folder / f"{label}_{speaker}_{take}.wav", seed=hash((label, speaker, take)) % 1000)
    return folder


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def test_csv_manifest_with_splits_speakers_and_windows(tmp_path):
    wav(tmp_path / "clips" / "a.wav")
    wav(tmp_path / "clips" / "b.wav")
    wav(tmp_path / "long.wav", seconds=3.0)
    manifest = write(
        tmp_path / "m.csv",
        "path,label,split,speaker,start,end\n"
        "clips/a.wav,yes,train,s1,,\n"
        "clips/b.wav,no,valid,s2,,\n"
        "long.wav,yes,test,s3,1.0,2.0\n"
        "long.wav,no,test,s3,2.0,\n",
    )
    dataset = load_dataset(manifest)
    assert dataset.root == tmp_path and dataset.labels == ["no", "yes"]
    by_path = {e.path: e for e in dataset.examples}
    assert set(by_path) == {"clips/a.wav", "clips/b.wav", "long.wav#8000-16000", "long.wav#16000"}
    assert by_path["clips/b.wav"].split == "validation" and by_path["clips/a.wav"].speaker_id == "s1"
    window = by_path["long.wav#8000-16000"]
    assert (window.offset, window.num_samples, window.sample_rate) == (8000, 8000, RATE)
    assert by_path["long.wav#16000"].num_samples == 8000  # to the end of the 3-s file
    from hark.data.audio import load_clip

    samples, _ = sf.read(tmp_path / "long.wav", dtype="float32")
    np.testing.assert_allclose(load_clip(dataset.root, window.path, RATE, 8000), samples[8000:16000], atol=1e-6)
    # A model input longer than the window gets the window and silence, never audio after `end`.
    longer = load_clip(dataset.root, window.path, RATE, 12000)
    np.testing.assert_allclose(longer[:8000], samples[8000:16000], atol=1e-6)
    assert not longer[8000:].any()
    assert len(load_clip(dataset.root, window.path, RATE, None)) == 8000


def test_tsv_and_jsonl_manifests_read_like_csv(tmp_path):
    wav(tmp_path / "a.wav")
    wav(tmp_path / "b.wav")
    tsv = load_dataset(write(tmp_path / "m.tsv", "path\tlabel\tspeaker\na.wav\tyes\tann\nb.wav\tno\tbob\n"))
    jsonl = load_dataset(
        write(
            tmp_path / "m.jsonl",
            '{"path": "a.wav", "label": "yes", "speaker": "ann"}\n\n'
            '{"path": "b.wav", "label": "no", "speaker": "bob"}\n',
        )
    )
    assert [(e.path, e.label, e.speaker_id, e.split) for e in tsv.examples] == [
        (e.path, e.label, e.speaker_id, e.split) for e in jsonl.examples
    ]


def test_split_from_speaker_hash_else_file_name(tmp_path):
    for i in range(40):
        wav(tmp_path / f"c{i}.wav", seconds=0.1, seed=i)
    rows = "".join(f"c{i}.wav,w,{'spk' + str(i % 5) if i < 20 else ''}\n" for i in range(40))
    dataset = load_dataset(write(tmp_path / "m.csv", "path,label,speaker\n" + rows))
    for e in dataset.examples:
        assert e.split == hash_split(e.path, e.speaker_id)
    by_speaker = {}
    for e in dataset.examples:
        if e.speaker_id:
            by_speaker.setdefault(e.speaker_id, set()).add(e.split)
    assert all(len(splits) == 1 for splits in by_speaker.values())  # speaker-disjoint


def test_missing_or_unreadable_files_are_problems_naming_the_line(tmp_path):
    wav(tmp_path / "a.wav")
    (tmp_path / "bad.wav").write_bytes(b"RIFF nothing")
    dataset = load_dataset(write(tmp_path / "m.csv", "path,label\na.wav,x\ngone.wav,y\nbad.wav,y\n"))
    assert [e.path for e in dataset.examples] == ["a.wav"]
    problems = {p.path: p.problem for p in dataset.problems}
    assert "line 3" in problems["gone.wav"] and "not found" in problems["gone.wav"]
    assert "line 4" in problems["bad.wav"]


@pytest.mark.parametrize(
    "body, expected",
    [
        ("file,label\na.wav,x\n", r"m\.csv: missing column\(s\) path \(has: file, label\)"),
        ("path,label\na.wav,x\nb.wav,y\na.wav,z\n", r"m\.csv: .*line 4: a\.wav is listed twice \(also line 2\)"),
        ("path,label\n/etc/a.wav,x\n", r"m\.csv: .*line 2: path '/etc/a\.wav' is absolute"),
        ("path,label\n../a.wav,x\n", r"m\.csv: .*line 2: path '\.\./a\.wav' leaves the data folder"),
        (
            "path,label\na.wav,yes\nb.wav,Yes\n",
            r"m\.csv: .*line 3: label 'Yes' is another spelling of 'yes' \(line 2\)",
        ),
        ("path,label\na.wav,yes \n", r"m\.csv: .*line 2: label 'yes ' has leading or trailing spaces"),
        ("path,label,split\na.wav,x,holdout\n", r"m\.csv: .*line 2: split 'holdout' is not one of"),
        ("path,label,start,end\na.wav,x,2,1\n", r"m\.csv: .*line 2: end 1 is not after start 2"),
        ("path,label\na.wav,x,extra\n", r"m\.csv: line 2: 3 fields, the header has 2"),
    ],
)
def test_bad_manifests_name_the_file_line_and_problem(tmp_path, body, expected):
    wav(tmp_path / "a.wav")
    wav(tmp_path / "b.wav")
    with pytest.raises(HarkError, match=expected):
        load_dataset(write(tmp_path / "m.csv", body))


def test_bad_manifest_exits_1_with_the_message(tmp_path, capsys):
    write(tmp_path / "m.csv", "path,label\n../x.wav,yes\n")
    assert main(["data", "info", str(tmp_path / "m.csv")]) == 1
    assert "line 2: path '../x.wav' leaves the data folder" in capsys.readouterr().err


def test_jsonl_line_that_is_not_json(tmp_path):
    with pytest.raises(HarkError, match=r"m\.jsonl: line 2: not JSON"):
        load_dataset(write(tmp_path / "m.jsonl", '{"path": "a.wav", "label": "x"}\n{oops\n'))


def test_pattern_index_writes_a_manifest_that_loads(recordings, tmp_path, capsys):
    (recordings / "notes.txt").write_text("not audio")
    wav(recordings / "stray.wav")
    out = tmp_path / "elsewhere" / "manifest.csv"
    assert main(["data", "index", str(recordings), "--pattern", "{label}_{speaker}_{take}.wav", "--out", str(out)]) == 0
    assert "not matched, left out: stray.wav" in capsys.readouterr().out
    assert out.read_text().startswith(f"# root: {recordings.resolve()}\npath,label,speaker\n")
    dataset = load_dataset(out)
    assert len(dataset) == 24 and dataset.labels == ["no", "up", "yes"] and dataset.root == recordings.resolve()
    first = dataset.examples[0]
    assert (first.path, first.label, first.speaker_id) == ("no_ann_0.wav", "no", "ann")
    assert {e.split for e in dataset.examples if e.speaker_id == "bob"} == {hash_split("x", "bob")}
    # Written beside the recordings, the paths are relative to the manifest instead.
    beside = tmp_path / "beside.csv"
    pattern = "{label}_{speaker}_{take}.wav"
    assert main(["data", "index", str(recordings), "--pattern", pattern, "--out", str(beside)]) == 0
    assert beside.read_text().splitlines()[1] == "recordings/no_ann_0.wav,no,ann"
    assert [e.label for e in load_dataset(beside).examples] == [e.label for e in dataset.examples]


def test_pattern_fields_may_span_folders(tmp_path):
    wav(tmp_path / "r" / "ann" / "yes-1.wav")
    wav(tmp_path / "r" / "bob" / "no-2.wav")
    rows, unmatched = index_by_pattern(tmp_path / "r", "{speaker}/{label}-{take}.wav")
    assert (
        rows
        == [
            {"path": "ann/yes-1.wav", "label": "yes", "speaker": "ann"},
            {"path": "bob/no-2.wav", "label": "no", "speaker": "bob"},
        ]
        and unmatched == []
    )


def test_pattern_matching_nothing_names_the_folder_and_examples(recordings, tmp_path, capsys):
    out = str(tmp_path / "m.csv")
    code = main(["data", "index", str(recordings), "--pattern", "{label}-{take}.flac", "--out", out])
    err = capsys.readouterr().err
    assert code == 1 and f"{recordings}: no file matches the pattern '{{label}}-{{take}}.flac'" in err
    assert "24 audio files; e.g. no_ann_0.wav" in err and not (tmp_path / "m.csv").exists()
    assert main(["data", "index", str(recordings), "--pattern", "{speaker}.wav", "--out", str(tmp_path / "m.csv")]) == 2
    assert "needs a {label} field" in capsys.readouterr().err


def test_speechbrain_csvs(tmp_path):
    data = tmp_path / "gsc"
    files = {
        name: wav(data / word / f"{spk}_nohash_0.wav", seconds=1.0, rate=16000)
        for name, word, spk in (("a", "yes", "aaa"), ("b", "no", "bbb"), ("c", "yes", "ccc"))
    }
    noise = wav(data / "_background_noise_" / "white.wav", seconds=3.0, rate=16000)
    csv_dir = tmp_path / "csv"
    csv_dir.mkdir()
    header = "ID,duration,start,stop,wav,spk_id,command\n"
    write(
        csv_dir / "train.csv", header + f"a,1.0,0,16000,{files['a']},aaa,yes\nn1,1.0,16000,32000,{noise},,_silence_\n"
    )
    write(csv_dir / "valid.csv", header + f"b,1.0,0,16000,{files['b']},bbb,no\n")
    write(csv_dir / "test.csv", header + f"c,1.0,0,16000,{files['c']},ccc,yes\n")
    dataset = load_dataset(csv_dir)
    assert dataset.root == data
    got = sorted((e.path, e.label, e.split, e.speaker_id) for e in dataset.examples)
    assert got == [
        ("_background_noise_/white.wav#16000-32000", "_silence_", "train", None),
        ("no/bbb_nohash_0.wav", "no", "validation", "bbb"),
        ("yes/aaa_nohash_0.wav", "yes", "train", "aaa"),
        ("yes/ccc_nohash_0.wav", "yes", "test", "ccc"),
    ]
    single = load_dataset(csv_dir / "valid.csv")
    assert [(e.path, e.split) for e in single.examples] == [("bbb_nohash_0.wav", "validation")]  # root: its folder
    write(csv_dir / "test.csv", header + f"c,1.0,0,16000,{files['c']},ccc,Yes\n")
    with pytest.raises(
        HarkError,
        match=r"test\.csv line 2: label 'Yes' is another spelling of 'yes' "
        r"\(train\.csv line 2\)",
    ):
        load_dataset(csv_dir)


def test_json_manifest_from_fix_still_loads(tmp_path):
    from hark.data.manifest import write_manifest

    wav(tmp_path / "a.wav")
    wav(tmp_path / "b.wav")
    dataset = load_dataset(write(tmp_path / "m.csv", "path,label,split\na.wav,x,train\nb.wav,y,test\n"))
    path = write_manifest(dataset, tmp_path / "fixed.json")
    assert json.loads(path.read_text())["format"] == "hark-manifest/1"
    again = load_dataset(path)
    assert again.examples == dataset.examples and again.labels == dataset.labels


def test_check_reports_speaker_leakage_in_a_manifest_split(tmp_path):
    from hark.data.check import CheckConfig, check_dataset

    for i in range(4):
        wav(tmp_path / f"c{i}.wav", seed=i)
    manifest = write(
        tmp_path / "m.csv",
        "path,label,split,speaker\nc0.wav,x,train,ann\nc1.wav,y,test,ann\nc2.wav,x,train,bob\nc3.wav,y,train,bob\n",
    )
    report = check_dataset(load_dataset(manifest), CheckConfig(sample_rate=RATE), progress=False)
    leaks = report["leakage"]["speakers_in_multiple_splits"]
    assert [leak["speaker"] for leak in leaks] == ["ann"]


def test_dataset_root_of_every_source(recordings, tmp_path):
    from hark.data.datasets import dataset_root

    out = tmp_path / "elsewhere" / "manifest.csv"
    assert main(["data", "index", str(recordings), "--pattern", "{label}_{speaker}_{take}.wav", "--out", str(out)]) == 0
    assert dataset_root(out) == recordings.resolve()  # the `# root:` line
    beside = write(tmp_path / "m.tsv", "path\tlabel\nrecordings/yes_ann_0.wav\tyes\n")
    assert dataset_root(beside) == tmp_path.resolve()
    assert dataset_root("m.tsv", base=tmp_path) == tmp_path.resolve()  # relative to a run folder
    assert dataset_root(recordings) == recordings.resolve()
    with pytest.raises(HarkError, match="dataset not found"):
        dataset_root(tmp_path / "gone.csv")


def test_hugging_face_without_the_datasets_package_says_how_to_install(tmp_path, monkeypatch, capsys):
    import sys

    monkeypatch.setitem(sys.modules, "datasets", None)  # `import datasets` now raises ImportError
    (tmp_path / "saved").mkdir()
    (tmp_path / "saved" / "dataset_dict.json").write_text('{"splits": ["train"]}')
    assert main(["data", "info", str(tmp_path / "saved")]) == 1
    assert "pip install 'hark[hf]'" in capsys.readouterr().err


def test_speechbrain_relative_and_data_root_paths(tmp_path):
    wav(tmp_path / "audio" / "go" / "x_nohash_0.wav", seconds=1.0, rate=16000)
    wav(tmp_path / "audio" / "stop" / "y_nohash_0.wav", seconds=1.0, rate=16000)
    write(
        tmp_path / "test.csv",
        "ID,duration,start,stop,wav,spk_id,command\n"
        "a,1.0,0,16000,audio/go/x_nohash_0.wav,x,go\n"
        "b,1.0,0,16000,$data_root/audio/stop/y_nohash_0.wav,y,stop\n",
    )
    dataset = load_dataset(tmp_path / "test.csv")
    assert dataset.root == tmp_path / "audio"
    assert sorted((e.path, e.split) for e in dataset.examples) == [
        ("go/x_nohash_0.wav", "test"),
        ("stop/y_nohash_0.wav", "test"),
    ]
