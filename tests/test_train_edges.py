"""`hark train` at its edges: an empty validation split, output that cannot be written (an
unwritable folder, a read-only cache, a full disk), damaged or foreign checkpoints, and the
temporaries a killed run leaves behind. Each ends in one clear line, never after lost work."""

from __future__ import annotations

import csv
import errno
import os
from pathlib import Path

import pytest
import torch

from conftest import make_fake_speech_commands
from hark.cli import main
from hark.errors import HarkError, OutputError
from hark.train.checkpoint import load_checkpoint
from hark.train.command import build_config, configure
from hark.train.run import train_run

FAST = ["--preset", "seed-m5", "--batch-size", "16", "--device", "cpu", "--set", "run.workers=1"]

pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.fixture(scope="module")
def tones(tmp_path_factory):
    return make_fake_speech_commands(tmp_path_factory.mktemp("tones") / "speech_commands", speakers=8)


def one_line_error(capsys) -> str:
    err = capsys.readouterr().err
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1, err
    return err


def test_an_empty_validation_split_trains_without_validation_and_says_so(tmp_path, capsys):
    root = make_fake_speech_commands(tmp_path / "sc", speakers=6)
    (root / "validation_list.txt").write_text("")  # every validation clip goes to training
    run = tmp_path / "run"
    assert main(["train", str(root), "--out", str(run), *FAST, "--epochs", "2"]) == 0
    out = capsys.readouterr().out
    assert "no validation clips" in out and "training without validation" in out
    rows = list(csv.DictReader((run / "history.csv").open()))
    assert [int(r["epoch"]) for r in rows] == [1, 2] and rows[-1]["val_acc"] == ""
    assert load_checkpoint(run / "checkpoints" / "best.pt")["epoch"] == 2  # the latest model
    assert load_checkpoint(run / "checkpoints" / "last.pt")["epoch"] == 2


@pytest.mark.parametrize("out", ["/proc/hark-no-such/run", "/sys/hark-run"])
def test_an_unwritable_run_folder_is_refused_before_the_data_is_read(tmp_path, capsys, out):
    assert main(["train", str(tmp_path / "no-such-data"), "--out", out, *FAST]) != 0
    err = one_line_error(capsys)
    assert out in err and "not writable" in err and "no-such-data" not in err


def test_a_read_only_cache_is_refused_before_the_data_is_read(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("HARK_CACHE_DIR", "/proc/hark-cache")
    assert main(["train", str(tmp_path / "no-such-data"), "--out", str(tmp_path / "run"), *FAST]) != 0
    err = one_line_error(capsys)
    assert "/proc/hark-cache" in err and "HARK_CACHE_DIR" in err and "no-such-data" not in err


def test_a_full_disk_stops_with_the_path_and_the_space_and_keeps_the_last_checkpoint(tones, tmp_path, monkeypatch):
    run = tmp_path / "run"
    config = build_config(_parse([str(tones), "--out", str(run), *FAST, "--epochs", "2"]))
    last = run / "checkpoints" / "last.pt"
    saved = {}

    def full(fd):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    def report(message):
        if message.startswith("epoch 2/2"):  # the disk fills while epoch 2's checkpoints are written
            saved["epoch 1"] = last.read_bytes()
            monkeypatch.setattr(os, "fsync", full)

    with pytest.raises(OutputError) as caught:
        train_run(config, run, report=report)
    message = str(caught.value)
    assert str(run / "checkpoints") in message and "no space left" in message, message
    assert "MB free" in message and "needs" in message and "\n" not in message, message
    assert last.read_bytes() == saved["epoch 1"] and load_checkpoint(last)["epoch"] == 1
    assert not [p.name for p in (run / "checkpoints").iterdir() if p.name.startswith(".")]
    monkeypatch.undo()
    assert main(["train", str(tones), "--out", str(run), *FAST, "--epochs", "2", "--resume"]) == 0
    assert load_checkpoint(last)["epoch"] == 2


def test_leftover_temporaries_of_a_killed_run_are_cleaned_on_resume(tones, tmp_path):
    run = tmp_path / "run"
    assert main(["train", str(tones), "--out", str(run), *FAST, "--epochs", "1"]) == 0
    leftovers = [
        run / "checkpoints" / ".last.pt.tmp",
        run / ".history.csv.tmp",
        run / "checkpoints" / ".best.pt.1234-abcdef01.tmp",
    ]
    for path in leftovers:
        path.write_bytes(b"torn")
    assert main(["train", str(tones), "--out", str(run), *FAST, "--epochs", "1", "--resume"]) == 0
    assert not [p for p in leftovers if p.exists()]
    assert load_checkpoint(run / "checkpoints" / "last.pt")["epoch"] == 1


def _parse(argv):
    import argparse

    parser = argparse.ArgumentParser()
    configure(parser)
    return parser.parse_args(argv)


class Payload:
    """Runs code when unpickled: a checkpoint must never do that."""

    def __reduce__(self):
        return (Path.touch, (Path(os.environ["HARK_PWNED"]),))


def test_a_checkpoint_with_foreign_objects_is_refused_in_one_line(tmp_path, monkeypatch):
    marker = tmp_path / "pwned"
    monkeypatch.setenv("HARK_PWNED", str(marker))
    evil = tmp_path / "evil.pt"
    torch.save({"model": Payload(), "config": {}}, evil)
    with pytest.raises(HarkError) as caught:
        load_checkpoint(evil)
    message = str(caught.value)
    assert message.startswith(f"{evil}: ") and "\n" not in message and len(message) < 300, message
    assert "weights_only" not in message and "not loaded" in message
    assert not marker.exists()


def test_a_torn_checkpoint_is_named_in_one_line(tmp_path):
    torn = tmp_path / "torn.pt"
    torch.save({"model": {"w": torch.zeros(1000)}, "config": {}}, torn)
    torn.write_bytes(torn.read_bytes()[:500])
    with pytest.raises(HarkError, match=rf"^{torn}: not a readable hark checkpoint") as caught:
        load_checkpoint(torn)
    assert "\n" not in str(caught.value) and len(str(caught.value)) < 300
