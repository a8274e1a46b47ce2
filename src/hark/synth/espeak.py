"""eSpeak NG through ctypes, from the library and data that the `espeakng-loader` wheel ships,
so that `pip install` alone gives every machine the same synthesizer.

libespeak-ng keeps its state in process globals and is not thread-safe: a process initialises
it once (`Synthesizer.instance()`) and speaks one word at a time."""

from __future__ import annotations

import ctypes
from dataclasses import dataclass

import numpy as np

from hark.data.audio import resample
from hark.errors import HarkError

# speak_lib.h
_AUDIO_OUTPUT_SYNCHRONOUS = 2
_CHARS_UTF8 = 1
_POS_CHARACTER = 1
_PARAM_RATE, _PARAM_VOLUME, _PARAM_PITCH, _PARAM_RANGE = 1, 2, 3, 4
# Ask for the shortest internal buffer: callbacks then come often, and words are short.
_BUFFER_MS = 0

_SYNTH_CALLBACK = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.POINTER(ctypes.c_short), ctypes.c_int, ctypes.c_void_p)


@dataclass(frozen=True)
class Prosody:
    """eSpeak's own units: rate in words per minute (80-450), pitch and range 0-100,
    volume 0-200 (100 = normal)."""

    rate: int = 175
    pitch: int = 50
    range: int = 50
    volume: int = 100


def _loader():
    try:
        import espeakng_loader
    except ImportError as err:
        raise HarkError("hark synth needs the 'espeakng-loader' package (pip install espeakng-loader)") from err
    return espeakng_loader


def data_path() -> str:
    """The eSpeak NG data folder (voices, dictionaries) shipped with the library."""
    return _loader().get_data_path()


class Synthesizer:
    """The process's eSpeak NG. `speak(word, voice, prosody)` -> float32 mono at `sample_rate`."""

    _instance: Synthesizer | None = None

    @classmethod
    def instance(cls) -> Synthesizer:
        if cls._instance is None:
            cls._instance = cls()
        return cls._instance

    def __init__(self) -> None:
        espeakng_loader = _loader()
        self._lib = ctypes.CDLL(espeakng_loader.get_library_path())
        self._declare()
        rate = self._lib.espeak_Initialize(
            _AUDIO_OUTPUT_SYNCHRONOUS, _BUFFER_MS, espeakng_loader.get_data_path().encode(), 0
        )
        if rate <= 0:
            raise HarkError(f"eSpeak NG failed to initialise with data at {espeakng_loader.get_data_path()}")
        self.native_rate = int(rate)
        self._chunks: list[np.ndarray] = []
        # Kept on self: ctypes must not garbage-collect a callback that C still holds.
        self._callback = _SYNTH_CALLBACK(self._collect)
        self._lib.espeak_SetSynthCallback(self._callback)
        self._libc = ctypes.CDLL(None)

    def _declare(self) -> None:
        lib = self._lib
        lib.espeak_Initialize.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_char_p, ctypes.c_int]
        lib.espeak_Initialize.restype = ctypes.c_int
        lib.espeak_SetSynthCallback.argtypes = [_SYNTH_CALLBACK]
        lib.espeak_SetSynthCallback.restype = None
        lib.espeak_SetVoiceByName.argtypes = [ctypes.c_char_p]
        lib.espeak_SetParameter.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_int]
        lib.espeak_Synth.argtypes = [
            ctypes.c_void_p,
            ctypes.c_size_t,
            ctypes.c_uint,
            ctypes.c_int,
            ctypes.c_uint,
            ctypes.c_uint,
            ctypes.POINTER(ctypes.c_uint),
            ctypes.c_void_p,
        ]
        lib.espeak_ng_SetRandSeed.argtypes = [ctypes.c_long]
        lib.espeak_ng_SetRandSeed.restype = None
        for name in ("espeak_SetVoiceByName", "espeak_SetParameter", "espeak_Synth", "espeak_Synchronize"):
            getattr(lib, name).restype = ctypes.c_int

    def _collect(self, samples, count, _events) -> int:
        if samples and count > 0:
            self._chunks.append(np.ctypeslib.as_array(samples, shape=(count,)).copy())
        return 0  # 0 = keep synthesizing

    def set_voice(self, name: str) -> None:
        """`name` is a language voice, optionally with a variant: 'en-us', 'en-gb-scotland+f2'."""
        if self._lib.espeak_SetVoiceByName(name.encode()) != 0:
            raise HarkError(f"eSpeak NG has no voice {name!r}")

    def seed(self, value: int) -> None:
        """Fix the noise sources: eSpeak's own generator (seeded from the clock at start-up) and
        libc's rand(), which the Klatt voices draw from."""
        self._lib.espeak_ng_SetRandSeed(int(value))
        self._libc.srand(int(value) & 0x7FFFFFFF)

    def set_prosody(self, prosody: Prosody) -> None:
        for parameter, value in (
            (_PARAM_RATE, prosody.rate),
            (_PARAM_PITCH, prosody.pitch),
            (_PARAM_RANGE, prosody.range),
            (_PARAM_VOLUME, prosody.volume),
        ):
            if self._lib.espeak_SetParameter(parameter, int(value), 0) != 0:
                raise HarkError(f"eSpeak NG rejected parameter {parameter}={value}")

    def synth(self, text: str) -> np.ndarray:
        """`text` in the current voice and prosody, float32 mono at `native_rate`."""
        self._chunks = []
        data = text.encode("utf-8") + b"\0"
        status = self._lib.espeak_Synth(data, len(data), 0, _POS_CHARACTER, 0, _CHARS_UTF8, None, None)
        self._lib.espeak_Synchronize()
        if status != 0:
            raise HarkError(f"eSpeak NG failed to speak {text!r} (status {status})")
        pcm = np.concatenate(self._chunks) if self._chunks else np.zeros(0, np.int16)
        self._chunks = []
        return pcm.astype(np.float32) / 32768.0

    def speak(self, text: str, voice: str, prosody: Prosody = Prosody(), sample_rate: int = 16000) -> np.ndarray:
        self.set_voice(voice)
        self.set_prosody(prosody)
        return resample(self.synth(text), self.native_rate, sample_rate)
