"""`hark evaluate` and `hark analyze` refuse output they cannot write before reading any data,
and `hark analyze --quiet` prints no progress, cross-validation's training included."""

from __future__ import annotations

import shutil

import pytest

from conftest import torch_threads
from hark.cli import main

UNWRITABLE = "/proc/hark-no-such-folder"


def one_line_error(capsys) -> str:
    err = capsys.readouterr().err
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1, err
    return err


@pytest.fixture
def copied_run(evaluated_run, tmp_path):
    """The run without its dataset: reading any data would fail with another message."""
    run = shutil.copytree(evaluated_run, tmp_path / "run")
    config = (run / "config.json").read_text().replace(str(evaluated_run.parent / "sc"), str(tmp_path / "gone"))
    (run / "config.json").write_text(config)
    return run


def test_evaluate_refuses_an_unwritable_output_folder_first(copied_run, capsys):
    shutil.rmtree(copied_run / "confusion")
    (copied_run / "confusion").symlink_to(UNWRITABLE)
    assert main(["evaluate", str(copied_run)]) != 0
    err = one_line_error(capsys)
    assert str(copied_run / "confusion") in err and "not writable" in err


def test_evaluate_and_analyze_refuse_a_read_only_cache_first(copied_run, capsys, monkeypatch):
    monkeypatch.setenv("HARK_CACHE_DIR", UNWRITABLE)
    for command in (["evaluate", str(copied_run)], ["analyze", str(copied_run), "--folds", "2", "--quiet"]):
        assert main(command) != 0
        err = one_line_error(capsys)
        assert UNWRITABLE in err and "HARK_CACHE_DIR" in err, command


def test_analyze_refuses_an_unwritable_analysis_folder_first(copied_run, capsys):
    shutil.rmtree(copied_run / "analysis", ignore_errors=True)
    (copied_run / "analysis").symlink_to(UNWRITABLE)
    assert main(["analyze", str(copied_run), "--no-crossval", "--quiet"]) != 0
    err = one_line_error(capsys)
    assert str(copied_run / "analysis") in err and "not writable" in err


def test_evaluate_names_a_missing_run_folder_without_creating_it(tmp_path, capsys):
    assert main(["evaluate", str(tmp_path / "no-run")]) != 0
    assert "no-run" in one_line_error(capsys) and not (tmp_path / "no-run").exists()


def test_analyze_quiet_prints_no_progress_even_while_cross_validating(evaluated_run, capfd):
    with torch_threads(1):
        assert main(["analyze", str(evaluated_run), "--folds", "2", "--no-umap", "--no-report", "--quiet"]) == 0
    out, err = capfd.readouterr()
    assert "%|" not in err and "batch/s" not in err and "clip/s" not in err, err[-2000:]
    assert "epoch 1/" not in out and "epoch 1/" not in err


def test_evaluate_refuses_a_batch_size_below_one_first(tmp_path, capsys):
    assert main(["evaluate", str(tmp_path / "no-run"), "--batch-size", "0"]) == 2
    err = one_line_error(capsys)
    assert "--batch-size" in err and "no-run" not in err.replace("--batch-size", "")
