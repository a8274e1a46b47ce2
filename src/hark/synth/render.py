"""One clip from its plan: the spoken word(s) placed in a second of background noise, with the
clip's fault (if any) applied the way it happens in real recordings."""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from hark.errors import HarkError
from hark.synth.espeak import Prosody, Synthesizer
from hark.synth.voices import Speaker

SAMPLE_RATE = 16000
CLIP = SAMPLE_RATE
LEAD = int(0.03 * SAMPLE_RATE)  # earliest onset of a word
TAIL = int(0.10 * SAMPLE_RATE)  # quiet kept after a word that is not cut off
WINDOW = int(0.05 * SAMPLE_RATE)  # the 50-ms energy window used to pick a cut point
PEAK_RANGE = (0.05, 0.6)  # speech peak level, log-uniform: quiet to loud talkers
SNR_DB = (15.0, 40.0)
CUT_FRACTION = (0.3, 0.85)  # where in the word the recording stops
CUT_MIN_LEVEL = 0.6  # ... at a point where the word is this loud (x its loudest 50 ms)
CLIP_GAIN = (8.0, 24.0)  # saturated clips: x full scale before the hard clip
MULTIWORD_GAP_S = (0.1, 0.25)
MAX_RATE = 400


@dataclass(frozen=True)
class ClipPlan:
    """What one file will contain. `words` are the words actually spoken, in no particular
    order (none for a silent clip); `path` files it under its label."""

    path: str
    words: tuple[str, ...]
    fault: str | None
    speaker: Speaker
    seed: tuple[int, int]


def _trim(wave: np.ndarray) -> np.ndarray:
    """Drop eSpeak's leading and trailing silence so the word's extent is known exactly."""
    loud = np.flatnonzero(np.abs(wave) > 0.01 * np.abs(wave).max())
    return wave[loud[0] : loud[-1] + 1] if len(loud) else wave[:0]


def _rms(wave: np.ndarray) -> float:
    return float(np.sqrt(np.mean(np.square(wave, dtype=np.float64)))) if len(wave) else 0.0


class Renderer:
    """Renders plans in this process; holds the process's eSpeak and the noise recordings."""

    def __init__(self, noise: list[np.ndarray]):
        self.synth = Synthesizer.instance()
        self.noise = noise

    def _words(self, words: tuple[str, ...], voice: str, prosody: Prosody, budget: int) -> list[np.ndarray]:
        """Each word, trimmed and at peak 1, spoken faster until together they fit `budget`."""
        while True:
            waves = [_trim(self.synth.speak(w, voice, prosody, SAMPLE_RATE)) for w in words]
            waves = [w / max(np.abs(w).max(), 1e-6) for w in waves]
            if sum(map(len, waves)) <= budget:
                return waves
            if prosody.rate >= MAX_RATE:
                raise HarkError(
                    f"{' + '.join(words)}: too long to fit in a one-second clip, "
                    f"even spoken at {MAX_RATE} words per minute"
                )
            prosody = replace(prosody, rate=min(MAX_RATE, int(prosody.rate * 1.2)))

    def render(self, plan: ClipPlan) -> np.ndarray:
        rng = np.random.default_rng(plan.seed)
        prosody = plan.speaker.utterance(rng)
        self.synth.seed(int(rng.integers(2**31)))
        peak = float(np.exp(rng.uniform(*np.log(PEAK_RANGE))))
        speech = np.zeros(CLIP, np.float32)
        if plan.fault == "cutoff":
            (word,) = self._words(plan.words, plan.speaker.voice, prosody, CLIP)
            cut = _cut_point(word, rng)
            onset = CLIP - cut
            speech[max(onset, 0) :] = word[max(-onset, 0) : cut]
        elif plan.words:
            gaps = [int(rng.uniform(*MULTIWORD_GAP_S) * SAMPLE_RATE) for _ in plan.words[1:]]
            budget = CLIP - LEAD - TAIL - sum(gaps)
            words = self._words(plan.words, plan.speaker.voice, prosody, budget)
            order = rng.permutation(len(words))
            # Later words a little quieter or louder, as a second utterance is.
            levels = [1.0] + [float(rng.uniform(0.6, 1.1)) for _ in words[1:]]
            slack = max(budget - sum(map(len, words)), 0)
            position = LEAD + int(rng.integers(0, slack + 1))
            for index, level, gap in zip(order, levels, gaps + [0], strict=True):
                word = words[index][: CLIP - position]
                speech[position : position + len(word)] = level * word
                position += len(word) + gap
        speech *= peak
        active = speech[np.abs(speech) > 0.01 * peak]
        speech_rms = _rms(active) if len(active) else 0.25 * peak  # silent: as loud as a typical word
        snr = rng.uniform(*SNR_DB)
        noise = self._noise(rng)
        wave = speech + noise * (speech_rms / 10 ** (snr / 20) / max(_rms(noise), 1e-9))
        if plan.fault == "clipped":
            wave = np.clip(wave * (rng.uniform(*CLIP_GAIN) / np.abs(wave).max()), -1.0, 1.0)
        return wave.astype(np.float32)

    def _noise(self, rng: np.random.Generator) -> np.ndarray:
        recording = self.noise[int(rng.integers(len(self.noise)))]
        start = int(rng.integers(0, len(recording) - CLIP + 1))
        return recording[start : start + CLIP]


def _cut_point(word: np.ndarray, rng: np.random.Generator) -> int:
    """Where the recording stops inside `word`: a random point in its middle part, taken among
    those where the last 50 ms are loud, so the clip really ends mid-speech."""
    energy = np.convolve(np.square(word, dtype=np.float64), np.ones(WINDOW) / WINDOW, mode="full")[: len(word)]
    level = np.sqrt(energy)
    low, high = (int(f * len(word)) for f in CUT_FRACTION)
    candidates = np.arange(min(max(low, WINDOW), len(word) - 1), min(max(high, WINDOW + 1), len(word)))
    loud = candidates[level[candidates] >= CUT_MIN_LEVEL * level.max()]
    pool = loud if len(loud) else candidates
    return int(pool[int(rng.integers(len(pool)))]) + 1
