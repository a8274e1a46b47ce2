"""load_dataset on Speech Commands folders and archives, folder-per-class data, the 12-class
task and manifests."""

from __future__ import annotations

import json
import math
import tarfile
from collections import defaultdict
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from conftest import make_fake_speech_commands, official_split

from hark.cli import main as hark_main
from hark.data import archive
from hark.data.audio import load_clip, write_wav
from hark.data.datasets import dataset_root, describe, load_dataset
from hark.data.manifest import read_manifest, write_manifest
from hark.data.speech_commands import CORE_WORDS, TWELVE_CLASS_LABELS
from hark.errors import HarkError

TWELVE_TASK_WORDS = (*CORE_WORDS, "bed", "cat", "tree")


def listed_splits(root: Path) -> dict[str, str]:
    """Split of every clip according to the list files, read independently of the loader."""
    splits = {
        str(p.relative_to(root).as_posix()): "train"
        for p in root.glob("*/*.wav")
        if p.parent.name != "_background_noise_"
    }
    for split, name in (("validation", "validation_list.txt"), ("test", "testing_list.txt")):
        for line in (root / name).read_text().split():
            splits[line] = split
    return splits


def speakers_per_split(dataset) -> dict[str, set[str]]:
    seen = defaultdict(set)
    for e in dataset.examples:
        if e.speaker_id is not None:
            seen[e.speaker_id].add(e.split)
    return seen


@pytest.fixture(scope="module")
def fake_sc(tmp_path_factory) -> Path:
    """Read-only, so shared by the tests of this module."""
    return make_fake_speech_commands(tmp_path_factory.mktemp("sc") / "speech_commands")


@pytest.fixture(scope="module")
def twelve_task_root(tmp_path_factory) -> Path:
    root = make_fake_speech_commands(
        tmp_path_factory.mktemp("sc12") / "sc12", words=TWELVE_TASK_WORDS, speakers=16, utterances=1
    )
    rng = np.random.default_rng(1)
    for name in ("white_noise", "pink_noise"):  # long enough for validation/test stretches
        write_wav(root / "_background_noise_" / f"{name}.wav", 0.1 * rng.standard_normal(16000 * 30))
    return root


@pytest.mark.parametrize("version, classes, noise", [("v0.02", 35, 6), ("v0.01", 30, 0)])
def test_real_mini_speech_commands(shared_data, version, classes, noise):
    root = shared_data / f"speech_commands_mini_{version}"
    dataset = load_dataset(root)
    assert dataset.name == f"speech_commands_{version}"
    assert len(dataset.labels) == classes and len(dataset) == 10 * classes
    assert len(dataset.noise_files) == noise
    assert not any(label.startswith("_") for label in dataset.labels)
    assert {e.path: e.split for e in dataset.examples} == listed_splits(root)
    assert dataset.problems == []
    assert all(len(splits) == 1 for splits in speakers_per_split(dataset).values())
    for example in dataset.examples[::37]:
        info = sf.info(str(root / example.path))
        assert (example.num_samples, example.sample_rate) == (info.frames, 16000)
        assert example.path.startswith(f"{example.label}/{example.speaker_id}_nohash_{example.utterance_number}")


def test_version_given_must_match_the_words(shared_data):
    root = shared_data / "speech_commands_mini_v0.02"
    assert load_dataset(root, version="v0.02").name == "speech_commands_v0.02"
    with pytest.raises(HarkError, match="backward.*looks like v0.02"):
        load_dataset(root, version="v0.01")
    with pytest.raises(HarkError, match="unknown Speech Commands version"):
        load_dataset(root, version="v9")


def test_without_list_files_the_split_is_the_official_hash(tmp_path):
    root = make_fake_speech_commands(tmp_path / "sc", with_lists=False)
    dataset = load_dataset(root)
    assert len(dataset) == 4 * 12 * 2
    assert {e.split for e in dataset.examples} > {"train"}
    assert all(e.split == official_split(e.path) for e in dataset.examples)
    assert sorted(p.path for p in dataset.problems) == ["testing_list.txt", "validation_list.txt"]
    assert "speaker hash" in dataset.problems[0].problem


def make_tarball(source: Path, archive_path: Path, wrap: str | None = None) -> Path:
    with tarfile.open(archive_path, "w:gz", compresslevel=1) as tar:
        for child in sorted(source.iterdir()):
            tar.add(child, arcname=f"{wrap}/{child.name}" if wrap else child.name)
    return archive_path


@pytest.mark.parametrize("wrap", [None, "speech_commands"])
def test_tar_gz_round_trip_extracts_once(tmp_path, fake_sc, monkeypatch, wrap):
    tarball = make_tarball(fake_sc, tmp_path / "sc.tar.gz", wrap)
    from_folder = load_dataset(fake_sc)
    from_archive = load_dataset(tarball)
    assert from_archive.examples == from_folder.examples
    assert from_archive.labels == from_folder.labels and from_archive.noise_files == from_folder.noise_files
    assert archive.cache_dir() in from_archive.root.parents
    monkeypatch.setattr(archive, "extract_to", lambda *a: pytest.fail("extracted a second time"))
    assert load_dataset(tarball).examples == from_folder.examples


def test_dataset_root_is_where_the_loader_puts_the_clips(tmp_path, fake_sc):
    """What analysis and the explorer resolve a run's clip paths against: the loader's root for
    a folder, an archive and a manifest, and a relative source found under a run folder."""
    tarball = make_tarball(fake_sc, tmp_path / "sc.tar.gz", "wrapped")
    manifest = write_manifest(load_dataset(fake_sc), tmp_path / "fixed" / "manifest.json")
    for source in (fake_sc, tarball, manifest):
        assert dataset_root(source) == load_dataset(source).root.resolve()
    assert dataset_root(fake_sc.name, base=fake_sc.parent) == fake_sc.resolve()
    with pytest.raises(HarkError, match="nowhere: dataset not found"):
        dataset_root("nowhere", base=tmp_path)


def test_an_archive_of_one_class_folder_is_not_taken_for_a_wrapper(tmp_path):
    rng = np.random.default_rng(0)
    for speaker in range(3):
        write_wav(tmp_path / "src" / "marco" / f"{speaker:08x}_nohash_0.wav", 0.1 * rng.standard_normal(4000))
    dataset = load_dataset(make_tarball(tmp_path / "src", tmp_path / "polo.tgz"))
    assert dataset.labels == ["marco"] and len(dataset) == 3 and dataset.name == "polo"


def test_interrupted_extraction_is_redone(tmp_path, fake_sc):
    tarball = make_tarball(fake_sc, tmp_path / "sc.tgz")
    target = archive.cache_dir() / "archives" / archive.archive_fingerprint(tarball)
    abandoned = target.with_name(f".{target.name}.partial-999999999")
    (abandoned / "yes").mkdir(parents=True)
    dataset = load_dataset(tarball)
    assert len(dataset) == 96 and not abandoned.exists()


def test_archive_members_escaping_the_folder_are_refused(tmp_path):
    evil = tmp_path / "evil.tar.gz"
    payload = tmp_path / "payload.wav"
    write_wav(payload, np.zeros(1600))
    with tarfile.open(evil, "w:gz") as tar:
        tar.add(payload, arcname="yes/a_nohash_0.wav")
        tar.add(payload, arcname="../../escaped.wav")
    with pytest.raises(HarkError, match="unsafe member"):
        load_dataset(evil)
    assert not list(tmp_path.parent.rglob("escaped.wav"))
    assert not list((archive.cache_dir() / "archives").glob("*partial*"))


def test_twelve_class_task_follows_the_reference_proportions(twelve_task_root):
    full = load_dataset(twelve_task_root)
    dataset = load_dataset(twelve_task_root, task="12")
    assert dataset.labels == list(TWELVE_CLASS_LABELS)
    for split in ("train", "validation", "test"):
        words = [e for e in full.split(split) if e.label in CORE_WORDS]
        others = {e.path for e in full.split(split) if e.label not in CORE_WORDS}
        chosen = dataset.split(split)
        unknown = [e for e in chosen if e.label == "_unknown_"]
        silence = [e for e in chosen if e.label == "_silence_"]
        assert sorted(e.path for e in chosen if e.label in CORE_WORDS) == sorted(e.path for e in words)
        assert len(unknown) == min(len(others), math.ceil(0.1 * len(words)))
        assert {e.path for e in unknown} <= others
        assert len(silence) == math.ceil(0.1 * len(words))
        assert all(e.file in full.noise_files and e.num_samples == 16000 for e in silence)
    assert dataset.problems == []


def test_twelve_class_silence_windows_never_share_noise_across_splits(twelve_task_root):
    dataset = load_dataset(twelve_task_root, task="12", silence_percentage=200)
    covered = defaultdict(lambda: defaultdict(set))
    for e in (e for e in dataset.examples if e.label == "_silence_"):
        covered[e.file][e.split].update(range(e.offset, e.offset + e.num_samples, 400))
        assert e.offset + e.num_samples <= 16000 * 30
    for per_split in covered.values():
        assert not per_split["train"] & per_split["validation"]
        assert not per_split["train"] & per_split["test"] and not per_split["validation"] & per_split["test"]
    window = next(e for e in dataset.examples if e.label == "_silence_" and e.offset)
    expected = sf.read(str(twelve_task_root / window.file), start=window.offset, frames=16000)[0]
    assert np.allclose(load_clip(dataset.root, window.path), expected, atol=1e-4)


def test_twelve_class_unknown_sample_is_deterministic_for_a_seed(twelve_task_root):
    def unknown(**opts):
        return [e.path for e in load_dataset(twelve_task_root, task="12", **opts).examples if e.label == "_unknown_"]

    assert unknown() == unknown()
    assert unknown(seed=1) == unknown(seed=1) != unknown(seed=2)


def test_twelve_class_task_needs_the_ten_words(fake_sc):
    with pytest.raises(HarkError, match="missing: left, right, on, off, stop, go"):
        load_dataset(fake_sc, task="12")


def test_twelve_class_task_on_real_mini(shared_data):
    dataset = load_dataset(shared_data / "speech_commands_mini_v0.02", task="12")
    counts = {label: sum(c.get(label, 0) for c in dataset.counts().values()) for label in dataset.labels}
    assert counts["_silence_"] > 0 and counts["_unknown_"] > 0
    assert all(counts[w] == 10 for w in CORE_WORDS)


def make_twelve_class_test_archive_layout(root: Path) -> Path:
    """As the official speech_commands_test_set_v0.02: `_silence_`/`_unknown_` folders,
    unknown clips named `<word>_<speaker>_nohash_<n>.wav.wav`."""
    rng = np.random.default_rng(0)
    speakers = [f"{i:08x}" for i in range(0x0C540988, 0x0C540988 + 16)]
    for s, speaker in enumerate(speakers):
        write_wav(root / "yes" / f"{speaker}_nohash_0.wav", 0.1 * rng.standard_normal(16000))
        write_wav(root / "_unknown_" / f"backward_{speaker}_nohash_{s % 3}.wav.wav", rng.standard_normal(16000) * 0.1)
        write_wav(root / "_silence_" / f"{s}.wav", np.zeros(16000))
    return root


def test_folder_per_class_with_the_twelve_class_test_archive_naming(tmp_path):
    root = make_twelve_class_test_archive_layout(tmp_path / "test_set")
    dataset = load_dataset(root)
    assert dataset.labels == ["_silence_", "_unknown_", "yes"]
    assert dataset.name == "test_set" and len(dataset) == 48
    unknown = [e for e in dataset.examples if e.label == "_unknown_"]
    assert all(len(e.speaker_id) == 8 and not e.speaker_id.startswith("backward") for e in unknown)
    assert all(len(splits) == 1 for splits in speakers_per_split(dataset).values())
    assert all(e.speaker_id is None for e in dataset.examples if e.label == "_silence_")
    # Same speaker hash as the official split, whatever the prefix and doubled suffix.
    assert all(e.split == official_split(f"x/{e.speaker_id}_nohash_0.wav") for e in unknown)


def test_any_folder_per_class_dataset_splits_by_speaker(tmp_path):
    rng = np.random.default_rng(0)
    for word in ("alpha", "beta"):
        for speaker in range(80):
            write_wav(tmp_path / "kws" / word / f"spk{speaker}_nohash_0.wav", rng.standard_normal(8000) * 0.1)
    dataset = load_dataset(tmp_path / "kws")
    assert dataset.labels == ["alpha", "beta"] and dataset.problems == []
    assert {e.split for e in dataset.examples} == {"train", "validation", "test"}
    assert all(len(splits) == 1 for splits in speakers_per_split(dataset).values())
    with pytest.raises(HarkError, match="not Speech Commands"):
        load_dataset(tmp_path / "kws", version="v0.02")


@pytest.mark.parametrize("inside", [True, False])
def test_manifest_round_trip(tmp_path, twelve_task_root, inside):
    dataset = load_dataset(twelve_task_root, task="12")
    path = (twelve_task_root.parent if inside else tmp_path / "elsewhere") / "fixed.json"
    write_manifest(dataset, path)
    stored_root = json.loads(path.read_text())["root"]
    assert Path(stored_root).is_absolute() != inside
    again = load_dataset(path)
    assert again.examples == dataset.examples
    assert again.labels == dataset.labels and again.noise_files == dataset.noise_files
    assert again.root == dataset.root.resolve() and again.name == dataset.name
    assert again.counts() == dataset.counts()


def test_a_twelve_class_manifest_with_an_extra_class_keeps_its_clips_under_task_12(tmp_path, twelve_task_root):
    dataset = load_dataset(twelve_task_root, task="12")
    moved = replace(dataset.examples[0], label="_cutoff_")
    fixed = replace(dataset, examples=[moved, *dataset.examples[1:]], labels=[*dataset.labels, "_cutoff_"])
    again = load_dataset(write_manifest(fixed, tmp_path / "fixed.json"), task="12")
    assert again.examples == fixed.examples
    assert again.labels == [*TWELVE_CLASS_LABELS, "_cutoff_"]


def test_manifest_entries_that_cannot_be_used_are_problems(tmp_path, fake_sc):
    path = write_manifest(load_dataset(fake_sc), tmp_path / "m.json")
    document = json.loads(path.read_text())
    document["examples"][0]["label"] = "nope"
    document["examples"][1]["split"] = "dev"
    document["examples"][2]["path"] = "yes/gone_nohash_0.wav"
    del document["examples"][3]["split"]
    path.write_text(json.dumps(document))
    dataset = read_manifest(path)
    assert len(dataset) == 96 - 4
    assert [p.problem.split(":")[0] for p in dataset.problems] == [f"examples[{i}]" for i in range(4)]
    assert "gone_nohash_0.wav does not exist" in dataset.problems[2].problem
    path.write_text('{"format": "something-else"}')
    with pytest.raises(HarkError, match="not a hark manifest"):
        load_dataset(path)
    path.write_text("{broken")
    with pytest.raises(HarkError, match="m.json"):
        load_dataset(path)


def test_bad_sources_and_options_are_clear_errors(tmp_path, fake_sc):
    with pytest.raises(HarkError, match="no such file"):
        load_dataset(tmp_path / "nothing")
    with pytest.raises(HarkError, match="unknown task"):
        load_dataset(fake_sc, task="35")
    with pytest.raises(HarkError, match="unknown dataset option.*valid: validation_percentage"):
        load_dataset(fake_sc, silence=3)
    (tmp_path / "empty").mkdir()
    with pytest.raises(HarkError, match="no class folders"):
        load_dataset(tmp_path / "empty")


def test_describe_and_hark_data_info(fake_sc, capsys):
    text = describe(load_dataset(fake_sc))
    assert "speech_commands_v0.01: 96 clips, 4 classes" in text and "problems: 0" in text
    assert hark_main(["data", "info", str(fake_sc)]) == 0
    assert "96 clips" in capsys.readouterr().out
