"""`hark train`'s configuration: every field has a valid range, checked before any data is read;
`--config` files (JSON or YAML) must hold exactly the config's sections; `--print-config`."""

from __future__ import annotations

import json

import pytest
import torch
import yaml

from hark.cli import main
from hark.errors import UsageError
from hark.train.command import build_config, configure
from hark.train.config import TrainConfig
from hark.train.presets import PRESETS, preset


def _parse(argv):
    import argparse

    parser = argparse.ArgumentParser()
    configure(parser)
    return parser.parse_args(argv)


def refused(capsys, argv) -> str:
    """Exit status 2 and a one-line message, no traceback; returns the message."""
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1, err
    return err


@pytest.mark.parametrize(
    "option, field",
    [
        (["--batch-size", "0"], "run.batch_size"),
        (["--batch-size", "-4"], "run.batch_size"),
        (["--lr", "nan"], "optim.lr"),
        (["--lr", "-1"], "optim.lr"),
        (["--lr", "inf"], "optim.lr"),
        (["--epochs", "0"], "run.epochs"),
        (["--seed", "-1"], "run.seed"),
        (["--set", "data.num_samples=-5"], "data.num_samples"),
        (["--set", "data.sample_rate=0"], "data.sample_rate"),
        (["--set", "optim.momentum=1.5"], "optim.momentum"),
        (["--set", "optim.weight_decay=-0.1"], "optim.weight_decay"),
        (["--set", "optim.optimizer=rmsprop"], "optim.optimizer"),
        (["--set", "optim.schedule=linear"], "optim.schedule"),
        (["--set", "optim.step_size=0"], "optim.step_size"),
        (["--set", "augment.noise_prob=1.5"], "augment.noise_prob"),
        (["--set", "augment.noise_snr_db=30,5"], "augment.noise_snr_db"),
        (["--set", "augment.noise_snr_db=NaN,5"], "augment.noise_snr_db"),
        (["--set", "augment.label_smoothing=1"], "augment.label_smoothing"),
        (["--set", "augment.time_masks=-1"], "augment.time_masks"),
        (["--set", "run.checkpoint_every=0"], "run.checkpoint_every"),
        (["--set", "run.workers=-2"], "run.workers"),
        (["--set", "data.task=13"], "data.task"),
    ],
)
def test_an_option_out_of_range_is_refused_before_the_data_is_read(capsys, tmp_path, option, field):
    # The dataset does not exist: the option must be refused before anyone looks for it.
    err = refused(capsys, ["train", str(tmp_path / "no-such-data"), "--out", str(tmp_path / "run"), *option])
    assert field in err and "no-such-data" not in err, err
    assert option[0] in err, err  # the option the user typed, not only the field it sets
    assert not (tmp_path / "run").exists()


def test_the_presets_are_valid():
    for name in PRESETS:
        preset(name).validate(name)


def test_an_input_too_short_for_the_model_is_refused_at_start(capsys, tmp_path):
    err = refused(
        capsys,
        [
            "train",
            str(tmp_path / "no-such-data"),
            "--out",
            str(tmp_path / "run"),
            "--preset",
            "seed-m5",
            "--set",
            "data.num_samples=16",
        ],
    )
    assert "m5" in err and "16 samples" in err and "data.num_samples" in err


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has CUDA")
def test_cuda_without_a_gpu_is_refused_at_start(capsys, tmp_path):
    err = refused(capsys, ["train", str(tmp_path / "data"), "--out", str(tmp_path / "run"), "--device", "cuda"])
    assert "--device cuda: this machine has no CUDA GPU" in err


def test_a_config_file_of_something_else_is_refused(capsys, tmp_path):
    other = tmp_path / "package.json"
    other.write_text(json.dumps({"name": "left-pad", "version": "1.3.0"}))
    err = refused(capsys, ["train", "--config", str(other), "--out", str(tmp_path / "run")])
    assert str(other) in err and "'name'" in err and "missing" in err


def test_a_config_file_missing_a_section_is_refused(tmp_path):
    partial = tmp_path / "partial.json"
    document = preset("seed-m5").to_dict()
    del document["augment"], document["run"]
    partial.write_text(json.dumps(document))
    with pytest.raises(UsageError, match=rf"{partial}: missing config sections: augment, run"):
        build_config(_parse(["data", "--config", str(partial), "--out", str(tmp_path / "run")]))


def test_a_run_config_json_is_accepted_with_its_labels(tmp_path):
    path = tmp_path / "config.json"
    preset("seed-m5").save(path, ["no", "yes"], None)
    assert TrainConfig.load(path).to_dict() == preset("seed-m5").to_dict()


def test_a_yaml_config_gives_the_same_config_as_json(tmp_path):
    document = preset("bcresnet-paper").to_dict()
    document["data"]["source"] = str(tmp_path)
    text = yaml.safe_dump(document).replace("weight_decay: 0.001", "weight_decay: 1e-3")
    assert "1e-3" in text  # PyYAML alone reads 1e-3 as a string
    for name in ("config.yaml", "config.yml"):
        (tmp_path / name).write_text(text)
        config = build_config(_parse(["--config", str(tmp_path / name), "--out", str(tmp_path / "run")]))
        assert config.to_dict() == document


def test_a_broken_yaml_config_names_the_line(tmp_path):
    broken = tmp_path / "broken.yaml"
    broken.write_text("data:\n  source: x\noptim: [lr: 0.1\n")
    with pytest.raises(UsageError, match=rf"{broken}: not valid YAML .*line \d"):
        build_config(_parse(["--config", str(broken), "--out", str(tmp_path / "run")]))


def test_print_config_shows_the_resolved_config_and_trains_nothing(capsys, tmp_path):
    assert (
        main(
            [
                "train",
                str(tmp_path / "data"),
                "--preset",
                "seed-m5",
                "--lr",
                "0.5",
                "--set",
                "augment.noise_prob=0.25",
                "--print-config",
            ]
        )
        == 0
    )
    shown = json.loads(capsys.readouterr().out)
    assert shown["optim"]["lr"] == 0.5 and shown["augment"]["noise_prob"] == 0.25
    assert shown["model"]["name"] == "m5" and shown["data"]["source"] == str((tmp_path / "data").resolve())
    assert list(tmp_path.iterdir()) == []
    # What it prints is a valid --config.
    (tmp_path / "shown.json").write_text(json.dumps(shown))
    again = build_config(_parse(["--config", str(tmp_path / "shown.json"), "--out", str(tmp_path / "run")]))
    assert again.to_dict() == shown


def test_a_waveform_model_turns_off_the_presets_spec_augment_and_says_so(capsys, tmp_path):
    argv = ["train", str(tmp_path / "data"), "--model", "m5", "--set", "augment.noise_prob=0.3", "--print-config"]
    assert main(argv) == 0
    captured = capsys.readouterr()
    shown = json.loads(captured.out)  # the note goes to stderr, so stdout stays a valid --config
    assert (shown["augment"]["freq_masks"], shown["augment"]["time_masks"]) == (0, 0)
    assert shown["augment"]["noise_prob"] == 0.3  # other augmentation is the user's to set
    assert shown["augment"]["time_shift_ms"] == preset("default").augment.time_shift_ms
    assert "'m5' takes the waveform" in captured.err and "augment.freq_masks=0 augment.time_masks=0" in captured.err
    # A spectrogram model keeps the masks, and masks asked for by name are refused, not dropped.
    assert main(["train", str(tmp_path / "data"), "--model", "logmel-cnn", "--print-config"]) == 0
    assert json.loads(capsys.readouterr().out)["augment"]["freq_masks"] == preset("default").augment.freq_masks
    err = refused(capsys, [*argv[:-1], "--out", str(tmp_path / "run"), "--set", "augment.freq_masks=2"])
    assert "no option spec_augment" in err and "augment.freq_masks=0" in err


def test_another_model_drops_the_recipes_options_it_lacks_and_says_so(capsys, tmp_path):
    data = str(tmp_path / "data")
    assert preset("default").model.kwargs == {"n_mels": 24}
    assert main(["train", data, "--model", "bcresnet-1", "--print-config"]) == 0
    captured = capsys.readouterr()
    assert json.loads(captured.out)["model"] == {"name": "bcresnet-1", "kwargs": {}}
    assert "'bcresnet-1' has no option n_mels" in captured.err and "model.kwargs.n_mels" in captured.err
    assert main(["train", data, "--set", "model.name=bcresnet-1", "--print-config"]) == 0
    assert json.loads(capsys.readouterr().out)["model"]["kwargs"] == {}
    # The recipe's own model keeps it, silently.
    assert main(["train", data, "--model", "logmel-cnn", "--print-config"]) == 0
    captured = capsys.readouterr()
    assert json.loads(captured.out)["model"]["kwargs"] == {"n_mels": 24} and "note" not in captured.err
    # Options asked for by name are refused, not dropped.
    err = refused(
        capsys,
        [
            "train",
            data,
            "--out",
            str(tmp_path / "run"),
            "--model",
            "bcresnet-1",
            "--set",
            'model.kwargs={"n_mels": 32}',
        ],
    )
    assert "no option n_mels" in err


def test_out_is_still_required_to_train(capsys, tmp_path):
    err = refused(capsys, ["train", str(tmp_path / "data")])
    assert "--out" in err
