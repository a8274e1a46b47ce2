"""Data problems that used to pass in silence or with a misleading message: non-finite audio, a
WAV shorter than its header says, a byte-order mark in a split list, a symlink out of the
dataset, a folder named like a clip, a fake MP3, an empty split, `hark check` options out of
range and output it cannot write. (A damaged cache entry: tests/test_cache.py.)"""

from __future__ import annotations

import errno
import json
import os
import shutil
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from conftest import make_fake_speech_commands
from hark.cli import main
from hark.data.audio import audio_info, load_clip, read_audio, write_wav
from hark.data.check import CheckConfig, check_dataset
from hark.data.datasets import load_dataset
from hark.errors import AudioError


@pytest.fixture(autouse=True)
def own_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("HARK_CACHE_DIR", str(tmp_path / "cache"))


@pytest.fixture(scope="module")
def pristine(tmp_path_factory) -> Path:
    return make_fake_speech_commands(
        tmp_path_factory.mktemp("pristine") / "sc", words=("yes", "no"), speakers=6, utterances=1
    )


@pytest.fixture
def tree(pristine, tmp_path) -> Path:
    return Path(shutil.copytree(pristine, tmp_path / "sc"))


def problems_of(dataset) -> dict[str, str]:
    return {p.path: p.problem for p in dataset.problems}


# ---- audio readers -------------------------------------------------------------------------


def nan_wav(path: Path) -> Path:
    wave = np.full(16000, np.nan, dtype=np.float32)
    wave[:100] = 0.1
    path.parent.mkdir(parents=True, exist_ok=True)
    sf.write(str(path), wave, 16000, subtype="FLOAT")
    return path


def test_non_finite_audio_is_a_named_error_in_every_reader(tmp_path):
    bad = nan_wav(tmp_path / "w" / "nan.wav")
    for read in (
        lambda: read_audio(bad),
        lambda: load_clip(tmp_path, "w/nan.wav", 8000, 8000),
        lambda: load_clip(tmp_path, "w/nan.wav#100", 16000, 1000),
    ):
        with pytest.raises(AudioError, match=r"nan\.wav: non-finite samples \(NaN or infinity\)"):
            read()


def truncated_wav(path: Path, frames: int = 16000, kept: int = 4000) -> Path:
    write_wav(path, 0.1 * np.ones(frames))
    path.write_bytes(path.read_bytes()[: 44 + 2 * kept])
    return path


def test_a_wav_shorter_than_its_header_is_named_precisely(tmp_path):
    short = truncated_wav(tmp_path / "short.wav")
    pattern = r"short\.wav: truncated: the header declares 16000 frames \(1\.00 s\), the file holds 4000 \(0\.25 s\)"
    for read in (lambda: audio_info(short), lambda: read_audio(short)):
        with pytest.raises(AudioError, match=pattern):
            read()
    write_wav(tmp_path / "whole.wav", np.zeros(16000))
    assert audio_info(tmp_path / "whole.wav") == (16000, 16000)


def test_a_folder_named_like_a_clip_is_named_as_a_folder(tmp_path):
    (tmp_path / "x.wav").mkdir()
    for read in (lambda: read_audio(tmp_path / "x.wav"), lambda: audio_info(tmp_path / "x.wav")):
        with pytest.raises(AudioError, match=r"x\.wav: a folder, not an audio file"):
            read()


def test_a_fake_mp3_is_named_by_what_it_holds(tmp_path):
    fake = tmp_path / "song.mp3"
    fake.write_text("hello world, not audio\n")
    for read in (lambda: read_audio(fake), lambda: audio_info(fake)):
        with pytest.raises(AudioError) as caught:
            read()
        message = caught.value.problem
        assert "not a regular file" not in message and "does not exist" not in message, message
        assert "not MP3 audio" in message and "b'hello world" in message, message


# ---- loaders -------------------------------------------------------------------------------


def test_the_loader_reports_truncated_nan_and_folder_clips(tree):
    truncated_wav(tree / "yes" / "aaaa0001_nohash_0.wav")
    (tree / "no" / "bbbb0002_nohash_0.wav").mkdir()
    (tree / "no" / "bbbb0002_nohash_0.wav" / "inner.txt").write_text("x")
    problems = problems_of(load_dataset(tree))
    assert "truncated" in problems["yes/aaaa0001_nohash_0.wav"]
    assert "a folder named like an audio file" in problems["no/bbbb0002_nohash_0.wav"]


def test_a_byte_order_mark_in_a_split_list_is_accepted(tree):
    listed = (tree / "validation_list.txt").read_text()
    assert listed.strip()
    (tree / "validation_list.txt").write_bytes(b"\xef\xbb\xbf" + listed.encode())
    dataset = load_dataset(tree)
    assert not [p for p in dataset.problems if "validation_list" in p.path]
    first = listed.split()[0]
    assert next(e for e in dataset.examples if e.path == first).split == "validation"


def test_a_list_entry_naming_a_folder_says_so(tree):
    (tree / "yes" / "cccc0003_nohash_0.wav").mkdir()
    with (tree / "testing_list.txt").open("a") as handle:
        handle.write("yes/cccc0003_nohash_0.wav\n")
    problems = [p.problem for p in load_dataset(tree).problems if p.path == "testing_list.txt"]
    assert any("yes/cccc0003_nohash_0.wav is a folder, not a clip" in p for p in problems), problems


def test_a_symlink_out_of_the_dataset_is_reported_and_not_used(tree, tmp_path):
    outside = tmp_path / "elsewhere" / "secret.wav"
    write_wav(outside, np.zeros(16000))
    (tree / "yes" / "dddd0004_nohash_0.wav").symlink_to(outside)
    inside = sorted((tree / "yes").iterdir())[0]
    (tree / "no" / "eeee0005_nohash_0.wav").symlink_to(inside)
    (tree / "up").symlink_to(tmp_path / "elsewhere", target_is_directory=True)
    (tree / "_background_noise_" / "borrowed.wav").symlink_to(outside)
    dataset = load_dataset(tree)
    paths = {e.path for e in dataset.examples}
    problems = problems_of(dataset)
    assert "yes/dddd0004_nohash_0.wav" not in paths
    assert "outside the dataset" in problems["yes/dddd0004_nohash_0.wav"]
    assert str(outside) in problems["yes/dddd0004_nohash_0.wav"]
    assert "up" in problems and "outside the dataset" in problems["up"]
    assert not [p for p in paths if p.startswith("up/")]
    assert "no/eeee0005_nohash_0.wav" in paths  # a link within the dataset is fine
    assert "_background_noise_/borrowed.wav" not in dataset.noise_files
    assert "outside the dataset" in problems["_background_noise_/borrowed.wav"]


# ---- hark check ----------------------------------------------------------------------------


def test_check_reports_non_finite_and_truncated_clips(tree):
    nan_wav(tree / "yes" / "ffff0006_nohash_0.wav")
    dataset = load_dataset(tree)
    truncated_wav(tree / "no" / sorted(p.name for p in (tree / "no").iterdir())[0])  # after loading
    report = check_dataset(dataset, CheckConfig(workers=1), progress=False)
    said = {p["path"]: (p["kind"], p["problem"]) for p in report["problems"]}
    assert said["yes/ffff0006_nohash_0.wav"] == ("non-finite", "non-finite samples (NaN or infinity)")
    truncated = next(v for k, v in said.items() if k.startswith("no/"))
    assert truncated[0] == "truncated" and "header declares" in truncated[1]


def test_check_reports_a_split_with_no_clips(tmp_path, capsys):
    tree = make_fake_speech_commands(tmp_path / "sc")
    validation = (tree / "validation_list.txt").read_text()
    assert validation.strip()
    (tree / "testing_list.txt").write_text(validation)
    (tree / "validation_list.txt").write_text("")
    report_file = tmp_path / "report.json"
    assert (
        main(
            [
                "check",
                str(tree),
                "--json",
                str(report_file),
                "--out",
                str(tmp_path / "out"),
                "--no-plots",
                "--quiet",
                "--workers",
                "1",
            ]
        )
        == 0
    )
    report = json.loads(report_file.read_text())
    assert list(report["empty_splits"]) == ["validation"]
    assert "without validation" in report["empty_splits"]["validation"]
    assert "validation: no clips" in capsys.readouterr().out


@pytest.mark.parametrize("flag", ["--out", "--json"])
def test_check_refuses_unwritable_output_before_reading_the_data(tmp_path, capsys, flag):
    target = "/proc/hark-no-such/report.json" if flag == "--json" else "/sys/hark-check"
    assert main(["check", str(tmp_path / "no-such-data"), flag, target, "--quiet"]) != 0
    err = capsys.readouterr().err
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1, err
    assert str(Path(target).parent if flag == "--json" else target) in err and "no-such-data" not in err


def test_check_json_naming_a_folder_is_refused(tmp_path, capsys):
    assert main(["check", str(tmp_path / "no-such-data"), "--json", str(tmp_path), "--quiet"]) == 2
    err = capsys.readouterr().err
    assert "--json" in err and "is a folder" in err


@pytest.mark.parametrize(
    "option",
    [
        ["--sample-rate", "0"],
        ["--n-mels", "0"],
        ["--seconds", "0"],
        ["--silence-dbfs", "nan"],
        ["--workers", "-3"],
        ["--clipped-fraction", "2"],
    ],
)
def test_check_options_out_of_range_are_refused_before_reading_the_data(tmp_path, capsys, option):
    assert main(["check", str(tmp_path / "no-such-data"), *option, "--quiet"]) == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1, err
    assert option[0] in err and "no-such-data" not in err


def test_check_on_a_full_disk_names_the_file_and_the_space(tree, tmp_path, capsys, monkeypatch):
    from matplotlib.figure import Figure

    def full(self, *args, **kwargs):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(Figure, "savefig", full)
    out = tmp_path / "check"
    assert main(["check", str(tree), "--out", str(out), "--quiet", "--workers", "1"]) != 0
    err = capsys.readouterr().err
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1, err
    assert str(out) in err and ".png" in err and "no space left" in err and "MB free" in err
    assert not [p for p in out.iterdir() if p.name.startswith(".")]
