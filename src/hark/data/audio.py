"""Reading and shaping audio. Every failure names the file and what is wrong with it."""

from __future__ import annotations

import hashlib
import os
import re
import stat
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import soundfile as sf
import soxr

from hark.errors import AudioError
from hark.schema import WINDOW_MARK, window_of


class TruncatedAudio(AudioError):
    """The file holds fewer frames than its header declares."""


class NonFiniteAudio(AudioError):
    """Decoded samples include NaN or infinity (a float WAV written from a broken computation)."""

    def __init__(self, path: str | Path):
        super().__init__(path, "non-finite samples (NaN or infinity)")


# How many leading bytes of an unreadable file its message quotes.
HEAD_BYTES = 16
# libsndfile's log line for a WAV data chunk whose size disagrees with the file.
_SHORT_DATA_CHUNK = re.compile(r"^data : (\d+) \(should be (\d+)\)", re.MULTILINE)


@contextmanager
def _reading(path: str | Path, what: str):
    """Turn every way a file can fail to open into an AudioError naming it."""
    try:
        mode = os.stat(path)
        if stat.S_ISDIR(mode.st_mode):
            raise AudioError(path, "a folder, not an audio file")
        if not stat.S_ISREG(mode.st_mode):
            raise AudioError(path, "not a regular file (a pipe or a device?)")
        if mode.st_size == 0:
            raise AudioError(path, "zero-length file")
        yield
    except FileNotFoundError:
        raise AudioError(path, "file not found") from None
    except sf.LibsndfileError as err:
        raise AudioError(path, f"{what} ({_not_audio(path) if _at_open(err) else err})") from None
    except (RuntimeError, ValueError) as err:
        raise AudioError(path, f"{what} ({err})") from None


def _at_open(err: sf.LibsndfileError) -> bool:
    """libsndfile found no decoder for the content (1: unrecognised format; 7: what it says when
    the decoder chosen by the suffix, such as MP3's, rejects the content)."""
    return err.code in (1, 7)


def _not_audio(path: str | Path) -> str:
    try:
        with open(path, "rb") as handle:
            head = handle.read(HEAD_BYTES)
    except OSError as err:  # not readable at all (permissions): that is the problem then
        return f"cannot open it ({err.strerror or err})"
    kind = Path(path).suffix.lstrip(".").upper() or "audio"
    return f"its content is not {kind} audio nor another format libsndfile reads; it begins with {head!r}"


def _check_complete(path: str | Path, header) -> None:
    """A WAV file whose data chunk declares more bytes than the file holds was cut short (a
    copy or a download that stopped). libsndfile then reads the shorter clip without a word,
    but notes the mismatch in its log. `header`: an open `sf.SoundFile` or `sf.info`'s result."""
    if header.format != "WAV":
        return
    found = _SHORT_DATA_CHUNK.search(header.extra_info)
    if found is None:
        return
    declared_bytes, held_bytes = map(int, found.groups())
    if declared_bytes > held_bytes > 0:
        declared, rate = round(header.frames * declared_bytes / held_bytes), header.samplerate
        raise TruncatedAudio(
            path,
            f"truncated: the header declares {declared} frames ({declared / rate:.2f} s), "
            f"the file holds {header.frames} ({header.frames / rate:.2f} s)",
        )


def _decode(path: str | Path, handle: sf.SoundFile, start: int, frames: int) -> np.ndarray:
    _check_complete(path, handle)
    if start:
        handle.seek(start)
    return handle.read(frames, dtype="float32", always_2d=True)


def _mono(path: str | Path, data: np.ndarray) -> np.ndarray:
    if not np.isfinite(data).all():
        raise NonFiniteAudio(path)
    return data.mean(axis=1)


def read_audio(path: str | Path, start: int = 0, frames: int = -1) -> tuple[np.ndarray, int]:
    """Decode `path` to mono float32 in [-1, 1] at its own rate (channels are averaged)."""
    with _reading(path, "cannot decode audio"), sf.SoundFile(os.fspath(path)) as handle:
        data = _decode(path, handle, start, frames)
        rate = handle.samplerate
    if data.shape[0] == 0:
        raise AudioError(path, "no audio frames")
    return _mono(path, data), int(rate)


@dataclass(frozen=True)
class AudioHeader:
    frames: int
    samplerate: int
    channels: int
    subtype: str  # libsndfile's name, e.g. PCM_16
    subtype_info: str  # its description, e.g. "Signed 16 bit PCM"


def read_audio_and_header(path: str | Path) -> tuple[np.ndarray, AudioHeader]:
    """The whole file decoded as `read_audio` does, and its header, from one open (`hark check`
    judges both). A header that counts no frames gives an empty wave, not an error."""
    with _reading(path, "cannot decode audio"), sf.SoundFile(os.fspath(path)) as handle:
        data = _decode(path, handle, 0, -1)
        header = AudioHeader(handle.frames, handle.samplerate, handle.channels, handle.subtype, handle.subtype_info)
    return _mono(path, data), header


def audio_info(path: str | Path) -> tuple[int, int]:
    """(frames, sample_rate) from the header alone, without decoding: fast enough to index a
    hundred thousand clips (hence plain strings, no pathlib, on this path)."""
    path = os.fspath(path)
    with _reading(path, "unreadable audio header"), sf.SoundFile(path) as handle:
        _check_complete(path, handle)
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
    """The clip `path` (relative to `root`, maybe a `#N` or `#N-M` window, see `hark.schema`) as the
    network sees its input: mono, at `sample_rate`, padded/cropped to `num_samples` (None keeps
    its length: a whole file, a bounded window, or 1 s from N)."""
    file, start, end = window_of(path)
    full = Path(root) / file
    if WINDOW_MARK in path:
        _, file_rate = audio_info(full)  # its errors are AudioErrors naming the file
        frames = int(round((num_samples or sample_rate) * file_rate / sample_rate))
        if end is not None:  # a bounded window never reads past its end; pad_or_crop pads it
            frames = end - start if num_samples is None else min(frames, end - start)
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


def load_native(root: str | Path, path: str, window_s: float = 1.0) -> tuple[np.ndarray, int]:
    """The clip `path` at its file's own rate, and that rate: a whole file, a bounded `#N-M`
    window's samples, or an unbounded `#N` window's first `window_s` (1 s: as the model hears it)."""
    file, _, end = window_of(path)
    if WINDOW_MARK not in path:
        return read_audio(Path(root) / file)
    _, rate = audio_info(Path(root) / file)
    return load_clip(root, path, rate, None if end is not None else int(round(window_s * rate))), rate


def write_wav(path: str | Path, wave: np.ndarray, sample_rate: int = 16000) -> None:
    """16-bit PCM WAV, the Speech Commands format."""
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    sf.write(str(path), np.clip(wave, -1.0, 1.0), sample_rate, subtype="PCM_16")
