"""Confusion matrices as a labelled figure (TensorBoard during training), PNG and CSV files
(`hark evaluate`)."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # files only; never needs a display

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from hark.fileio import atomic_write  # noqa: E402


def confusion_figure(matrix: np.ndarray, labels: list[str], title: str = "") -> plt.Figure:
    """Rows are true classes, columns predicted; colour is the row-normalised rate so that
    rare classes stay visible, the text is the raw count. Training logs this to TensorBoard."""
    n = len(labels)
    size = max(4.0, 0.32 * n + 2.0)
    fig, ax = plt.subplots(figsize=(size + 1.0, size))
    rates = matrix / np.maximum(matrix.sum(axis=1, keepdims=True), 1)
    image = ax.imshow(rates, cmap="Blues", vmin=0.0, vmax=1.0)
    fig.colorbar(image, ax=ax, fraction=0.046, pad=0.04, label="fraction of the true class")
    ax.set_xticks(range(n), labels, rotation=90, fontsize=7 if n > 15 else 9)
    ax.set_yticks(range(n), labels, fontsize=7 if n > 15 else 9)
    ax.set_xlabel("predicted label")
    ax.set_ylabel("true label")
    if title:
        ax.set_title(title)
    font = 5 if n > 25 else 7 if n > 12 else 9
    for (row, col), count in np.ndenumerate(matrix):
        if count:
            ax.text(
                col,
                row,
                str(int(count)),
                ha="center",
                va="center",
                fontsize=font,
                color="white" if rates[row, col] > 0.5 else "black",
            )
    fig.tight_layout()
    return fig


def save_confusion(matrix: np.ndarray, labels: list[str], png: Path, csv: Path, title: str = "") -> None:
    frame = pd.DataFrame(matrix, index=pd.Index(labels, name="true\\predicted"), columns=labels)
    atomic_write(csv, frame.to_csv)
    fig = confusion_figure(matrix, labels, title)
    try:
        atomic_write(png, lambda temporary: fig.savefig(temporary, dpi=120, format="png"))
    finally:
        plt.close(fig)
