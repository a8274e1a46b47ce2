"""A training process killed with SIGKILL and resumed ends with exactly the weights of an
uninterrupted run."""

from __future__ import annotations

import csv
import os
import signal
import subprocess
import sys
import time

import torch

from conftest import make_fake_speech_commands, torch_threads, train_args
from hark.cli import main

EPOCHS = 5
KILL_AFTER = 2


def train_command(data, run, *extra):
    return [
        sys.executable,
        "-m",
        "hark.cli",
        *train_args(data, run, EPOCHS, "--set", "run.workers=1", "--set", "run.checkpoint_every=1", *extra),
    ]


def test_killed_run_resumes_to_identical_weights(tmp_path):
    data = make_fake_speech_commands(tmp_path / "sc")
    env = {**os.environ, "OMP_NUM_THREADS": "1"}

    reference = tmp_path / "reference"
    with torch_threads(1):
        assert main(train_command(data, reference)[3:]) == 0

    run = tmp_path / "run"
    victim = subprocess.Popen(train_command(data, run), env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    marker = run / "checkpoints" / f"epoch_{KILL_AFTER:03d}.pt"
    while not marker.exists() and victim.poll() is None:
        time.sleep(0.005)  # polling for the file, not timing anything
    victim.send_signal(signal.SIGKILL)
    victim.wait()
    assert victim.returncode == -signal.SIGKILL, victim.stderr.read().decode()[-2000:]
    assert not (run / "checkpoints" / f"epoch_{EPOCHS:03d}.pt").exists()

    resumed = subprocess.run(train_command(data, run, "--resume"), env=env, capture_output=True, text=True)
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    assert "resuming" in resumed.stdout

    done = torch.load(run / "checkpoints" / "last.pt", weights_only=True)
    expected = torch.load(reference / "checkpoints" / "last.pt", weights_only=True)
    assert done["epoch"] == EPOCHS
    for name, tensor in expected["model"].items():
        assert torch.equal(done["model"][name], tensor), name
    assert done["optimizer"]["state"][0]["exp_avg"].equal(expected["optimizer"]["state"][0]["exp_avg"])
    epochs = [int(row["epoch"]) for row in csv.DictReader((run / "history.csv").open())]
    assert epochs == list(range(1, EPOCHS + 1))
