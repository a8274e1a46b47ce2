"""The CPU time estimate `hark train` prints: measured on a copy, so the run is unchanged."""

from __future__ import annotations

import pytest
import torch

from conftest import make_fake_speech_commands
from hark.data.datasets import load_dataset
from hark.train.data import ClipTable
from hark.train import estimate
from hark.train.estimate import estimate_line, measure_epoch_seconds
from hark.train.presets import longer_than_cpu_preset, preset
from hark.train.run import train_run
from hark.train.trainer import build_model

pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.fixture(scope="module")
def tables(tmp_path_factory):
    dataset = load_dataset(make_fake_speech_commands(tmp_path_factory.mktemp("tones") / "sc"))
    train, val = (
        ClipTable.build(dataset, dataset.split(s), 8000, 8000, 1, lambda m: None, False)
        for s in ("train", "validation")
    )
    return dataset, train, val


def test_measuring_leaves_model_optimizer_and_rng_untouched(tables):
    dataset, train, val = tables
    torch.manual_seed(0)
    model = build_model(preset("cpu"), len(dataset.labels))
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-2)
    model(torch.zeros(2, 8000)).sum().backward()
    optimizer.step()  # a run resumed mid-way: the optimiser has state that must stay as it is
    model.zero_grad()
    state = {id(p): {k: v.clone() for k, v in s.items()} for p, s in optimizer.state.items()}
    before = {k: v.clone() for k, v in model.state_dict().items()}
    rng = torch.get_rng_state()
    seconds, clips = measure_epoch_seconds(model, optimizer, train, val, 8, lambda w: w + 0.01 * torch.randn_like(w))
    assert seconds > 0 and clips == 16
    assert all(torch.equal(before[k], v) for k, v in model.state_dict().items())
    assert torch.equal(torch.get_rng_state(), rng)
    assert len(optimizer.state) == len(state)
    for p, s in optimizer.state.items():
        assert all(torch.equal(state[id(p)][k], v) for k, v in s.items())


def _epochs_take(monkeypatch, seconds: float) -> None:
    """Every measured epoch takes `seconds`, as on a slow machine or a large dataset."""
    monkeypatch.setattr(estimate, "measure_epoch_seconds", lambda *args: (seconds, 8))


def test_line_only_for_runs_worth_estimating(tables, monkeypatch):
    dataset, train, val = tables
    model = build_model(preset("seed-m5"), len(dataset.labels))
    optimizer = torch.optim.Adam(model.parameters())
    assert estimate_line(model, optimizer, train, val, len(train), 2, lambda w: w) is None
    line = estimate_line(model, optimizer, train, val, 4, 40, lambda w: w)
    assert line.startswith("no GPU: this recipe will take about") and "40 epochs" in line
    _epochs_take(monkeypatch, 60.0)
    line = estimate_line(model, optimizer, train, val, 4, 40, lambda w: w)
    assert "about 40 min" in line and "--preset cpu" in line
    assert "--preset cpu" not in estimate_line(
        model, optimizer, train, val, 4, 40, lambda w: w, suggest_cpu_preset=False
    )
    # Ten minutes or less already fit a CPU budget.
    _epochs_take(monkeypatch, 14.0)
    assert "--preset cpu" not in estimate_line(model, optimizer, train, val, 4, 40, lambda w: w)


def test_cpu_run_prints_the_estimate_first(tables, tmp_path, monkeypatch):
    dataset, _, _ = tables
    _epochs_take(monkeypatch, 600.0)
    config = preset("seed-m5")
    config.data.source = str(dataset.root)
    config.run.epochs, config.run.batch_size, config.run.workers, config.run.device = 3, 4, 1, "cpu"
    lines = []
    train_run(config, tmp_path / "run", report=lines.append)
    epochs = [i for i, line in enumerate(lines) if line.startswith("epoch ")]
    estimate = [i for i, line in enumerate(lines) if line.startswith("no GPU:")]
    assert len(estimate) == 1 and estimate[0] < epochs[0]
    assert "--preset cpu" in lines[estimate[0]]


def test_a_run_of_the_cpu_recipe_is_not_pointed_to_it(tables, tmp_path, monkeypatch):
    dataset, _, _ = tables
    _epochs_take(monkeypatch, 600.0)  # long, so that only the recipe decides
    config = preset("cpu")
    config.data.source = str(dataset.root)
    config.data.sample_rate = config.data.num_samples = 8000
    config.run.epochs, config.run.batch_size, config.run.workers, config.run.device = 3, 4, 1, "cpu"
    lines = []
    train_run(config, tmp_path / "run", report=lines.append)
    estimate = [line for line in lines if line.startswith("no GPU:")]
    assert len(estimate) == 1 and "--preset cpu" not in estimate[0]


def test_default_is_the_recipe_chosen_on_real_speech_and_cpu_shortens_it():
    default, cpu = preset("default"), preset("cpu")
    assert (default.model.name, default.run.epochs) == ("logmel-cnn", 40)
    assert cpu.run.epochs < default.run.epochs
    shortened = cpu.to_dict()
    assert shortened["optim"]["warmup_epochs"] / cpu.run.epochs == pytest.approx(2 / 40)
    assert cpu.optim.lr > default.optim.lr  # a shorter schedule, a higher peak
    shortened["run"]["epochs"], shortened["optim"]["warmup_epochs"] = default.run.epochs, default.optim.warmup_epochs
    shortened["optim"]["lr"] = default.optim.lr
    assert shortened == default.to_dict()  # otherwise the same recipe
    assert not longer_than_cpu_preset(cpu)
    assert longer_than_cpu_preset(default) and longer_than_cpu_preset(preset("bcresnet-paper"))
    other_model = preset("cpu")
    other_model.model.name = "bcresnet-1"
    assert longer_than_cpu_preset(other_model)
