"""TensorBoard: the HParams record (recipe + final metrics) and the Projector's labelled
validation embeddings, written at the end of training."""

from __future__ import annotations

import csv


def test_hparams_and_projector(tmp_path):
    from conftest import make_fake_speech_commands, train_run
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    data = make_fake_speech_commands(tmp_path / "sc", words=("yes", "no", "up"), speakers=6, utterances=2, seed=2)
    run = train_run(data, tmp_path / "run", 1)
    events = EventAccumulator(str(run / "tensorboard"))
    events.Reload()
    hparams = events.PluginTagToContent("hparams")
    assert {"_hparams_/experiment", "_hparams_/session_start_info"} <= set(hparams)
    assert b"optim.lr" in hparams["_hparams_/session_start_info"]
    assert {"hparam/val_macro_f1", "hparam/best_val_macro_f1"} <= set(events.Tags()["scalars"])
    config = (run / "tensorboard" / "projector_config.pbtxt").read_text()
    assert "validation" in config and "metadata.tsv" in config
    metadata = next((run / "tensorboard").rglob("metadata.tsv"))
    rows = list(csv.reader(metadata.open(), delimiter="\t"))
    assert rows[0] == ["label", "path"] and len(rows) > 1
    assert {r[0] for r in rows[1:]} <= {"yes", "no", "up"}
    tensors = next((run / "tensorboard").rglob("tensors.tsv")).read_text().splitlines()
    assert len(tensors) == len(rows) - 1
