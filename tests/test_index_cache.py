"""The dataset-index cache: a second load of an unchanged folder is served from the cache and
equals a fresh load; any change to the folder's clips, the arguments or a corrupt entry means
a fresh load; manifests are never cached."""

from __future__ import annotations

import shutil

import pytest

from conftest import make_fake_speech_commands
from hark.data import datasets
from hark.data.datasets import load_dataset
from hark.data.index_cache import index_cached
from hark.data.manifest import write_manifest
from hark.data.paths import cache_dir


@pytest.fixture
def counted(monkeypatch):
    calls = []

    def loader(source, task="all", version=None, **opts):
        calls.append((str(source), task, opts))
        return datasets.load_dataset.__wrapped__(source, task, version, **opts)

    return index_cached(loader), calls


def test_second_load_comes_from_the_cache_and_equals_a_fresh_one(tmp_path, counted):
    load, calls = counted
    root = make_fake_speech_commands(tmp_path / "sc")
    first, second = load(root), load(root)
    assert len(calls) == 1
    assert second.examples == first.examples and second.labels == first.labels
    assert second.examples == datasets.load_dataset.__wrapped__(root).examples
    load(root, validation_percentage=20.0)
    assert len(calls) == 2


def test_added_clip_and_corrupt_entry_mean_a_fresh_load(tmp_path, counted):
    load, calls = counted
    root = make_fake_speech_commands(tmp_path / "sc")
    before = load(root)
    word = root / "yes"
    clip = next(word.glob("*.wav"))
    shutil.copy(clip, word / "ffffffff_nohash_9.wav")
    after = load(root)
    assert len(calls) == 2 and len(after.examples) == len(before.examples) + 1
    entries = list((cache_dir() / "index").glob("*.pkl"))
    assert entries
    for entry in entries:
        entry.write_bytes(b"not a pickle")
    assert load(root).examples == after.examples and len(calls) == 3


def test_manifests_are_read_directly(tmp_path, counted):
    load, calls = counted
    root = make_fake_speech_commands(tmp_path / "sc")
    manifest = write_manifest(load_dataset(root), tmp_path / "fixed.json")
    load(manifest)
    load(manifest)
    assert calls.count((str(manifest), "all", {})) == 2
