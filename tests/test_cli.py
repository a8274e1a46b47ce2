"""The command line: version, description, exit codes (1 run-time, 2 usage), one --quiet."""

from __future__ import annotations

import subprocess
import sys

import pytest

import hark
from hark.cli import COMMANDS, main


def test_version_and_description(capsys):
    assert main(["--version"]) == 0
    assert capsys.readouterr().out.strip() == f"hark {hark.__version__}"
    assert main(["--help"]) == 0
    out = capsys.readouterr().out
    assert "why they fail and what to fix first" in out and "hark schema" in out
    assert all(name in out for name in COMMANDS)


def test_exit_codes(tmp_path, capsys):
    assert main([]) == 2
    assert main(["no-such-command"]) == 2
    assert main(["data", "info"]) == 2  # argparse: missing argument
    assert main(["data", "info", str(tmp_path / "absent")]) == 1  # run-time: no such dataset
    assert "absent: no such file or folder" in capsys.readouterr().err
    assert main(["data", "info", str(tmp_path), "--task", "13"]) == 2
    assert main(["analyze", "--predictions", str(tmp_path / "p.parquet")]) == 2  # needs --data and --out
    assert "--predictions needs --data DATA and --out DIR" in capsys.readouterr().err


@pytest.mark.parametrize("command", ["check", "train", "evaluate", "analyze", "synth"])
def test_every_command_that_shows_progress_takes_quiet(command, capsys):
    assert main([command, "--help"]) == 0
    assert "--quiet" in capsys.readouterr().out


def test_quiet_hides_progress_bars(tmp_path):
    import numpy as np
    import soundfile as sf

    for i in range(3):
        sf.write(tmp_path / f"c{i}.wav", np.zeros(800, np.float32), 8000)
    (tmp_path / "m.csv").write_text("path,label\n" + "".join(f"c{i}.wav,x\n" for i in range(3)))
    code = "import sys; from hark.cli import main; sys.exit(main(sys.argv[1:]))"
    quiet = subprocess.run(
        [sys.executable, "-c", code, "data", "info", str(tmp_path / "m.csv"), "--quiet"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert "3 clips" in quiet.stdout and "indexing" not in quiet.stderr
    from tqdm import std

    from hark import cli

    shown = std.tqdm.__init__
    try:
        cli._hide_progress_bars()
        assert std.tqdm(range(3), disable=False).disable
    finally:
        std.tqdm.__init__ = shown


def test_every_option_of_every_command_has_help():
    import argparse
    import importlib

    from hark.cli import _add_quiet

    def undocumented(parser, name):
        for action in parser._actions:
            if isinstance(action, argparse._SubParsersAction):
                for child_name, child in action.choices.items():
                    yield from undocumented(child, f"{name} {child_name}")
            elif not action.help:
                yield f"{name} {'/'.join(action.option_strings) or action.dest}"

    missing = []
    for name, (module, _) in COMMANDS.items():
        parser = argparse.ArgumentParser()
        importlib.import_module(module).configure(parser)
        _add_quiet(parser)
        missing += undocumented(parser, name)
    assert missing == []


def test_schema_command_prints_the_published_columns(capsys):
    import json

    assert main(["schema"]) == 0
    text = capsys.readouterr().out
    assert "fixed_size_list<float32>[C]" in text and "hark.labels" in text and "oof_probs" in text
    assert main(["schema", "--json"]) == 0
    document = json.loads(capsys.readouterr().out)
    assert {c["name"] for c in document["columns"] if c["presence"] == "required"} == {"path", "label", "probs"}
