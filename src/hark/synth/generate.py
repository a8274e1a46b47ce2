"""`synthesize`: a Speech-Commands-shaped dataset spoken by eSpeak NG, with injected faults.

eSpeak NG carries synthesis state from one utterance to the next (pitch-flutter phase, Klatt
filter memory) in C statics that no call resets. So that a seed gives the same bytes with any
number of workers, clips are rendered in fixed chunks, each in a fresh process forked from a
clean forkserver: a chunk always starts from the library's initial state."""

from __future__ import annotations

import json
import multiprocessing
import os
import shutil
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import asdict, dataclass, field
from pathlib import Path
from collections.abc import Mapping, Sequence

import numpy as np
from tqdm import tqdm

from hark.data.audio import write_wav
from hark.data.speech_commands import WORDS
from hark.data.splits import which_set
from hark.errors import HarkError
from hark.synth.faults import (
    DEFAULT_FAULTS,
    FAULTS_FILE,
    SILENCE_LABEL,
    FaultRecord,
    assign_faults,
    check_rates,
    other_word,
    parse_faults,
    spoken_instead,
    write_fault_table,
)
from hark.synth.noise import NOISE_DIR, load_background_noise, write_background_noise
from hark.synth.render import SAMPLE_RATE, ClipPlan, Renderer
from hark.synth.espeak import data_path
from hark.synth.voices import DEFAULT_SPEAKERS, missing_voices, speaker_table

# Speech Commands v0.02's words, its five additions in the order the synthesizer has always spoken them
# ("forward" before "follow"): the order of the words fixes which random draws each clip gets.
DEFAULT_WORDS = (*WORDS["v0.01"], "backward", "forward", "follow", "learn", "visual")
DEFAULT_UTTERANCES = 3
CHUNK = 128  # clips per fresh process: part of the output's identity, never derive it from workers
SETTINGS_FILE = ".hark-synth.json"


@dataclass(frozen=True)
class SynthSettings:
    words: list[str]
    speakers: int
    utterances: int
    seed: int
    faults: dict[str, float] = field(default_factory=dict)


def synthesize(
    out: str | Path,
    words: Sequence[str] = DEFAULT_WORDS,
    speakers: int = DEFAULT_SPEAKERS,
    utterances: int = DEFAULT_UTTERANCES,
    seed: int = 0,
    faults: Mapping[str, float] | str | None = None,
    workers: int | None = None,
    progress: bool = True,
) -> Path:
    """Write the dataset under `out` and return `out`. `faults`: rates per fault (None = the
    demo defaults, {} or 'none' = a clean set). A finished set with the same settings is reused."""
    out = Path(out)
    if faults is None:
        rates = DEFAULT_FAULTS
    else:
        rates = parse_faults(faults) if isinstance(faults, str) else check_rates(faults)
    settings = SynthSettings(_check_words(words), int(speakers), int(utterances), int(seed), rates)
    if settings.speakers < 1 or settings.utterances < 1:
        raise HarkError(f"need at least 1 speaker and 1 utterance, got {speakers} and {utterances}")
    if len(settings.words) < 2 and (rates.get("mislabel") or rates.get("multiword")):
        raise HarkError("mislabel and multiword faults need at least 2 words")
    missing = missing_voices(data_path())
    if missing:
        raise HarkError(f"the installed eSpeak NG data lacks voices {missing}; reinstall espeakng-loader")
    if _previous_settings(out) == asdict(settings) | {"complete": True}:
        return out
    _clear(out)
    _write_settings(out, settings, complete=False)

    plans, records = plan_clips(settings)
    noise_paths = write_background_noise(out, settings.seed, SAMPLE_RATE)
    _render_all(out, noise_paths, plans, workers, progress)
    _write_split_lists(out, [p.path for p in plans])
    write_fault_table(out, records)
    _write_settings(out, settings, complete=True)
    return out


def plan_clips(settings: SynthSettings) -> tuple[list[ClipPlan], list[FaultRecord]]:
    """Every clip's content and the truth about its fault, decided up front from the seed."""
    words = settings.words
    speakers = speaker_table(settings.speakers, settings.seed)
    # Speaker-major, so that a chunk switches voice rarely: loading a voice costs more than a word.
    slots = [(w, s, n) for s in speakers for w in words for n in range(settings.utterances)]
    rng = np.random.default_rng([settings.seed, 0xFA17])
    plans, records = [], []
    faults = assign_faults(len(slots), settings.faults, rng)
    for index, ((word, speaker, n), fault) in enumerate(zip(slots, faults, strict=True)):
        path = f"{word}/{speaker.id}_nohash_{n}.wav"
        spoken: tuple[str, ...] = (word,)
        if fault == "mislabel":
            spoken = (spoken_instead(word, words, rng),)
        elif fault == "multiword":
            spoken = (word, other_word(word, words, rng))
        elif fault == "silent":
            spoken = ()
        if fault:
            records.append(FaultRecord(path, fault, spoken[0] if spoken else SILENCE_LABEL))
        plans.append(ClipPlan(path, spoken, fault, speaker, (settings.seed, index)))
    return plans, records


def _render_all(out: Path, noise_paths: list[Path], plans: list[ClipPlan], workers: int | None, progress: bool) -> None:
    """Render `plans` in fixed chunks, one fresh process per chunk. An executor rather than a
    multiprocessing.Pool: if eSpeak crashes a worker, the run fails instead of hanging."""
    chunks = [plans[i : i + CHUNK] for i in range(0, len(plans), CHUNK)]
    context = multiprocessing.get_context("forkserver")  # workers never inherit a used eSpeak
    context.set_forkserver_preload([__name__])
    processes = max(1, min(workers or available_cores(), len(chunks)))
    with (
        tqdm(total=len(plans), unit="clip", desc="synth", disable=not progress) as bar,
        ProcessPoolExecutor(processes, mp_context=context, max_tasks_per_child=1) as pool,
    ):
        for done in as_completed([pool.submit(_render_chunk, out, noise_paths, chunk) for chunk in chunks]):
            bar.update(done.result())


def _render_chunk(out: Path, noise_paths: list[Path], plans: list[ClipPlan]) -> int:
    renderer = Renderer(load_background_noise(noise_paths))
    for plan in plans:
        write_wav(out / plan.path, renderer.render(plan), SAMPLE_RATE)
    return len(plans)


def _check_words(words: Sequence[str]) -> list[str]:
    words = [w.strip() for w in words]
    if not words or any(not w for w in words):
        raise HarkError("the word list is empty or has an empty word")
    bad = [w for w in words if w.startswith("_") or "/" in w or "\\" in w or w in (".", "..")]
    if bad:
        raise HarkError(f"words cannot be folder names: {bad} (no '/', no leading '_', which marks special folders)")
    duplicates = sorted({w for w in words if words.count(w) > 1})
    if duplicates:
        raise HarkError(f"words listed twice: {duplicates}")
    return words


def _write_split_lists(out: Path, paths: list[str]) -> None:
    splits = {path: which_set(path) for path in paths}
    for split, name in (("validation", "validation_list.txt"), ("test", "testing_list.txt")):
        (out / name).write_text("".join(f"{p}\n" for p in sorted(paths) if splits[p] == split))


def _previous_settings(out: Path) -> dict | None:
    try:
        return json.loads((out / SETTINGS_FILE).read_text())
    except (OSError, ValueError):
        return None


def _write_settings(out: Path, settings: SynthSettings, complete: bool) -> None:
    out.mkdir(parents=True, exist_ok=True)
    (out / SETTINGS_FILE).write_text(json.dumps(asdict(settings) | {"complete": complete}, indent=1))


def _clear(out: Path) -> None:
    """Remove a previous synthetic set from `out`; refuse to touch a folder that holds anything else."""
    if not out.exists():
        return
    if not out.is_dir():
        raise HarkError(f"{out}: exists and is not a folder")
    previous = _previous_settings(out)
    if previous is None:
        if any(out.iterdir()):
            raise HarkError(f"{out}: folder is not empty and was not written by hark synth; choose a new folder")
        return
    for name in [*previous.get("words", []), NOISE_DIR]:
        if (out / name).parent == out:  # only the set's own top-level folders
            shutil.rmtree(out / name, ignore_errors=True)
    for name in ("validation_list.txt", "testing_list.txt", FAULTS_FILE, SETTINGS_FILE):
        (out / name).unlink(missing_ok=True)


def available_cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # macOS, Windows
        return os.cpu_count() or 1
