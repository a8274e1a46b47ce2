"""Sliding-window prediction on long audio that computes the log-mel front end once per file.

Today's path cuts a model-sized window every hop and runs the whole model, front end included,
on each: at a 100 ms hop every sample goes through the STFT ten times. Here the log-mel of the
whole file is computed once and each window's network input is a slice of it, which is exact
for every frame but the ~1.5 frames at each window edge: a window cut from the file pads its
edge frames with zeros, a slice of the whole file's frames sees the real neighbouring audio
(what a live stream sees). Models without a log-mel front end (M5 reads raw samples), and hops
that are not a whole number of front-end frames, use the window-by-window path."""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from hark.evaluate.inference import Predictor
from hark.features.logmel import LogMel


def log_mel_front_end(model: nn.Module) -> LogMel | None:
    """The model's own `LogMel` when it is the first layer of `model.features`, else None."""
    features = getattr(model, "features", None)
    first = features[0] if isinstance(features, nn.Sequential) and len(features) else None
    return first if isinstance(first, LogMel) else None


class StreamingPredictor(Predictor):
    """A `Predictor` whose long-audio windows share one front-end pass."""

    def sliding(self, wave: np.ndarray, hop_seconds: float) -> tuple[np.ndarray, np.ndarray]:
        front = log_mel_front_end(self.model)
        hop = max(1, int(round(hop_seconds * self.sample_rate)))
        if front is None or hop % front.hop_length or self.num_samples % front.hop_length:
            return super().sliding(wave, hop_seconds)
        frame_hop, window_frames = hop // front.hop_length, 1 + self.num_samples // front.hop_length
        last = (len(wave) - self.num_samples) // front.hop_length  # the end-aligned window, on the frame grid
        firsts = list(range(0, last + 1, frame_hop))
        if firsts[-1] != last:
            firsts.append(last)
        with torch.inference_mode():
            frames = front(torch.from_numpy(np.ascontiguousarray(wave, dtype=np.float32))[None].to(self.device))[0]
        probs = self._body_probabilities(frames, firsts, window_frames)
        return np.asarray(firsts) * front.hop_length / self.sample_rate, probs

    def _body_probabilities(
        self, frames: torch.Tensor, firsts: list[int], width: int, batch_size: int = 64
    ) -> np.ndarray:
        """Softmax of the network after its front end, fed log-mel windows; `features` is the
        front end (LogMel, then SpecAugment, a no-op in eval mode), bypassed for the call."""
        features, out = self.model.features, []
        self.model.features = nn.Identity()
        try:
            with torch.inference_mode():
                for start in range(0, len(firsts), batch_size):
                    batch = torch.stack(
                        [frames[:, first : first + width] for first in firsts[start : start + batch_size]]
                    )
                    out.append(torch.softmax(self.model(batch).float(), dim=1).cpu())
        finally:
            self.model.features = features
        return torch.cat(out).numpy()
