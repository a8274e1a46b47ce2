"""TensorBoard for a run: curves, the validation confusion matrix and a few validation clips
with what the model heard in them. The step is the epoch number."""

from __future__ import annotations

from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
from torch.utils.tensorboard import SummaryWriter

from hark.train.confusion_plot import confusion_figure
from hark.train.loop import ValidationResult

CLIPS_SHOWN = 4  # validation clips logged with what the model heard in them


class TensorBoard:
    def __init__(self, log_dir: Path, first_epoch: int):
        # A resumed run drops what a killed process logged after its last checkpoint.
        self.writer = SummaryWriter(str(log_dir), purge_step=first_epoch)

    def log_epoch(self, epoch: int, row: dict, val: ValidationResult | None, labels: list[str],
                  clips: np.ndarray, clip_labels: np.ndarray, clip_paths: list[str], sample_rate: int) -> None:
        """`val` None: a run without validation clips logs the training curves only."""
        for tag, key in (("train/loss", "train_loss"), ("train/accuracy", "train_acc"), ("validation/loss", "val_loss"),
                         ("validation/accuracy", "val_acc"), ("validation/macro_f1", "val_macro_f1"),
                         ("learning_rate", "lr")):
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
            note = (f"{clip_paths[k]}: true **{labels[truth]}**, predicted **{labels[predicted]}** "
                    f"({val.probabilities[k, predicted]:.2f})")
            self.writer.add_audio(f"validation_clips/{k}", wave[None], epoch, sample_rate=sample_rate)
            self.writer.add_text(f"validation_clips/{k}", note, epoch)
        self.writer.flush()

    def close(self) -> None:
        self.writer.close()
