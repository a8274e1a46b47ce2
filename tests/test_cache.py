"""The preprocessing cache: decoded once, reused, rebuilt on change, bad clips masked."""

from __future__ import annotations

import errno
import json
import logging
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from conftest import make_fake_speech_commands, write_bad_wavs
from hark.data import audio, cache
from hark.data.datasets import load_dataset
from hark.data.example import ClipDataset, Example
from hark.data.paths import cache_dir
from hark.errors import OutputError


def every_file_as_a_clip(root: Path) -> ClipDataset:
    """All `<label>/*.wav` as training clips, even those the loader would leave out for a bad
    header: a manifest can still name such files, and the cache must survive them."""
    clips = sorted(p.relative_to(root).as_posix() for p in root.glob("[!_]*/*.wav"))
    return ClipDataset(
        root, [Example(rel, rel.split("/")[0], "train") for rel in clips], sorted({rel.split("/")[0] for rel in clips})
    )


@pytest.fixture(autouse=True)
def own_cache(tmp_path, monkeypatch):
    """A cache per test, so that what one test builds cannot satisfy another."""
    monkeypatch.setenv("HARK_CACHE_DIR", str(tmp_path / "cache"))


@pytest.fixture
def decode_count(monkeypatch):
    """Counts the clips the cache decodes in this process (builds here use workers=1)."""
    calls = []

    def counting_load_clip(*args, **kwargs):
        calls.append(args[1])
        return audio.load_clip(*args, **kwargs)

    monkeypatch.setattr(cache, "load_clip", counting_load_clip)
    return calls


def load(dataset, split="train", **kw):
    return cache.load_split(dataset, split, workers=1, progress=False, **kw)


def test_split_is_decoded_once_then_reused(fake_sc, decode_count):
    dataset = load_dataset(fake_sc)
    first = load(dataset)
    n = len(dataset.split("train"))
    assert len(decode_count) == n and first.waves.shape == (n, 16000)
    assert isinstance(first.waves, np.memmap) and first.waves.dtype == np.float32
    assert not first.waves.flags.writeable and first.valid.all() and first.problems == []
    assert [e.path for e in first.examples] == [e.path for e in dataset.split("train")]
    for i in (0, n - 1):
        np.testing.assert_array_equal(first.waves[i], audio.load_clip(fake_sc, first.examples[i].path))

    decode_count.clear()
    again = load(dataset)
    assert decode_count == []
    assert again.directory == first.directory
    np.testing.assert_array_equal(again.waves, first.waves)


def test_touching_a_file_rebuilds(fake_sc, decode_count):
    dataset = load_dataset(fake_sc)
    before = load(dataset)
    touched = fake_sc / before.examples[3].path
    stat = touched.stat()
    os.utime(touched, ns=(stat.st_atime_ns, stat.st_mtime_ns + 5_000_000_000))
    decode_count.clear()
    after = load(dataset)
    assert len(decode_count) == len(before) and after.directory != before.directory


def test_replacing_a_file_rebuilds_with_its_new_audio(fake_sc):
    dataset = load_dataset(fake_sc)
    before = load(dataset)
    replaced = before.examples[5].path
    new_wave = np.full(12000, 0.25, dtype=np.float32)
    audio.write_wav(fake_sc / replaced, new_wave)
    after = load(dataset)
    assert after.directory != before.directory
    np.testing.assert_allclose(after.waves[5][:12000], 0.25, atol=1e-4)
    assert not after.waves[5][12000:].any()  # padded to the 1-s length
    np.testing.assert_array_equal(after.waves[4], before.waves[4])


def test_each_setting_and_split_gets_its_own_array(fake_sc):
    dataset = load_dataset(fake_sc)
    full = load(dataset)
    low = load(dataset, sample_rate=8000, num_samples=8000)
    val = load(dataset, "validation")
    assert len({full.directory, low.directory, val.directory}) == 3
    assert low.waves.shape == (len(full), 8000) and low.sample_rate == 8000
    assert len(val) == len(dataset.split("validation")) > 0


def test_an_empty_split_is_an_empty_array(fake_sc):
    dataset = every_file_as_a_clip(fake_sc)
    empty = load(dataset, "test")
    assert empty.waves.shape == (0, 16000) and empty.valid.shape == (0,)


def test_undecodable_clips_are_masked_reported_once_and_the_rest_load(tmp_path, caplog):
    root = make_fake_speech_commands(tmp_path / "sc", words=("yes", "no"), speakers=3, utterances=1)
    bad = write_bad_wavs(root / "yes")
    dataset = every_file_as_a_clip(root)
    with caplog.at_level("WARNING", logger="hark.data.cache"):
        split = load(dataset)
    row = {e.path: i for i, e in enumerate(split.examples)}
    rel = {kind: path.relative_to(root).as_posix() for kind, path in bad.items()}
    undecodable = {"truncated-header", "random-bytes", "zero-byte"}

    assert {p.path for p in split.problems} == {rel[k] for k in undecodable}
    assert len(split.problems) == 3  # once each
    assert all(rel[k] in caplog.text for k in undecodable)
    for kind, path in rel.items():
        assert split.valid[row[path]] == (kind not in undecodable), kind
        if kind in undecodable:
            assert not split.waves[row[path]].any()
    assert split.valid.sum() == len(split) - 3

    tone16k = 0.5 * np.sin(2 * np.pi * 440 * np.arange(16000) / 16000)
    resampled = split.waves[row[rel["44.1k"]]]
    assert abs(np.argmax(np.abs(np.fft.rfft(resampled))) - 440) <= 1  # 440 Hz survives at 16 kHz
    np.testing.assert_allclose(resampled[1000:15000], tone16k[1000:15000], atol=0.01)
    np.testing.assert_allclose(split.waves[row[rel["stereo"]]], 0.75 * tone16k, atol=1e-3)  # channel mean
    long_wave, _ = sf.read(bad["over-long"], dtype="float32")
    np.testing.assert_array_equal(split.waves[row[rel["over-long"]]], long_wave[:16000])  # cropped

    caplog.clear()
    with caplog.at_level("WARNING", logger="hark.data.cache"):
        reused = load(dataset)
    assert caplog.text == "" and reused.problems == split.problems
    np.testing.assert_array_equal(reused.valid, split.valid)


def test_parallel_build_matches_a_serial_one(fake_sc, monkeypatch, tmp_path, decode_count):
    dataset = load_dataset(fake_sc)
    serial = load(dataset)
    decode_count.clear()
    monkeypatch.setenv("HARK_CACHE_DIR", str(tmp_path / "other-cache"))
    monkeypatch.setattr(cache, "CHUNK_SIZE", 16)
    parallel = cache.load_split(dataset, "train", workers=2, progress=False)
    assert decode_count == []  # decoded by the worker processes, not here
    assert parallel.directory.parent.parent == tmp_path / "other-cache"
    np.testing.assert_array_equal(parallel.waves, serial.waves)
    np.testing.assert_array_equal(parallel.valid, serial.valid)


KILLED_BUILD = """
import json, os, signal, sys
from hark.data import audio, cache
from hark.data.example import ClipDataset, Example
spec = json.loads(sys.argv[1])
dataset = ClipDataset(spec["root"], [Example(**e) for e in spec["examples"]], spec["labels"])
decoded = []
def dies_midway(*args, **kwargs):
    decoded.append(1)
    if len(decoded) == 5:
        os.kill(os.getpid(), signal.SIGKILL)
    return audio.load_clip(*args, **kwargs)
cache.load_clip = dies_midway
cache.load_split(dataset, "train", workers=1, progress=False)
"""


def test_a_killed_build_leaves_no_cache_that_looks_complete(fake_sc, decode_count):
    dataset = load_dataset(fake_sc)
    spec = {
        "root": str(fake_sc),
        "labels": dataset.labels,
        "examples": [{"path": e.path, "label": e.label, "split": e.split} for e in dataset.examples],
    }
    killed = subprocess.run([sys.executable, "-c", KILLED_BUILD, json.dumps(spec)], env=os.environ.copy())
    assert killed.returncode == -9
    arrays = cache_dir() / "arrays"
    leftovers = list(arrays.glob(".tmp-*"))
    assert leftovers and not list(arrays.glob("*/meta.json"))

    split = load(dataset)
    assert len(decode_count) == len(split) and split.valid.all()
    assert not any(p.exists() for p in leftovers)  # the dead build's folder is cleaned up


def test_noise_is_cached_at_the_requested_rate(fake_sc, decode_count, caplog):
    (fake_sc / "_background_noise_" / "broken.wav").write_bytes(b"RIFF\x00\x00")
    dataset = load_dataset(fake_sc)
    with caplog.at_level("WARNING", logger="hark.data.cache"):
        noise = cache.load_noise(dataset, 16000)
    assert [len(n) for n in noise] == [80000, 80000]
    assert "broken.wav" in caplog.text
    assert not noise[0].flags.writeable and 0.05 < float(np.std(noise[0])) < 0.2

    decode_count.clear()
    assert [len(n) for n in cache.load_noise(dataset, 16000)] == [80000, 80000]
    assert decode_count == []
    assert [len(n) for n in cache.load_noise(dataset, 8000)] == [40000, 40000]


def test_silence_windows_are_cut_from_the_noise_at_their_offsets(tmp_path):
    words = ("yes", "no", "up", "down", "left", "right", "on", "off", "stop", "go", "cat")
    root = make_fake_speech_commands(tmp_path / "sc", words=words, speakers=4, utterances=1)
    split = load(load_dataset(root, task="12"))
    windows = [(i, e) for i, e in enumerate(split.examples) if "#" in e.path]
    assert windows and split.valid.all()
    for i, e in windows[:3]:
        noise, _ = sf.read(root / e.file, dtype="float32")
        np.testing.assert_array_equal(split.waves[i], noise[e.offset : e.offset + 16000])


@pytest.mark.parametrize("damage", ["truncate-waves", "truncate-valid", "garble-problems", "delete-waves"])
def test_a_damaged_cache_entry_is_reported_once_and_rebuilt(fake_sc, decode_count, caplog, damage):
    dataset = load_dataset(fake_sc)
    first = load(dataset)
    expected = np.array(first.waves)
    entry = first.directory
    if damage == "truncate-waves":
        waves = entry / "waves.npy"
        waves.write_bytes(waves.read_bytes()[: waves.stat().st_size // 2])
    elif damage == "truncate-valid":
        (entry / "valid.npy").write_bytes((entry / "valid.npy").read_bytes()[:40])
    elif damage == "garble-problems":
        (entry / "problems.json").write_text("[{")
    else:
        (entry / "waves.npy").unlink()
    decode_count.clear()
    with caplog.at_level(logging.WARNING, logger="hark.data.cache"):
        again = load(dataset)
    damaged = [r.getMessage() for r in caplog.records if "damaged" in r.getMessage()]
    assert len(damaged) == 1 and str(entry) in damaged[0] and "rebuilding" in damaged[0], damaged
    assert len(decode_count) == len(first.examples)
    np.testing.assert_array_equal(np.asarray(again.waves), expected)
    caplog.clear()
    decode_count.clear()
    load(dataset)
    assert decode_count == [] and not [r for r in caplog.records if "damaged" in r.getMessage()]


def test_a_damaged_noise_entry_is_rebuilt(fake_sc, caplog):
    dataset = load_dataset(fake_sc)
    expected = [np.array(n) for n in cache.load_noise(dataset, 16000)]
    entry = next(p for p in (cache_dir() / "arrays").iterdir() if (p / "noise.npy").is_file())
    (entry / "noise.npy").write_bytes((entry / "noise.npy").read_bytes()[:200])
    with caplog.at_level(logging.WARNING, logger="hark.data.cache"):
        again = cache.load_noise(dataset, 16000)
    assert any("damaged" in r.getMessage() for r in caplog.records)
    assert all(np.array_equal(a, b) for a, b in zip(again, expected, strict=True))


def test_a_full_disk_while_caching_names_the_cache_and_the_space(fake_sc, monkeypatch):
    """Writing into a memory map on a full disk would kill the process with SIGBUS: the space
    is reserved first, so a full disk is a message instead, and no half-built entry stays."""

    def full(fd, offset, length):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(os, "posix_fallocate", full, raising=False)
    dataset = load_dataset(fake_sc)
    with pytest.raises(OutputError) as caught:
        load(dataset)
    message = str(caught.value)
    assert str(cache_dir()) in message and "needs" in message and "MB free" in message, message
    arrays = cache_dir() / "arrays"
    assert [p.name for p in arrays.iterdir()] == []
