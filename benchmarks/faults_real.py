"""Faults injected into real recordings, for `bench_analysis_real.py`. Written apart from
`hark.synth` on purpose: nothing here shares a constant or a code path with hark's renderer, so
that a detector tuned on these faults is not tuned on the renderer's.

Each fault edits a real clip the way the problem arises in practice:
- cut-off: the word ends at a random point inside it; half of them stored shorter (the file ends
  there), half shifted so that the word runs into the end of a full window (a late trigger);
- multi-word: two real clips of different words by the same speaker, joined by a short pause;
- mislabel: filed under another class, sound-alike words more often than not;
- no speech: windows of the real Speech Commands background noise, at several loudness profiles;
- clipping: a gain, then a hard clip at full scale.
The truth (path, fault, true_label, split) goes to a CSV outside the dataset."""

from __future__ import annotations

import csv
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import soundfile as sf
import soxr

DIGITS = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine")
# Words sharing a stressed vowel or an onset/coda consonant (from their pronunciations, not from
# any model): a person filing in a hurry confuses these more than others.
SOUND_ALIKE = {
    "zero": ("three",),
    "one": ("nine",),
    "two": ("eight",),
    "three": ("zero",),
    "four": ("five",),
    "five": ("nine", "four"),
    "six": ("seven",),
    "seven": ("six",),
    "eight": ("two",),
    "nine": ("five", "one"),
    # Speech Commands words
    "no": ("go",),
    "go": ("no",),
    "on": ("off",),
    "off": ("on", "up"),
    "up": ("off",),
    "down": ("dog",),
    "tree": ("three",),
    "bed": ("bird",),
    "bird": ("bed",),
    "cat": ("bed",),
    "dog": ("down",),
}
SOUND_ALIKE_SHARE = 0.7
NOISE_PROFILES = ("steady", "fade_in", "fade_out")
NOISE_LEVELS_DBFS = (-50.0, -38.0, -26.0, -14.0)


@dataclass
class FaultRates:
    """Shares of a split's clips given each fault (no_speech: clips added, as a share)."""

    cutoff: float = 0.10
    mislabel: float = 0.05
    multiword: float = 0.03
    no_speech: float = 0.02
    clipping: float = 0.02


@dataclass
class Clip:
    label: str
    speaker: str
    take: str
    wave: np.ndarray
    split: str
    fault: str = "none"
    true_label: str = ""
    extra: dict = field(default_factory=dict)

    @property
    def path(self) -> str:
        return f"{self.label}/{self.speaker}_nohash_{self.take}.wav"


def speech_span(wave: np.ndarray, sample_rate: int) -> tuple[int, int]:
    """First and last sample of frames within 30 dB of the loudest 20 ms frame."""
    hop = max(1, sample_rate // 50)
    frames = wave[: len(wave) // hop * hop].reshape(-1, hop) if len(wave) >= hop else wave[None]
    level = 10 * np.log10(np.mean(frames**2, axis=1) + 1e-12)
    loud = np.flatnonzero(level >= level.max() - 30)
    return int(loud[0] * hop), int(min(len(wave), (loud[-1] + 1) * hop))


def cut_off(wave: np.ndarray, sample_rate: int, window: int, rng: np.random.Generator, shifted: bool) -> np.ndarray:
    """The word stopped at 30-75% of its speech; stored shorter, or shifted into the window's end."""
    start, end = speech_span(wave, sample_rate)
    cut = int(start + rng.uniform(0.3, 0.75) * (end - start))
    kept = wave[: max(cut, 1)]
    if not shifted:
        return kept
    kept = kept[-window:]
    return np.concatenate([np.zeros(window - len(kept), np.float32), kept])


def join(first: np.ndarray, second: np.ndarray, sample_rate: int, rng: np.random.Generator) -> np.ndarray:
    """The two words' speech, each with 50 ms of its decay, 80-200 ms apart."""
    (a0, a1), (b0, b1) = speech_span(first, sample_rate), speech_span(second, sample_rate)
    decay = int(0.05 * sample_rate)
    pause = np.zeros(int(rng.uniform(0.08, 0.2) * sample_rate), np.float32)
    return np.concatenate([first[a0 : a1 + decay], pause, second[b0 : b1 + decay]])


def clip_hard(wave: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    peak = max(float(np.abs(wave).max()), 1e-6)
    return np.clip(wave / peak * rng.uniform(2.5, 8.0), -1.0, 32767 / 32768).astype(np.float32)


def noise_window(noises: list[np.ndarray], sample_rate: int, rng: np.random.Generator) -> tuple[np.ndarray, str]:
    noise = noises[rng.integers(len(noises))]
    length = int(rng.uniform(0.4, 1.0) * sample_rate)
    start = rng.integers(0, len(noise) - length)
    window = noise[start : start + length].astype(np.float64)
    window -= window.mean()
    level = float(rng.choice(NOISE_LEVELS_DBFS))
    profile = str(rng.choice(NOISE_PROFILES))
    window *= 10 ** (level / 20) / max(float(np.sqrt(np.mean(window**2))), 1e-9)
    ramp = np.linspace(0.0, 1.0, length)
    window *= {"steady": np.ones(length), "fade_in": ramp, "fade_out": ramp[::-1]}[profile]
    return np.clip(window, -1, 1).astype(np.float32), f"{profile} {level:g} dBFS"


def read_mono(path: Path, sample_rate: int) -> np.ndarray:
    wave, rate = sf.read(str(path), dtype="float32", always_2d=True)
    wave = wave.mean(axis=1)
    return soxr.resample(wave, rate, sample_rate).astype(np.float32) if rate != sample_rate else wave


def read_noises(noise_dir: Path, sample_rate: int) -> list[np.ndarray]:
    return [read_mono(p, sample_rate) for p in sorted(noise_dir.glob("*.wav"))]


def _other_label(label: str, labels: list[str], rng: np.random.Generator) -> str:
    alike = [w for w in SOUND_ALIKE.get(label, ()) if w in labels]
    if alike and rng.random() < SOUND_ALIKE_SHARE:
        return str(rng.choice(alike))
    return str(rng.choice([w for w in labels if w != label]))


def inject(
    clips: list[Clip],
    rates: FaultRates,
    noises: list[np.ndarray],
    sample_rate: int,
    window: int,
    rng: np.random.Generator,
    labels: list[str],
    only: tuple[str, ...] | None = None,
) -> list[Clip]:
    """Faults for `clips` (one split), each clip at most one; returns the clips plus the added
    no-speech ones. `only`: the faults to inject (default all)."""
    wanted = only or ("cutoff", "mislabel", "multiword", "no_speech", "clipping")
    order = rng.permutation(len(clips))
    taken = 0
    by_speaker: dict[str, list[Clip]] = {}
    for clip in clips:
        by_speaker.setdefault(clip.speaker, []).append(clip)
    for fault in ("cutoff", "mislabel", "multiword", "clipping"):
        count = int(round(getattr(rates, fault) * len(clips))) if fault in wanted else 0
        for row in order[taken : taken + count]:
            clip = clips[row]
            clip.true_label, clip.fault = clip.label, fault
            if fault == "cutoff":
                shifted = bool(rng.random() < 0.5)
                clip.wave = cut_off(clip.wave, sample_rate, window, rng, shifted)
                clip.extra["how"] = "shifted" if shifted else "shorter"
            elif fault == "mislabel":
                clip.label = _other_label(clip.label, labels, rng)
            elif fault == "multiword":
                # Both words inside the window: a second word cut by the window's end is a cut-off.
                room = window - np.diff(speech_span(clip.wave, sample_rate))[0] - int(0.3 * sample_rate)
                others = [
                    c
                    for c in by_speaker[clip.speaker]
                    if c.label != clip.true_label
                    and c.fault == "none"
                    and np.diff(speech_span(c.wave, sample_rate))[0] <= room
                ]
                if not others:
                    clip.fault, clip.true_label = "none", ""
                    continue
                second = others[rng.integers(len(others))]
                clip.wave = join(clip.wave, second.wave, sample_rate, rng)
                clip.extra["how"] = f"+{second.label}"
            else:
                clip.wave = clip_hard(clip.wave, rng)
        taken += count
    added = []
    count = int(round(rates.no_speech * len(clips))) if "no_speech" in wanted else 0
    for k in range(count):
        wave, how = noise_window(noises, sample_rate, rng)
        label = str(rng.choice(labels))
        added.append(Clip(label, f"noise{k:03d}", "0", wave, clips[0].split, "no_speech", label, {"how": how}))
    return clips + added


def write_dataset(root: Path, clips: list[Clip], sample_rate: int, truth_csv: Path) -> None:
    """Class folders of 16-bit WAVs, split lists of the validation and test clips, and the truth."""
    lists = {"validation": [], "test": []}
    for clip in clips:
        (root / clip.label).mkdir(parents=True, exist_ok=True)
        sf.write(str(root / clip.path), np.clip(clip.wave, -1.0, 32767 / 32768), sample_rate, subtype="PCM_16")
        if clip.split in lists:
            lists[clip.split].append(clip.path)
    (root / "validation_list.txt").write_text("".join(p + "\n" for p in lists["validation"]), encoding="utf-8")
    (root / "testing_list.txt").write_text("".join(p + "\n" for p in lists["test"]), encoding="utf-8")
    truth_csv.parent.mkdir(parents=True, exist_ok=True)
    with open(truth_csv, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["path", "split", "fault", "true_label", "how"])
        for clip in clips:
            writer.writerow(
                [clip.path, clip.split, clip.fault, clip.true_label or clip.label, clip.extra.get("how", "")]
            )


def fsdd_clips(fsdd: Path, split_of_speaker: dict[str, str], sample_rate: int = 8000) -> list[Clip]:
    """FSDD's `{digit}_{speaker}_{take}.wav`, as clips of the digit's word. Speakers mapped to
    "train" give every tenth take to validation (for choosing the checkpoint); the test speakers
    are heard in no other split."""
    clips = []
    for path in sorted((fsdd / "recordings").glob("*.wav")):
        digit, speaker, take = path.stem.split("_")
        split = split_of_speaker[speaker]
        split = "validation" if split == "train" and int(take) % 10 == 0 else split
        # Takes restart at 0 for every digit: the digit joins the take so a relabelled clip keeps a unique name.
        clips.append(
            Clip(DIGITS[int(digit)], speaker, str(100 * int(digit) + int(take)), read_mono(path, sample_rate), split)
        )
    return clips


def build_fsdd(
    fsdd: Path,
    noise_dir: Path,
    out: Path,
    split_of_speaker: dict[str, str],
    faulted_train: bool,
    rates: FaultRates = FaultRates(),
    seed: int = 0,
    sample_rate: int = 8000,
    window_s: float = 1.0,
) -> Path:
    """FSDD as a folder-per-class dataset with a speaker-disjoint split; the test split gets
    cut-offs in both versions (so a fix's effect on cut-off audio can be measured), the training
    split all faults only when `faulted_train`. The same seed gives the same test split."""
    if (out / "truth.csv").exists():
        return out / "data"
    clips = fsdd_clips(fsdd, split_of_speaker, sample_rate)
    noises = read_noises(noise_dir, sample_rate)
    window = int(window_s * sample_rate)
    labels = list(DIGITS)
    result = []
    for offset, split in enumerate(("train", "validation", "test")):
        part = [c for c in clips if c.split == split]
        rng = np.random.default_rng([seed, offset])
        if split == "train" and faulted_train:
            part = inject(part, rates, noises, sample_rate, window, rng, labels)
        elif split == "test":
            part = inject(part, FaultRates(cutoff=rates.cutoff), noises, sample_rate, window, rng, labels, ("cutoff",))
        result += part
    write_dataset(out / "data", result, sample_rate, out / "truth.csv")
    return out / "data"


def build_speech_commands(
    mini: Path, out: Path, seed: int = 0, rates: FaultRates | None = None, noise_dir: Path | None = None
) -> Path:
    """The real Speech Commands mini set with the audio faults (no mislabels: no model is trained
    on it), for the detectors alone. `noise_dir`: default the set's own `_background_noise_`."""
    if (out / "truth.csv").exists():
        return out / "data"
    rates = rates or FaultRates(cutoff=0.15, mislabel=0.0, multiword=0.08, no_speech=0.06, clipping=0.06)
    sample_rate = 16000
    clips = []
    for path in sorted(mini.glob("*/*.wav")):
        if path.parent.name.startswith("_"):
            continue
        speaker, _, take = path.stem.partition("_nohash_")
        clips.append(Clip(path.parent.name, speaker, take, read_mono(path, sample_rate), "train"))
    labels = sorted({c.label for c in clips})
    rng = np.random.default_rng(seed)
    noises = read_noises(noise_dir or mini / "_background_noise_", sample_rate)
    # Two words of one speaker are rare in the mini set: any other clip stands in as the second.
    clips = inject_any_speaker(clips, rates, noises, sample_rate, rng, labels)
    write_dataset(out / "data", clips, sample_rate, out / "truth.csv")
    return out / "data"


def inject_any_speaker(clips: list[Clip], rates: FaultRates, noises, sample_rate: int, rng, labels) -> list[Clip]:
    """`inject` where the second word of a multi-word clip may come from any speaker."""
    speakers = [c.speaker for c in clips]
    for clip in clips:
        clip.extra["speaker"] = clip.speaker
        clip.speaker = "all"
    result = inject(clips, rates, noises, sample_rate, sample_rate, rng, labels)
    for clip, speaker in zip(clips, speakers, strict=False):
        clip.speaker = speaker
    return result
