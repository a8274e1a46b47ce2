"""Reading and shaping audio. Every failure names the file and what is wrong with it."""

from __future__ import annotations

import hashlib
import os
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import soundfile as sf
import soxr

from hark.errors import AudioError


@contextmanager
def _reading(path: str | Path, what: str):
    """Turn every way a file can fail to open into an AudioError naming it."""
    try:
        if os.stat(path).st_size == 0:
            raise AudioError(path, "zero-length file")
        yield
    except FileNotFoundError:
        raise AudioError(path, "file not found") from None
    except (sf.LibsndfileError, RuntimeError, ValueError) as err:
        raise AudioError(path, f"{what} ({err})") from None


def read_audio(path: str | Path, start: int = 0, frames: int = -1) -> tuple[np.ndarray, int]:
    """Decode `path` to mono float32 in [-1, 1] at its own rate (channels are averaged)."""
    with _reading(path, "cannot decode audio"):
        data, rate = sf.read(os.fspath(path), start=start, frames=frames, dtype="float32", always_2d=True)
    if data.shape[0] == 0:
        raise AudioError(path, "no audio frames")
    return data.mean(axis=1), int(rate)


def audio_info(path: str | Path) -> tuple[int, int]:
    """(frames, sample_rate) from the header alone, without decoding: fast enough to index a
    hundred thousand clips (hence plain strings, no pathlib, on this path)."""
    path = os.fspath(path)
    with _reading(path, "unreadable audio header"), sf.SoundFile(path) as handle:
        return int(handle.frames), int(handle.samplerate)


def resample(wave: np.ndarray, rate: int, target_rate: int) -> np.ndarray:
    if rate == target_rate:
        return wave
    return soxr.resample(wave, rate, target_rate, quality="HQ").astype(np.float32, copy=False)


def pad_or_crop(wave: np.ndarray, length: int) -> np.ndarray:
    """Zero-pad at the end or keep the first `length` samples, as the reference recipes do."""
    if len(wave) >= length:
        return wave[:length]
    return np.pad(wave, (0, length - len(wave)))


def load_clip(root: str | Path, path: str, sample_rate: int = 16000, num_samples: int | None = 16000) -> np.ndarray:
    """The clip `path` (relative to `root`, maybe with a `#offset` window) as the network sees
    its input: mono, at `sample_rate`, padded/cropped to `num_samples` (None keeps its length)."""
    file, _, offset = path.partition("#")
    full = Path(root) / file
    if offset:
        info = sf.info(str(full))
        start = int(offset)
        frames = int(round((num_samples or sample_rate) * info.samplerate / sample_rate))
        wave, rate = read_audio(full, start=start, frames=frames)
    else:
        wave, rate = read_audio(full)
    wave = resample(wave, rate, sample_rate)
    return wave if num_samples is None else pad_or_crop(wave, num_samples)


def content_hash(wave: np.ndarray) -> str:
    """The identity of a recording: a hash of its samples at the file's own rate, rounded to
    16 bits, so that the same audio renamed, re-encoded (16-bit, 24-bit, float) or stored twice
    matches, and `hark check` and `hark analyze` name the same duplicates."""
    samples = np.clip(np.round(np.asarray(wave, dtype=np.float64) * 32768), -32768, 32767).astype(np.int16)
    return hashlib.blake2b(samples.tobytes(), digest_size=12).hexdigest()


def clip_content_hash(root: str | Path, path: str) -> str:
    """`content_hash` of the clip `path` at its file's own rate (a `#offset` window: its 1 s)."""
    if "#" not in path:
        return content_hash(read_audio(Path(root) / path)[0])
    _, rate = audio_info(Path(root) / path.partition("#")[0])
    return content_hash(load_clip(root, path, rate, rate))


def write_wav(path: str | Path, wave: np.ndarray, sample_rate: int = 16000) -> None:
    """16-bit PCM WAV, the Speech Commands format."""
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    sf.write(str(path), np.clip(wave, -1.0, 1.0), sample_rate, subtype="PCM_16")
