"""K-fold cross-validation really trains K models and gives every training clip a probability
from a model that never saw it; the other splits keep the run model's output."""

import numpy as np
import pandas as pd

from conftest import make_fake_speech_commands, torch_threads, train_args
from hark.analysis.inputs import load_run_data
from hark.analysis.label_errors import crossval_probs
from hark.cli import main
from hark.schema import ERROR_DEFINED_BY_METADATA_KEY, OOF_CONFIDENCE, OOF_PRED


def test_training_clips_get_out_of_sample_probabilities(evaluated_run):
    run = load_run_data(evaluated_run)
    with torch_threads(1):
        probs = crossval_probs(run, folds=2, progress=False)
    train = (run.clips["split"] == "train").to_numpy()
    assert probs.shape == run.probs.shape
    np.testing.assert_allclose(probs.sum(axis=1), 1.0, atol=1e-4)
    np.testing.assert_array_equal(probs[~train], run.probs[~train])
    # Every training clip's row comes from a fold model, never the run model.
    assert np.all(np.abs(probs[train] - run.probs[train]).max(axis=1) > 1e-6)


def test_analyze_cli_runs_crossvalidation(evaluated_run, capsys):
    with torch_threads(1):
        assert main(["analyze", str(evaluated_run), "--folds", "2", "--no-umap", "--quiet"]) == 0
    clips = pd.read_parquet(evaluated_run / "analysis" / "clips.parquet")
    train = clips["split"] == "train"
    assert clips.loc[train, OOF_PRED].notna().all()
    # Out-of-sample predictions differ from the run model's somewhere on the training split.
    assert (clips.loc[train, OOF_CONFIDENCE] != clips.loc[train, "confidence"]).any()
    # With cross-validation the out-of-fold prediction defines `error`, and the file says so.
    import pyarrow.parquet as pq

    metadata = pq.read_schema(evaluated_run / "analysis" / "clips.parquet").metadata
    assert metadata[ERROR_DEFINED_BY_METADATA_KEY] == OOF_PRED.encode()
    assert (clips["error"] == (clips[OOF_PRED] != clips["label"])).all()


def test_train_seeds_writes_one_run_per_seed_that_compare_reads_as_a_side(tmp_path, capsys):
    data = make_fake_speech_commands(tmp_path / "sc", speakers=10, utterances=2, seed=3)
    with torch_threads(1):
        assert main(train_args(data, tmp_path / "runs", 1, "--seeds", "2", "--seed", "5")) == 0
        for k in range(2):
            assert main(["evaluate", str(tmp_path / "runs" / f"seed-{k}")]) == 0
    seeds = [load_run_data(tmp_path / "runs" / f"seed-{k}").config["run"]["seed"] for k in range(2)]
    assert seeds == [5, 6]
    capsys.readouterr()
    assert main(["compare", str(tmp_path / "runs"), str(tmp_path / "runs")]) == 0
    out = capsys.readouterr().out
    assert "seed-to-seed spread" in out and "no difference beyond noise" in out
    # One seed against several is refused with a message, not a traceback.
    assert main(["compare", str(tmp_path / "runs" / "seed-0"), str(tmp_path / "runs")]) == 2
    assert "same number of seeds" in capsys.readouterr().err


def test_crossvalidation_estimates_once_and_names_each_fold(evaluated_run, tmp_path, monkeypatch, capsys):
    import json
    import shutil

    from hark.train import estimate

    run_dir = shutil.copytree(evaluated_run, tmp_path / "run")
    config = json.loads((run_dir / "config.json").read_text())
    config["run"]["epochs"] = 12  # enough steps per fold for an estimate
    (run_dir / "config.json").write_text(json.dumps(config))
    monkeypatch.setattr(estimate, "measure_epoch_seconds", lambda *args: (1.0, 8))
    with torch_threads(1):
        crossval_probs(load_run_data(run_dir), folds=2, progress=True)
    lines = capsys.readouterr().out.splitlines()
    estimates = [line for line in lines if "no GPU:" in line]
    assert len(estimates) == 1 and estimates[0].startswith("fold 1/2: no GPU: this recipe will take about 12 s")
    assert any(line.startswith("fold 2/2: epoch 12/12") for line in lines)
