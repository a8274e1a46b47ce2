"""Bad input while loading: each case is reported as a Problem naming the file, and loading
carries on with the rest."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from conftest import make_fake_speech_commands, official_split, write_bad_wavs

from hark.data.datasets import describe, load_dataset

CLIPS = 3 * 6 * 1  # words x speakers x utterances of the tree below


@pytest.fixture(scope="module")
def pristine(tmp_path_factory) -> Path:
    return make_fake_speech_commands(
        tmp_path_factory.mktemp("pristine") / "sc", words=("yes", "no", "up"), speakers=6, utterances=1
    )


@pytest.fixture
def tree(pristine, tmp_path) -> Path:
    return Path(shutil.copytree(pristine, tmp_path / "sc"))


def problems_by_path(dataset) -> dict[str, str]:
    return {p.path: p.problem for p in dataset.problems}


def test_unreadable_files_are_skipped_and_the_rest_loads(tree):
    bad = write_bad_wavs(tree / "yes")
    dataset = load_dataset(tree)
    problems = problems_by_path(dataset)
    for kind in ("truncated-header", "random-bytes", "zero-byte"):
        path = f"yes/{bad[kind].name}"
        assert path in problems and path not in {e.path for e in dataset.examples}, kind
    assert "zero-length" in problems[f"yes/{bad['zero-byte'].name}"]
    assert "unreadable audio header" in problems[f"yes/{bad['random-bytes'].name}"]
    assert len(dataset) == CLIPS + len(bad) - 3
    assert f"problems: {len(dataset.problems)}" in describe(dataset)


def test_unusual_but_valid_wavs_load_with_their_own_format(tree):
    bad = write_bad_wavs(tree / "no")
    by_path = {e.path: e for e in load_dataset(tree).examples}
    expected = {
        "8-bit": (16000, 16000),
        "float": (16000, 16000),
        "44.1k": (44100, 44100),
        "stereo": (16000, 16000),
        "over-long": (40000, 16000),
        "silent": (16000, 16000),
        "clipped": (16000, 16000),
    }
    for kind, (frames, rate) in expected.items():
        example = by_path[f"no/{bad[kind].name}"]
        assert (example.num_samples, example.sample_rate) == (frames, rate), kind
        assert example.label == "no" and example.speaker_id == bad[kind].name.split("_")[0]


def test_non_audio_files_in_class_folders_are_reported(tree):
    (tree / "yes" / "notes.txt").write_text("recorded on tuesday")
    (tree / "up" / ".DS_Store").write_bytes(b"\0\1")
    (tree / "_background_noise_" / "README.md").write_text("noise")  # as in the official release
    (tree / "LICENSE").write_text("CC BY 4.0")
    dataset = load_dataset(tree)
    assert problems_by_path(dataset).keys() == {"yes/notes.txt", "up/.DS_Store"}
    assert "not an audio file" in problems_by_path(dataset)["yes/notes.txt"]
    assert len(dataset) == CLIPS and len(dataset.noise_files) == 2


def test_a_missing_list_file_falls_back_to_the_hash_and_says_so(tree):
    (tree / "testing_list.txt").unlink()
    dataset = load_dataset(tree)
    assert problems_by_path(dataset).keys() == {"testing_list.txt"}
    assert "speaker hash" in dataset.problems[0].problem
    assert all(e.split == official_split(e.path) for e in dataset.examples)


def test_malformed_list_lines_are_named_by_file_and_line(tree):
    listed = (tree / "validation_list.txt").read_text().split()
    (tree / "validation_list.txt").write_text("\n".join(["garbage line", *listed, "../../etc/passwd.wav"]) + "\n")
    dataset = load_dataset(tree)
    problems = [str(p) for p in dataset.problems]
    not_an_entry = "is not a <word>/<file>.wav entry; ignored"
    assert problems == [
        f"validation_list.txt: line 1: 'garbage line' {not_an_entry}",
        f"validation_list.txt: line {len(listed) + 2}: '../../etc/passwd.wav' {not_an_entry}",
    ]
    assert {e.path for e in dataset.split("validation")} == set(listed)


def test_list_entries_naming_absent_files_are_reported(tree):
    listed = (tree / "validation_list.txt").read_text().split()
    (tree / listed[0]).unlink()
    with (tree / "validation_list.txt").open("a") as handle:
        handle.write("yes/ffffffff_nohash_9.wav\n")
    dataset = load_dataset(tree)
    problems = [str(p) for p in dataset.problems]
    assert problems == [
        f"validation_list.txt: line 1: {listed[0]} does not exist",
        f"validation_list.txt: line {len(listed) + 1}: yes/ffffffff_nohash_9.wav does not exist",
    ]
    assert len(dataset) == CLIPS - 1
    assert {e.path for e in dataset.split("validation")} == set(listed[1:])


def test_a_clip_in_both_lists_is_reported_once_and_kept_in_validation(tree):
    clip = (tree / "validation_list.txt").read_text().split()[0]
    with (tree / "testing_list.txt").open("a") as handle:
        handle.write(clip + "\n")
    dataset = load_dataset(tree)
    assert [p.path for p in dataset.problems] == ["testing_list.txt"]
    assert next(e for e in dataset.examples if e.path == clip).split == "validation"


def test_an_unreadable_noise_file_is_reported_by_the_twelve_class_task(tmp_path):
    words = ("yes", "no", "up", "down", "left", "right", "on", "off", "stop", "go", "bed")
    root = make_fake_speech_commands(tmp_path / "sc", words=words, speakers=4, utterances=1)
    (root / "_background_noise_" / "white_noise.wav").write_bytes(b"RIFF")
    dataset = load_dataset(root, task="12")
    problems = problems_by_path(dataset)
    assert "_background_noise_/white_noise.wav" in problems
    # 5-s noise files leave under 1 s for the validation and test stretches.
    assert "too little background noise" in problems["_background_noise_"]
    silence = [e for e in dataset.examples if e.label == "_silence_"]
    assert silence and all(e.file == "_background_noise_/pink_noise.wav" for e in silence)
