"""`hark predict` at its edges: options out of range are refused before the run is loaded;
non-finite audio, a folder and a fake MP3 are named errors that do not hide the other files."""

from __future__ import annotations

import numpy as np
import pytest
import soundfile as sf

from conftest import make_fake_speech_commands, train_run
from hark.cli import main
from hark.data.audio import write_wav

pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    base = tmp_path_factory.mktemp("predict-edges")
    data = make_fake_speech_commands(base / "sc", speakers=6)
    return train_run(data, base / "run", 1, "--set", "run.workers=1")


@pytest.mark.parametrize(
    "option, named",
    [
        (["--hop", "0"], "--hop"),
        (["--hop", "-0.5"], "--hop"),
        (["--hop", "nan"], "--hop"),
        (["--hop", "inf"], "--hop"),
        (["--top-k", "0"], "--top-k"),
        (["--top-k", "-5"], "--top-k"),
        (["--threshold", "1.5"], "--threshold"),
        (["--threshold", "nan"], "--threshold"),
        (["--device", "gpu"], "--device"),
    ],
)
def test_an_option_out_of_range_is_refused_before_the_run_is_loaded(tmp_path, capsys, option, named):
    assert main(["predict", str(tmp_path / "no-such-run"), str(tmp_path / "x.wav"), *option]) == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1, err
    assert named in err and "no-such-run" not in err, err


def test_a_hop_shorter_than_a_sample_is_refused(run_dir, tmp_path, capsys):
    write_wav(tmp_path / "long.wav", np.zeros(16000 * 3))
    assert main(["predict", str(run_dir), str(tmp_path / "long.wav"), "--hop", "1e-9"]) == 2
    assert "one sample" in capsys.readouterr().err


def test_bad_files_are_named_and_the_good_ones_still_predicted(run_dir, tmp_path, capsys):
    nan = tmp_path / "nan.wav"
    sf.write(str(nan), np.full(8000, np.nan, dtype=np.float32), 8000, subtype="FLOAT")
    folder = tmp_path / "folder.wav"
    folder.mkdir()
    fake = tmp_path / "fake.mp3"
    fake.write_text("not audio at all\n")
    good = tmp_path / "good.wav"
    write_wav(good, 0.1 * np.sin(np.arange(16000) / 3))
    assert main(["predict", str(run_dir), str(nan), str(folder), str(fake), str(good), "--top-k", "2"]) == 1
    captured = capsys.readouterr()
    assert f"{nan}: non-finite samples (NaN or infinity)" in captured.err
    assert f"{folder}: a folder, not an audio file" in captured.err
    assert f"{fake}: cannot decode audio (its content is not MP3 audio" in captured.err
    assert "nan" not in captured.out.replace(str(nan), "")
    assert captured.out.startswith(f"{good} (1.00 s): ") and captured.out.count(",") == 1
