"""`hark train` end to end on tiny fake data: the run folder, learning, reproducibility,
corrupt clips, and the errors a user can run into."""

from __future__ import annotations

import csv
import json

import pytest
import torch

from conftest import make_fake_speech_commands
from hark.cli import main
from hark.data.datasets import load_dataset
from hark.errors import HarkError
from hark.train.checkpoint import load_checkpoint, load_weights
from hark.train.command import build_config, configure
from hark.train.config import TrainConfig
from hark.train.presets import preset
from hark.train.run import fit, load_trained, train_run
from hark.train.trainer import Trainer, build_model

FAST = ["--preset", "seed-m5", "--batch-size", "16", "--device", "cpu", "--set", "run.workers=1"]


pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.fixture(scope="module")
def tones(tmp_path_factory):
    return make_fake_speech_commands(tmp_path_factory.mktemp("tones") / "speech_commands")


def tiny_config(source, epochs: int = 2) -> TrainConfig:
    config = preset("seed-m5")
    config.data.source = str(source)
    config.run.epochs, config.run.batch_size, config.run.workers, config.run.device = epochs, 16, 1, "cpu"
    return config


def test_run_folder_is_complete_and_the_model_learns(tones, tmp_path, capsys):
    run = tmp_path / "run"
    assert (
        main(["train", str(tones), "--out", str(run), *FAST, "--epochs", "3", "--set", "run.checkpoint_every=2"]) == 0
    )
    saved = json.loads((run / "config.json").read_text())
    assert saved["labels"] == ["down", "no", "up", "yes"]
    assert saved["data"]["source"] == str(tones.resolve()) and saved["model"]["name"] == "m5"
    assert saved["data"]["sample_rate"] == 8000 and saved["optim"]["optimizer"] == "adam"
    rows = list(csv.DictReader((run / "history.csv").open()))
    assert [int(r["epoch"]) for r in rows] == [1, 2, 3]
    assert float(rows[-1]["val_acc"]) > 0.5  # chance is 0.25
    assert {p.name for p in (run / "checkpoints").iterdir()} == {"last.pt", "best.pt", "epoch_002.pt"}
    assert list((run / "tensorboard").glob("events.out.tfevents.*"))
    assert "epoch 3/3  train loss" in capsys.readouterr().out

    loaded = load_trained(run, "best")
    assert loaded.labels == saved["labels"] and not loaded.model.training
    with torch.no_grad():
        assert loaded.model(torch.zeros(2, 8000)).shape == (2, 4)

    # The saved config reproduces the run.
    args = _parse(["--config", str(run / "config.json"), "--out", str(tmp_path / "again")])
    assert build_config(args).to_dict() == TrainConfig.load(run / "config.json").to_dict()


def test_same_seed_gives_bit_identical_weights(tones):
    dataset = load_dataset(tones)
    config = tiny_config(tones)
    first, second = (
        fit(config, dataset, dataset.split("train"), dataset.split("validation"), report=lambda m: None)
        for _ in range(2)
    )
    for (name, a), b in zip(first.state_dict().items(), second.state_dict().values(), strict=True):
        assert torch.equal(a, b), name
    config.run.seed = 1
    other = fit(config, dataset, dataset.split("train"), dataset.split("validation"), report=lambda m: None)
    assert not torch.equal(other.state_dict()["head.weight"], first.state_dict()["head.weight"])


def test_bcresnet_paper_recipe_trains_with_noise_shift_and_specaugment(tones, tmp_path):
    config = preset("bcresnet-paper")
    config.data.source = str(tones)
    config.model.name = "bcresnet-1"
    config.run.epochs, config.run.batch_size, config.run.workers, config.run.device = 1, 24, 1, "cpu"
    train_run(config, tmp_path / "run", report=lambda m: None)
    row = next(csv.DictReader((tmp_path / "run" / "history.csv").open()))
    assert 0 < float(row["lr"]) < config.optim.lr  # still warming up after one of five warm-up epochs
    assert load_checkpoint(tmp_path / "run" / "checkpoints" / "last.pt")["config"]["augment"]["noise_prob"] == 0.8


def test_a_noise_folder_gives_noise_to_a_dataset_without_any(tones, tmp_path, monkeypatch, capsys):
    quiet = make_fake_speech_commands(tmp_path / "quiet", with_noise=False)
    noise = tmp_path / "noise"
    noise.mkdir()
    for name in ("white_noise.wav", "pink_noise.wav"):
        (noise / name).write_bytes((tones / "_background_noise_" / name).read_bytes())
    (noise / "broken.wav").write_bytes(b"RIFF\x00\x00 not audio")  # reported and left out
    (noise / "README.md").write_text("not audio, not noise")
    monkeypatch.chdir(tmp_path)
    run = tmp_path / "run"
    argv = ["train", str(quiet), "--out", str(run), *FAST, "--epochs", "1", "--set", "augment.noise_prob=1"]
    assert main([*argv, "--set", "augment.noise_dir=noise"]) == 0
    out = capsys.readouterr().out
    assert "no background-noise recordings" not in out, out
    saved = TrainConfig.load(run / "config.json")
    assert saved.augment.noise_dir == str(noise)  # resolved where the command ran, so the run replays anywhere
    dataset = load_dataset(quiet)
    trainer = Trainer(saved, dataset, dataset.split("train"), dataset.split("validation"), report=lambda m: None)
    assert trainer.noise is not None and len(trainer.noise) == 2
    # Without the folder the run says how to give one; a folder that is not there stops the run
    # before any clip is read.
    assert main([*argv[:2], "--out", str(tmp_path / "plain"), *argv[4:]]) == 0
    assert "give a folder of them with --set augment.noise_dir=DIR" in capsys.readouterr().out
    missing = [str(tmp_path / "no-such-data"), "--out", str(tmp_path / "missing"), *argv[4:]]
    assert main(["train", *missing, "--set", "augment.noise_dir=nowhere"]) == 1
    err = capsys.readouterr().err
    assert f"{tmp_path / 'nowhere'}: noise folder not found (augment.noise_dir)" in err and "no-such-data" not in err


def test_a_time_stretch_alone_puts_spec_augment_in_the_training_model_only():
    from hark.features import SpecAugment

    config = preset("seed-m5")
    config.model.name = "logmel-cnn"
    config.augment.time_stretch = 0.15
    augments = [m for m in build_model(config, 4).modules() if isinstance(m, SpecAugment)]
    assert [(a.time_stretch, a.freq_masks, a.time_masks) for a in augments] == [(0.15, 0, 0)]
    assert not any(isinstance(m, SpecAugment) for m in build_model(config, 4, training=False).modules())


def test_corrupt_clip_is_reported_and_skipped(tmp_path, capsys):
    root = make_fake_speech_commands(tmp_path / "sc", speakers=6)
    dataset = load_dataset(root)
    broken = dataset.split("train")[0].path
    (root / broken).write_bytes(b"RIFF" + bytes(40))
    assert main(["train", str(root), "--out", str(tmp_path / "run"), *FAST, "--epochs", "1"]) == 0
    out = capsys.readouterr().out
    assert f"skipped {broken}" in out
    assert (tmp_path / "run" / "checkpoints" / "last.pt").is_file()


def test_unknown_names_list_the_valid_ones(tones, tmp_path):
    with pytest.raises(HarkError, match="unknown preset 'fast'; valid: bcresnet-paper, cpu, default, seed-m5"):
        build_config(_parse([str(tones), "--out", str(tmp_path), "--preset", "fast"]))
    with pytest.raises(HarkError, match="unknown field optim.learning_rate; valid: optim.optimizer, optim.lr"):
        build_config(_parse([str(tones), "--out", str(tmp_path), "--set", "optim.learning_rate=0.1"]))
    with pytest.raises(HarkError, match="run.epochs='many': expected an integer"):
        build_config(_parse([str(tones), "--out", str(tmp_path), "--set", "run.epochs=many"]))
    assert main(["train", str(tones), "--out", str(tmp_path / "r"), "--model", "m6"]) == 2
    config = build_config(
        _parse(
            [
                str(tones),
                "--out",
                str(tmp_path),
                "--set",
                "augment.noise_snr_db=0,10",
                "--set",
                'model.kwargs={"n_channel": 16}',
                "--model",
                "m5",
                "--lr",
                "0.5",
            ]
        )
    )
    assert config.augment.noise_snr_db == (0.0, 10.0) and config.model.kwargs == {"n_channel": 16}
    assert config.optim.lr == 0.5


def test_checkpoint_errors_name_the_file(tones, tmp_path):
    run = tmp_path / "run"
    train_run(tiny_config(tones, epochs=1), run, report=lambda m: None)
    last = run / "checkpoints" / "last.pt"

    other = tiny_config(tones)
    other.model.name = "bcresnet-1"
    with pytest.raises(HarkError, match=rf"{last}: weights of model 'm5' with 4 classes do not fit"):
        load_weights(build_model(other, 4, training=False), load_checkpoint(last), last)

    torn = tmp_path / "torn.pt"
    torn.write_bytes(last.read_bytes()[: last.stat().st_size // 2])
    with pytest.raises(HarkError, match=rf"{torn}: not a readable hark checkpoint"):
        load_trained(run, str(torn))
    with pytest.raises(HarkError, match="no such checkpoint; this run has: best, last"):
        load_trained(run, "epoch_007")

    with pytest.raises(HarkError, match="already holds a run"):
        train_run(tiny_config(tones, epochs=1), run, report=lambda m: None)
    changed = tiny_config(tones, epochs=1)
    changed.optim.lr = 0.5
    with pytest.raises(HarkError, match=r"changed: optim.lr: 0.01 -> 0.5"):
        train_run(changed, run, resume=True, report=lambda m: None)


def _parse(argv):
    import argparse

    parser = argparse.ArgumentParser()
    configure(parser)
    return parser.parse_args(argv)
