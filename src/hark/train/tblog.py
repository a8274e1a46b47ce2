"""TensorBoard for a run: curves, the validation confusion matrix and a few validation clips
with what the model heard in them, and at the end the recipe with its final metrics (HParams
tab, so that runs compare side by side) and the validation clips' penultimate embeddings with
their labels (Projector tab). The step is the epoch number."""

from __future__ import annotations

from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import torch
from torch.utils.tensorboard import SummaryWriter

from hark.train.confusion_plot import confusion_figure
from hark.models.embedding import logits_and_embeddings
from hark.train.loop import ValidationResult

CLIPS_SHOWN = 4  # validation clips logged with what the model heard in them
PROJECTED_CLIPS = 2000  # validation clips in the Projector; its browser view slows beyond a few thousand
PROJECTION_BATCH = 256
FINAL_METRICS = ("train_loss", "train_acc", "val_loss", "val_acc", "val_macro_f1")


class TensorBoard:
    def __init__(self, log_dir: Path, first_epoch: int):
        # A resumed run drops what a killed process logged after its last checkpoint.
        self.writer = SummaryWriter(str(log_dir), purge_step=first_epoch)

    def log_epoch(
        self,
        epoch: int,
        row: dict,
        val: ValidationResult | None,
        labels: list[str],
        clips: np.ndarray,
        clip_labels: np.ndarray,
        clip_paths: list[str],
        sample_rate: int,
    ) -> None:
        """`val` None: a run without validation clips logs the training curves only."""
        for tag, key in (
            ("train/loss", "train_loss"),
            ("train/accuracy", "train_acc"),
            ("validation/loss", "val_loss"),
            ("validation/accuracy", "val_acc"),
            ("validation/macro_f1", "val_macro_f1"),
            ("learning_rate", "lr"),
        ):
            if row[key] is not None:
                self.writer.add_scalar(tag, row[key], epoch)
        if val is None:
            self.writer.flush()
            return
        figure = confusion_figure(val.confusion, labels, f"validation, epoch {epoch}")
        self.writer.add_figure("validation/confusion", figure, epoch)
        plt.close(figure)
        for k, (wave, truth) in enumerate(zip(clips, clip_labels, strict=True)):
            predicted = int(val.predictions[k])
            note = (
                f"{clip_paths[k]}: true **{labels[truth]}**, predicted **{labels[predicted]}** "
                f"({val.probabilities[k, predicted]:.2f})"
            )
            self.writer.add_audio(f"validation_clips/{k}", wave[None], epoch, sample_rate=sample_rate)
            self.writer.add_text(f"validation_clips/{k}", note, epoch)
        self.writer.flush()

    def log_end(
        self,
        config: dict,
        last: dict,
        best_macro_f1: float,
        model: torch.nn.Module,
        val_set,
        labels: list[str],
        epoch: int,
        device: torch.device,
    ) -> None:
        """HParams: the recipe (`config`, {section: {field: value}}) with the last epoch's metrics
        (`last`, a history row); Projector: the validation clips' embeddings, labelled."""
        hparams = {
            f"{section}.{key}": value if isinstance(value, (int, float, str, bool)) else str(value)
            for section, fields in config.items()
            for key, value in fields.items()
        }
        # A run without validation has no validation metrics (None in its history row).
        final = {f"hparam/{key}": float(last[key]) for key in FINAL_METRICS if last.get(key) is not None}
        if last.get("val_macro_f1") is not None:
            final["hparam/best_val_macro_f1"] = best_macro_f1
        # run_name "." keeps the HParams record in this run's folder instead of a timestamped sub-folder.
        self.writer.add_hparams(hparams, final, run_name=".")
        shown = np.arange(min(PROJECTED_CLIPS, len(val_set)))
        if not len(shown):
            return
        waves = val_set.waves(shown)
        batches = (
            torch.from_numpy(np.ascontiguousarray(waves[start : start + PROJECTION_BATCH])).to(device)
            for start in range(0, len(waves), PROJECTION_BATCH)
        )
        embeddings = torch.cat([e for _, e in logits_and_embeddings(model, batches)])
        metadata = [
            [labels[int(i)], val_set.examples[k].path] for k, i in zip(shown, val_set.labels[shown], strict=True)
        ]
        self.writer.add_embedding(
            embeddings, metadata=metadata, metadata_header=["label", "path"], global_step=epoch, tag="validation"
        )
        self.writer.flush()

    def close(self) -> None:
        self.writer.close()
