"""Spectrogram images, waveforms and playable audio for one clip. Images are rendered on first
request and cached on disk under `RUN/explorer-cache/`, keyed by the data root and the source
file's identity (path, size, modification time), so a new `--data` or a re-recorded file is
never shown with a stale picture."""

from __future__ import annotations

import functools
import hashlib
import io
import mimetypes
from pathlib import Path

import numpy as np

from hark.data.audio import load_clip
from hark.errors import AudioError
from hark.fileio import atomic_write

N_MELS = 64
N_FFT = 512
HOP = 160  # 10 ms at 16 kHz: one image column per 10 ms
FLOOR_DB = -80.0
WAVEFORM_POINTS = 600  # min/max pairs: enough for a detail view's width


class MediaCache:
    def __init__(self, data_root: Path, cache_dir: Path, sample_rate: int = 16000):
        self.data_root = Path(data_root).resolve()
        self.cache_dir = Path(cache_dir)
        self.sample_rate = sample_rate

    def _cached(self, kind: str, path: str, suffix: str) -> Path:
        file = self.source_file(path)
        try:
            stat = file.stat()
        except OSError:
            raise AudioError(path, "file not found") from None
        identity = f"{self.data_root}\0{path}\0{stat.st_size}\0{stat.st_mtime_ns}"
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
            png = _render_png(self.wave(path), self.sample_rate)
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
        return {"duration": len(wave) / self.sample_rate,
                "min": [round(float(c.min()), 4) for c in chunks], "max": [round(float(c.max()), 4) for c in chunks],
                "mel_hz": mel_band_hz(self.sample_rate).tolist()}


@functools.lru_cache(maxsize=4)
def mel_filters(sample_rate: int) -> np.ndarray:
    """Built once per rate; the first call costs seconds (librosa's lazy imports)."""
    import librosa

    return librosa.filters.mel(sr=sample_rate, n_fft=N_FFT, n_mels=N_MELS).astype(np.float32)


def mel_band_hz(sample_rate: int) -> np.ndarray:
    """Centre frequency (Hz) of each image row, bottom to top."""
    import librosa

    return np.round(librosa.mel_frequencies(N_MELS + 2, fmax=sample_rate / 2)[1:-1], 1)


def warm_up(sample_rate: int) -> None:
    """Pays the one-off import and filter-bank costs before the first card asks for an image."""
    _render_png(np.zeros(sample_rate, dtype=np.float32), sample_rate)


def log_mel_db(wave: np.ndarray, sample_rate: int) -> np.ndarray:
    """[N_MELS, frames] log-mel power in dB relative to the clip's peak."""
    # A plain framed FFT: librosa.stft would pull in numba compilation on the first request.
    padded = np.pad(wave, N_FFT // 2)
    if len(padded) < N_FFT:
        padded = np.pad(padded, (0, N_FFT - len(padded)))
    frames = np.lib.stride_tricks.sliding_window_view(padded, N_FFT)[::HOP]
    power = np.abs(np.fft.rfft(frames * np.hanning(N_FFT), axis=1)) ** 2
    mel = mel_filters(sample_rate) @ power.T
    return 10 * np.log10(np.maximum(mel, 1e-10) / max(mel.max(), 1e-10))


def _render_png(wave: np.ndarray, sample_rate: int) -> bytes:
    from matplotlib.image import imsave  # renders without pyplot, so no GUI backend and thread-safe

    db = log_mel_db(wave, sample_rate)
    buffer = io.BytesIO()
    imsave(buffer, np.maximum(db, FLOOR_DB), cmap="magma", origin="lower", vmin=FLOOR_DB, vmax=0.0, format="png")
    return buffer.getvalue()
