"""PNG plots of `hark check`. Figures are drawn with matplotlib's object API on the Agg
canvas, so no GUI backend or global pyplot state is involved (safe in servers and workers)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from hark.data.spectrogram import DISPLAY_RANGE, MelSettings, log_mel
from hark.fileio import atomic_write
from hark.schema import SPLITS, TEST, TRAIN, VALIDATION

DPI = 80
SPLIT_COLORS = {TRAIN: "#4c72b0", VALIDATION: "#dd8452", TEST: "#55a868"}
LABEL_WIDTH = 0.6  # preview cells are 1 unit wide; class names take this much on the left


def _save(figure: Figure, path: Path) -> Path:
    """Written beside `path` and renamed into place; a full disk is an OutputError naming it."""
    FigureCanvasAgg(figure)
    return atomic_write(path, lambda temporary: figure.savefig(temporary, dpi=DPI, format="png"))


def plot_lengths(seconds: list[float], target_seconds: float, path: Path) -> Path:
    """Histogram of clip durations, with the clip length the network takes marked."""
    figure = Figure(figsize=(8, 4), layout="constrained")
    axes = figure.add_subplot()
    top = max([target_seconds * 1.25, *seconds]) if seconds else target_seconds * 1.25
    axes.hist(seconds, bins=np.linspace(0, top, 61), color=SPLIT_COLORS[TRAIN])
    axes.axvline(target_seconds, color="black", linestyle="--", label=f"clip length {target_seconds:g} s")
    axes.set(xlabel="duration (s)", ylabel="files", title=f"Clip lengths ({len(seconds)} files)")
    axes.legend()
    return _save(figure, path)


def plot_classes(counts: dict[str, dict[str, int]], labels: list[str], path: Path) -> Path:
    """One horizontal bar per class, split into train/validation/test."""
    height = min(max(3.0, 1.5 + 0.22 * len(labels)), 60)  # past a few hundred classes, bars get thin instead
    figure = Figure(figsize=(8, height), layout="constrained")
    axes = figure.add_subplot()
    positions = np.arange(len(labels))
    left = np.zeros(len(labels))
    for split in SPLITS:
        values = np.array([counts.get(split, {}).get(label, 0) for label in labels])
        if values.any():
            axes.barh(positions, values, left=left, color=SPLIT_COLORS[split], label=split)
            left += values
    axes.set_yticks(positions, labels, fontsize=8)
    axes.invert_yaxis()
    axes.set(xlabel="clips", title=f"Clips per class ({int(left.sum())} clips, {len(labels)} classes)")
    axes.legend(loc="lower right")
    return _save(figure, path)


def plot_preview(rows: list[tuple[str, list[tuple[str, np.ndarray]]]], settings: MelSettings, path: Path) -> Path:
    """One row per class: waveform and log-mel of each preprocessed clip (all of one length),
    on one colour scale so that quiet and loud clips look quiet and loud. Everything is drawn
    into a single borderless axes, a cell per unit: a grid of real axes takes a minute to lay out."""
    per_row = max([len(clips) for _, clips in rows] + [1])
    figure = Figure(figsize=(1.4 + 2.4 * 2 * per_row, 0.5 + 1.0 * max(len(rows), 1)))
    axes = figure.add_axes((0, 0, 1, 1 - 0.4 / figure.get_figheight()))
    waves = [wave for _, clips in rows for _, wave in clips]
    spectra = log_mel(np.stack(waves), settings) if waves else np.zeros((0, settings.n_mels, 1))
    loudest = float(spectra.max()) if waves else 0.0
    cell = 0
    for r, (label, clips) in enumerate(rows):
        top, bottom = -r - 0.18, -r - 0.95  # the cells' drawing area; their titles sit above
        middle, half = (top + bottom) / 2, (top - bottom) / 2
        axes.text(-LABEL_WIDTH + 0.05, middle, label, fontsize=9, fontweight="bold", va="center")
        if not clips:
            axes.text(0.05, middle, "no decodable clip", fontsize=8, va="center", color="#aa0000")
        for c, (clip_path, wave) in enumerate(clips):
            left = 2 * c
            axes.text(left + 0.02, -r - 0.04, clip_path, fontsize=6, va="top")
            low, high = _envelope(wave)
            xs = np.linspace(left, left + 0.95, len(low))
            axes.fill_between(xs, middle + half * low, middle + half * high, color="#333333", linewidth=0.3)
            axes.imshow(
                spectra[cell],
                origin="lower",
                aspect="auto",
                cmap="magma",
                interpolation="nearest",
                extent=(left + 1, left + 1.95, bottom, top),
                vmin=loudest - DISPLAY_RANGE,
                vmax=loudest,
            )
            cell += 1
    axes.set_xlim(-LABEL_WIDTH, 2 * per_row)
    axes.set_ylim(-max(len(rows), 1), 0)
    axes.set_axis_off()
    figure.suptitle(
        f"What the network sees: {settings.sample_rate} Hz, waveform and {settings.n_mels}-band log-mel "
        "(one colour scale for all)",
        fontsize=10,
        y=1 - 0.1 / figure.get_figheight(),
        va="top",
    )
    return _save(figure, path)


def _envelope(wave: np.ndarray, columns: int = 300) -> tuple[np.ndarray, np.ndarray]:
    """Per-column minimum and maximum: what a line through every sample would show, at a
    fraction of the drawing cost (a tail shorter than a column is left out)."""
    width = max(len(wave) // columns, 1)
    blocks = wave[: len(wave) // width * width].reshape(-1, width)
    return blocks.min(axis=1), blocks.max(axis=1)
