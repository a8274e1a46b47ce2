"""A trained run as a word spotter: top-k words for a clip, detections with times in longer audio."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from hark.data.audio import pad_or_crop, read_audio, resample
from hark.schema import NOT_WORDS
from hark.train.devices import torch_device
from hark.train.run import load_trained


@dataclass
class Detection:
    label: str
    start: float  # seconds: start of the first window that heard the word
    end: float  # seconds: end of the last one
    peak: float  # seconds: centre of the most confident window, the best single time estimate
    probability: float


@dataclass
class FileResult:
    path: str
    duration: float
    top: list[tuple[str, float]]
    detections: list[Detection] | None = None  # None: one window, nothing to locate


@dataclass
class Predictor:
    """A model in evaluation mode with the input it expects: `num_samples` at `sample_rate`."""

    model: torch.nn.Module
    labels: list[str]
    sample_rate: int
    num_samples: int
    device: torch.device = torch.device("cpu")

    def __post_init__(self) -> None:
        self.model = self.model.to(self.device).eval()

    @classmethod
    def from_run(cls, run_dir: str | Path, checkpoint: str = "best", device: str = "auto") -> Predictor:
        trained = load_trained(Path(run_dir), checkpoint=checkpoint)
        data = trained.config.data
        return cls(trained.model, list(trained.labels), data.sample_rate, data.num_samples, torch_device(device))

    @property
    def window_seconds(self) -> float:
        return self.num_samples / self.sample_rate

    def probabilities(self, waves: np.ndarray, batch_size: int = 64) -> np.ndarray:
        """Softmax over the classes for each row of `waves` ([N, num_samples])."""
        out = []
        with torch.inference_mode():
            for start in range(0, len(waves), batch_size):
                batch = torch.from_numpy(np.ascontiguousarray(waves[start : start + batch_size], dtype=np.float32))
                out.append(torch.softmax(self.model(batch.to(self.device)).float(), dim=1).cpu())
        return torch.cat(out).numpy() if out else np.zeros((0, len(self.labels)), np.float32)

    def load(self, path: str | Path) -> np.ndarray:
        """Mono at the model's rate, whatever the file's rate and channel count."""
        wave, rate = read_audio(path)
        return resample(wave, rate, self.sample_rate)

    def sliding(self, wave: np.ndarray, hop_seconds: float) -> tuple[np.ndarray, np.ndarray]:
        """Window start times (s) and class probabilities of model-sized windows every hop;
        the last window is aligned to the end so that the tail is never missed."""
        hop = max(1, int(round(hop_seconds * self.sample_rate)))
        starts = list(range(0, len(wave) - self.num_samples + 1, hop))
        if starts[-1] + self.num_samples < len(wave):
            starts.append(len(wave) - self.num_samples)
        windows = np.lib.stride_tricks.sliding_window_view(wave, self.num_samples)[starts]
        return np.asarray(starts) / self.sample_rate, self.probabilities(windows)

    def predict_file(
        self, path: str | Path, top_k: int = 3, hop_seconds: float = 0.25, threshold: float = 0.5
    ) -> FileResult:
        wave = self.load(path)
        duration = len(wave) / self.sample_rate
        if len(wave) <= self.num_samples:
            probs = self.probabilities(pad_or_crop(wave, self.num_samples)[None])[0]
            return FileResult(str(path), duration, top_words(probs, self.labels, top_k))
        starts, probs = self.sliding(wave, hop_seconds)
        # For long audio the summary is each word's best window; the detections carry the times.
        top = top_words(probs.max(axis=0), self.labels, top_k)
        return FileResult(str(path), duration, top, detect(starts, probs, self.labels, self.window_seconds, threshold))


def top_words(probs: np.ndarray, labels: list[str], k: int) -> list[tuple[str, float]]:
    order = np.argsort(-probs, kind="stable")[:k]
    return [(labels[i], float(probs[i])) for i in order]


def detect(
    starts: np.ndarray,
    probs: np.ndarray,
    labels: list[str],
    window_seconds: float,
    threshold: float = 0.5,
    ignore: tuple[str, ...] = NOT_WORDS,
) -> list[Detection]:
    """A window detects its most likely word when that word is above `threshold` and is a real
    word; consecutive windows detecting the same word are one detection."""
    words = np.array([label not in ignore for label in labels])
    masked = np.where(words[None, :], probs, -1.0)
    best = masked.argmax(axis=1)
    best_prob = masked[np.arange(len(best)), best]
    detections: list[Detection] = []
    run_start = None
    for i in range(len(starts) + 1):
        hit = i < len(starts) and best_prob[i] > threshold
        continues = hit and run_start is not None and best[i] == best[run_start]
        if run_start is not None and not continues:
            span = slice(run_start, i)
            peak = run_start + int(np.argmax(best_prob[span]))
            detections.append(
                Detection(
                    label=labels[best[run_start]],
                    start=float(starts[run_start]),
                    end=float(starts[i - 1] + window_seconds),
                    peak=float(starts[peak] + window_seconds / 2),
                    probability=float(best_prob[peak]),
                )
            )
            run_start = None
        if hit and run_start is None:
            run_start = i
    return detections
