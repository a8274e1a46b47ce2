"""Spectrogram images and playable audio for one clip, rendered on first request and cached on
disk under `RUN/explorer-cache/` so that scrolling back is free."""

from __future__ import annotations

import hashlib
import io
import mimetypes
import os
import tempfile
from pathlib import Path
from typing import Callable

import numpy as np

from hark.data.audio import load_clip, write_wav
from hark.data.spectrogram import DISPLAY_RANGE, MelSettings, log_mel


class MediaCache:
    def __init__(self, data_root: Path, cache_dir: Path, sample_rate: int = 16000,
                 front_end: MelSettings | None = None):
        self.data_root = Path(data_root).resolve()
        self.cache_dir = Path(cache_dir)
        self.sample_rate = sample_rate
        self.front_end = front_end or MelSettings.for_rate(sample_rate)  # the model's: MelSettings.of_run

    def _cached(self, kind: str, path: str, suffix: str) -> Path:
        digest = hashlib.sha1(path.encode()).hexdigest()
        return self.cache_dir / kind / digest[:2] / f"{digest}{suffix}"

    def source_file(self, path: str) -> Path | None:
        """The file behind a clip path, or None if it would leave the dataset root (a
        defence in depth: callers already only accept paths listed in clips.parquet)."""
        file = (self.data_root / path.split("#", 1)[0]).resolve()
        return file if file.is_relative_to(self.data_root) else None

    def spectrogram_png(self, path: str) -> Path:
        """Log-mel spectrogram as a PNG; raises AudioError for a clip that cannot be decoded."""
        target = self._cached("spectrograms", path, ".png")
        if not target.exists():
            wave = load_clip(self.data_root, path, self.sample_rate, None)
            png = _render_png(wave, self.front_end)
            _atomic_write(target, lambda tmp: tmp.write_bytes(png))
        return target

    def audio_file(self, path: str) -> tuple[Path, str]:
        """A file the browser can play, with its content type. Whole files are served as they
        are; a `path#N` window is cut out once into a cached WAV."""
        if "#" not in path:
            file = self.source_file(path)
            media_type = mimetypes.guess_type(file.name)[0] or "application/octet-stream"
            return file, "audio/wav" if file.suffix.lower() == ".wav" else media_type
        target = self._cached("windows", path, ".wav")
        if not target.exists():
            wave = load_clip(self.data_root, path, self.sample_rate, None)
            _atomic_write(target, lambda tmp: write_wav(tmp, wave, self.sample_rate))
        return target, "audio/wav"


def warm_up(sample_rate: int) -> None:
    """Pays the one-off import and filter-bank costs before the first card asks for an image."""
    _render_png(np.zeros(sample_rate, dtype=np.float32), MelSettings.for_rate(sample_rate))


def _render_png(wave: np.ndarray, front_end: MelSettings) -> bytes:
    from matplotlib.image import imsave  # renders without pyplot, so no GUI backend and thread-safe

    spectrum = log_mel(wave, front_end)
    loudest = float(spectrum.max())
    buffer = io.BytesIO()
    imsave(buffer, spectrum, cmap="magma", origin="lower", vmin=loudest - DISPLAY_RANGE, vmax=loudest, format="png")
    return buffer.getvalue()


def _atomic_write(target: Path, write: Callable[[Path], object]) -> None:
    """Two requests for the same clip may race; each writes a private file and renames it.
    The private name keeps the suffix, which tells soundfile the format."""
    target.parent.mkdir(parents=True, exist_ok=True)
    handle, name = tempfile.mkstemp(dir=target.parent, suffix=target.suffix)
    os.close(handle)
    try:
        write(Path(name))
        os.replace(name, target)
    finally:
        Path(name).unlink(missing_ok=True)
