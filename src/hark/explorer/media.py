"""Spectrogram images, waveforms and playable audio for one clip. Images are rendered on first
request and cached on disk under `RUN/explorer-cache/`, keyed by the data root and the source
file's identity (path, size, modification time), so a new `--data` or a re-recorded file is
never shown with a stale picture."""

from __future__ import annotations

import hashlib
import io
import mimetypes
from pathlib import Path

import numpy as np

from hark.data.audio import load_clip
from hark.data.spectrogram import DISPLAY_RANGE, MelSettings, log_mel
from hark.errors import AudioError
from hark.fileio import atomic_write

WAVEFORM_POINTS = 600  # min/max pairs: enough for a detail view's width


class MediaCache:
    def __init__(
        self, data_root: Path, cache_dir: Path, sample_rate: int = 16000, front_end: MelSettings | None = None
    ):
        self.data_root = Path(data_root).resolve()
        self.cache_dir = Path(cache_dir)
        self.sample_rate = sample_rate
        self.front_end = front_end or MelSettings.for_rate(sample_rate)  # the model's: MelSettings.of_run

    def _cached(self, kind: str, path: str, suffix: str) -> Path:
        file = self.source_file(path)
        try:
            stat = file.stat()
        except OSError:
            raise AudioError(path, "file not found") from None
        identity = f"{self.data_root}\0{path}\0{stat.st_size}\0{stat.st_mtime_ns}\0{self.front_end}"
        digest = hashlib.sha1(identity.encode()).hexdigest()
        return self.cache_dir / kind / digest[:2] / f"{digest}{suffix}"

    def source_file(self, path: str) -> Path | None:
        """The file behind a clip path, or None if it would leave the dataset root (a
        defence in depth: callers already only accept paths listed in clips.parquet)."""
        file = (self.data_root / path.split("#", 1)[0]).resolve()
        return file if file.is_relative_to(self.data_root) else None

    def wave(self, path: str) -> np.ndarray:
        if not self.source_file(path).is_file():
            raise AudioError(path, "file not found")
        return load_clip(self.data_root, path, self.sample_rate, None)

    def spectrogram_png(self, path: str) -> Path:
        """Log-mel spectrogram as a PNG; raises AudioError for a clip that cannot be decoded."""
        target = self._cached("spectrograms", path, ".png")
        if not target.exists():
            png = _render_png(self.wave(path), self.front_end)
            target.parent.mkdir(parents=True, exist_ok=True)
            atomic_write(target, lambda tmp: tmp.write_bytes(png))
        return target

    def audio(self, path: str) -> tuple[Path | bytes, str]:
        """What the browser plays, with its content type: a whole file as it is, or a `path#N`
        window cut out as WAV bytes (one second of audio: cheaper to cut than to cache)."""
        if "#" not in path:
            file = self.source_file(path)
            if not file.is_file():
                raise AudioError(path, "file not found")
            media_type = mimetypes.guess_type(file.name)[0] or "application/octet-stream"
            return file, "audio/wav" if file.suffix.lower() == ".wav" else media_type
        import soundfile as sf

        buffer = io.BytesIO()
        sf.write(buffer, np.clip(self.wave(path), -1.0, 1.0), self.sample_rate, format="WAV", subtype="PCM_16")
        return buffer.getvalue(), "audio/wav"

    def waveform(self, path: str) -> dict:
        """Duration, min/max envelope and the spectrogram's frequency axis, for the detail view."""
        wave = self.wave(path)
        chunks = np.array_split(wave, min(WAVEFORM_POINTS, max(1, len(wave))))
        return {
            "duration": len(wave) / self.sample_rate,
            "min": [round(float(c.min()), 4) for c in chunks],
            "max": [round(float(c.max()), 4) for c in chunks],
            "mel_hz": mel_band_hz(self.front_end).tolist(),
        }


def mel_band_hz(front_end: MelSettings) -> np.ndarray:
    """Centre frequency (Hz) of each image row, bottom to top."""
    import librosa

    edges = librosa.mel_frequencies(
        front_end.n_mels + 2, fmin=front_end.f_min, fmax=front_end.f_max or front_end.sample_rate / 2
    )
    return np.round(edges[1:-1], 1)


def warm_up(front_end: MelSettings) -> None:
    """Pays the one-off import and filter-bank costs (cached per setting) before the first card
    asks for an image drawn with the same front end."""
    _render_png(np.zeros(front_end.sample_rate, dtype=np.float32), front_end)


def _render_png(wave: np.ndarray, front_end: MelSettings) -> bytes:
    from matplotlib.image import imsave  # renders without pyplot, so no GUI backend and thread-safe

    spectrum = log_mel(wave, front_end)
    loudest = float(spectrum.max())
    buffer = io.BytesIO()
    imsave(buffer, spectrum, cmap="magma", origin="lower", vmin=loudest - DISPLAY_RANGE, vmax=loudest, format="png")
    return buffer.getvalue()
