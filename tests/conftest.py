"""Shared fixtures: the real clips in ../shared/data and fake Speech Commands trees."""

from __future__ import annotations

import hashlib
import os
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pytest

from hark.data.audio import write_wav

SHARED_DATA = Path(os.environ.get("HARK_SHARED_DATA", Path(__file__).resolve().parents[2] / "shared" / "data"))


@pytest.fixture(autouse=True, scope="session")
def _isolated_cache(tmp_path_factory):
    """Tests never touch the user's cache."""
    os.environ["HARK_CACHE_DIR"] = str(tmp_path_factory.mktemp("hark-cache"))


@contextmanager
def torch_threads(count: int):
    """Training tests pin torch to one thread: two cores are shared with other processes,
    and bit-for-bit comparisons need the same reduction order every run."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(count)
    try:
        yield
    finally:
        torch.set_num_threads(before)


@pytest.fixture
def one_torch_thread():
    with torch_threads(1):
        yield


@pytest.fixture
def shared_data() -> Path:
    if not (SHARED_DATA / "speech_commands_mini_v0.02").is_dir():
        pytest.skip(f"real Speech Commands clips not found at {SHARED_DATA} (set HARK_SHARED_DATA)")
    return SHARED_DATA


def official_split(relative_path: str, validation_pct: float = 10.0, testing_pct: float = 10.0) -> str:
    """Independent re-statement of the official hash split, so fakes carry consistent lists."""
    import re

    base = os.path.basename(relative_path)
    hashed = re.sub(r"_nohash_.*$", "", base).encode()
    max_per_class = 2**27 - 1
    pct = (int(hashlib.sha1(hashed).hexdigest(), 16) % (max_per_class + 1)) * (100.0 / max_per_class)
    if pct < validation_pct:
        return "validation"
    if pct < validation_pct + testing_pct:
        return "test"
    return "train"


def word_tone(word_index: int, speaker_index: int, rng: np.random.Generator, sample_rate: int = 16000) -> np.ndarray:
    """A learnable stand-in for a spoken word: a word-specific two-tone burst at a random onset."""
    t = np.arange(int(0.5 * sample_rate)) / sample_rate
    f0 = 300 + 120 * word_index + 7 * speaker_index
    burst = 0.4 * np.sin(2 * np.pi * f0 * t) + 0.2 * np.sin(2 * np.pi * (2.3 * f0) * t)
    burst *= np.hanning(len(t))
    wave = 0.01 * rng.standard_normal(sample_rate)
    onset = int(rng.integers(0, sample_rate - len(t)))
    wave[onset : onset + len(t)] += burst
    return wave.astype(np.float32)


def make_fake_speech_commands(
    root: Path,
    words=("yes", "no", "up", "down"),
    speakers: int = 12,
    utterances: int = 2,
    with_lists: bool = True,
    with_noise: bool = True,
    seed: int = 0,
) -> Path:
    """An official-layout tree: <word>/<speaker>_nohash_<n>.wav, split lists, background noise."""
    rng = np.random.default_rng(seed)
    speaker_ids = [hashlib.sha1(f"spk{i}-{seed}".encode()).hexdigest()[:8] for i in range(speakers)]
    lists = {"validation": [], "test": []}
    for w, word in enumerate(words):
        for s, spk in enumerate(speaker_ids):
            for n in range(utterances):
                rel = f"{word}/{spk}_nohash_{n}.wav"
                write_wav(root / rel, word_tone(w, s, rng))
                split = official_split(rel)
                if split != "train":
                    lists[split].append(rel)
    if with_lists:
        (root / "validation_list.txt").write_text("".join(p + "\n" for p in lists["validation"]))
        (root / "testing_list.txt").write_text("".join(p + "\n" for p in lists["test"]))
    if with_noise:
        for name in ("white_noise", "pink_noise"):
            write_wav(root / "_background_noise_" / f"{name}.wav", 0.1 * rng.standard_normal(16000 * 5))
    return root


@pytest.fixture
def fake_sc(tmp_path) -> Path:
    return make_fake_speech_commands(tmp_path / "speech_commands")


def write_bad_wavs(folder: Path, seed: int = 0) -> dict[str, Path]:
    """One file per kind of bad input that loaders, the cache and `hark check` must survive,
    keyed by that kind. Names follow `<speaker>_nohash_0.wav` so loaders take them for clips."""
    import soundfile as sf

    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    tone = lambda rate, seconds=1.0: 0.5 * np.sin(2 * np.pi * 440 * np.arange(int(rate * seconds)) / rate)  # noqa: E731
    files = {
        kind: folder / f"{hashlib.sha1(kind.encode()).hexdigest()[:8]}_nohash_0.wav"
        for kind in (
            "truncated-header",
            "random-bytes",
            "zero-byte",
            "8-bit",
            "float",
            "44.1k",
            "stereo",
            "over-long",
            "silent",
            "clipped",
        )
    }
    write_wav(files["truncated-header"], tone(16000))
    files["truncated-header"].write_bytes(files["truncated-header"].read_bytes()[:20])
    files["random-bytes"].write_bytes(rng.bytes(3000))
    files["zero-byte"].write_bytes(b"")
    sf.write(files["8-bit"], tone(16000), 16000, subtype="PCM_U8")
    sf.write(files["float"], tone(16000), 16000, subtype="FLOAT")
    sf.write(files["44.1k"], tone(44100), 44100, subtype="PCM_16")
    sf.write(files["stereo"], np.stack([tone(16000), 0.5 * tone(16000)], axis=1), 16000, subtype="PCM_16")
    write_wav(files["over-long"], tone(16000, 2.5) * np.linspace(0.2, 1.0, 40000))
    write_wav(files["silent"], np.zeros(16000))
    write_wav(files["clipped"], np.clip(4 * tone(16000), -1, 1))
    return files


def train_args(data: Path, run: Path, epochs: int = 2, *extra: str) -> list[str]:
    """`hark train` arguments for the tests' tiny runs: seed-m5 on the CPU, batch 16."""
    return [
        "train",
        str(data),
        "--out",
        str(run),
        "--preset",
        "seed-m5",
        "--epochs",
        str(epochs),
        "--batch-size",
        "16",
        "--device",
        "cpu",
        *extra,
    ]


def train_run(data: Path, run: Path, epochs: int = 2, *extra: str, evaluate: bool = False) -> Path:
    """A fresh tiny run of `data` in `run` (one torch thread), evaluated on the CPU when asked."""
    from hark.cli import main

    with torch_threads(1):
        assert main(train_args(data, run, epochs, "--quiet", *extra)) == 0
        if evaluate:
            assert main(["evaluate", str(run), "--device", "cpu", "--quiet"]) == 0
    return run


@pytest.fixture(scope="session")
def evaluated_run(tmp_path_factory) -> Path:
    """One run, trained for two epochs on a fake 4-word tree (10 speakers x 2 takes) and evaluated,
    that tests share: <root>/run with its dataset in <root>/sc. Tests may add to it (evaluations of
    other data, analyses) but leave what `hark train` and `hark evaluate` wrote as it is."""
    root = tmp_path_factory.mktemp("evaluated")
    data = make_fake_speech_commands(root / "sc", speakers=10, utterances=2, seed=3)
    return train_run(data, root / "run", evaluate=True)
