"""The log-mel spectrogram: its settings and the one numpy implementation every picture of a
clip uses (`hark check`'s preview, the analysis report, the explorer's cards). The models'
torch front end (`hark.features.logmel.LogMel`) takes its window, filters and log from here,
so a picture shows what the network hears. It lives in `data` because `hark check` draws it
and `data` comes first in the pipeline."""

from __future__ import annotations

import functools
from dataclasses import asdict, dataclass

import numpy as np

from hark.schema import FRONT_END_KEY

LOG_OFFSET = 1e-6  # as in the BC-ResNet reference: log(mel + 1e-6), no dB scaling or clipping
# Natural-log units shown below a picture's loudest bin (about 60 dB): quieter bins are black.
DISPLAY_RANGE = 14.0


@dataclass(frozen=True)
class MelSettings:
    """Centred frames, zero padding, periodic Hann window, Slaney mel filters (librosa's
    `melspectrogram` defaults). The defaults are BC-ResNet's front end at 16 kHz."""

    sample_rate: int = 16000
    n_fft: int = 480
    win_length: int = 480
    hop_length: int = 160
    n_mels: int = 40
    f_min: float = 20.0
    f_max: float | None = None

    def __post_init__(self) -> None:
        if self.win_length > self.n_fft:
            raise ValueError(f"win_length {self.win_length} exceeds n_fft {self.n_fft}")

    @classmethod
    def for_rate(
        cls, sample_rate: int, n_mels: int = 40, window_ms: float = 30.0, hop_ms: float = 10.0, **kw
    ) -> MelSettings:
        """The same time resolution at any sample rate (a 1-s clip always gives 101 frames)."""
        win = int(round(sample_rate * window_ms / 1000))
        hop = int(round(sample_rate * hop_ms / 1000))
        return cls(sample_rate=sample_rate, n_fft=win, win_length=win, hop_length=hop, n_mels=n_mels, **kw)

    @classmethod
    def of_run(cls, config: dict) -> MelSettings:
        """The front end of a run's model, as its config.json records it; a run whose model has
        none (it hears the waveform) or that predates the record gets the default at its rate."""
        recorded = config.get(FRONT_END_KEY)
        if isinstance(recorded, dict):
            return cls(**recorded)
        data = config.get("data") if isinstance(config.get("data"), dict) else {}
        return cls.for_rate(int(data.get("sample_rate") or 16000))

    def to_dict(self) -> dict:
        return asdict(self)


@functools.lru_cache(maxsize=8)
def hann_window(settings: MelSettings) -> np.ndarray:
    """`[n_fft]`: a periodic Hann window of `win_length`, centred in the FFT frame."""
    import librosa  # slow to import; only pictures and models need it

    window = librosa.filters.get_window("hann", settings.win_length, fftbins=True)
    return _read_only(librosa.util.pad_center(window, size=settings.n_fft).astype(np.float32))


@functools.lru_cache(maxsize=8)
def mel_filters(settings: MelSettings) -> np.ndarray:
    """`[n_mels, n_fft // 2 + 1]`, built once per setting (the first call costs librosa's import)."""
    import librosa

    return _read_only(
        librosa.filters.mel(
            sr=settings.sample_rate,
            n_fft=settings.n_fft,
            n_mels=settings.n_mels,
            fmin=settings.f_min,
            fmax=settings.f_max,
        ).astype(np.float32)
    )


def _read_only(array: np.ndarray) -> np.ndarray:
    """Cached arrays are shared by every caller; none may change them."""
    array.setflags(write=False)
    return array


def log_mel(waves: np.ndarray, settings: MelSettings = MelSettings()) -> np.ndarray:
    """Waveforms `[..., T]` to log-mel `[..., n_mels, 1 + T // hop_length]`. A plain framed
    FFT: librosa.stft would compile numba code on the first call, seconds in a web request."""
    waves = np.asarray(waves, dtype=np.float32)
    half = settings.n_fft // 2
    padded = np.pad(waves, [(0, 0)] * (waves.ndim - 1) + [(half, half)])
    if padded.shape[-1] < settings.n_fft:  # a clip shorter than one frame still gives a frame
        padded = np.pad(padded, [(0, 0)] * (waves.ndim - 1) + [(0, settings.n_fft - padded.shape[-1])])
    frames = np.lib.stride_tricks.sliding_window_view(padded, settings.n_fft, axis=-1)[..., :: settings.hop_length, :]
    spectrum = np.fft.rfft(frames * hann_window(settings), axis=-1)
    power = (spectrum.real**2 + spectrum.imag**2).astype(np.float32)
    return np.log(np.matmul(mel_filters(settings), np.swapaxes(power, -1, -2)) + LOG_OFFSET)
