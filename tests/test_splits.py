"""The official speaker-hash split, the file-name conventions it rests on, and list files."""

from __future__ import annotations

from pathlib import Path

import pytest

from hark.data.folder import read_split_list
from hark.data.naming import clip_stem, hash_split, speaker_and_utterance
from hark.data.splits import which_set

LIST_FILES = {"validation": "validation_list.txt", "test": "testing_list.txt"}


@pytest.mark.parametrize("version, expected_entries", [("v0.02", 9981 + 11005), ("v0.01", 6798 + 6835)])
def test_hash_split_reproduces_every_official_list_entry(shared_data, version, expected_entries):
    root = shared_data / f"speech_commands_official_lists_{version}"
    entries = [(split, line) for split, name in LIST_FILES.items() for line in (root / name).read_text().split()]
    assert len(entries) == expected_entries
    wrong = [(split, path) for split, path in entries if which_set(path) != split]
    assert wrong == []
    # The loaders' path: speaker parsed from the name, then hashed.
    wrong = [(split, path) for split, path in entries if hash_split(path, speaker_and_utterance(path)[0]) != split]
    assert wrong == []


@pytest.mark.parametrize(
    "path, words, expected",
    [
        ("yes/0a7c2a8d_nohash_3.wav", (), ("0a7c2a8d", 3)),
        ("_unknown_/backward_0c540988_nohash_0.wav.wav", ("backward",), ("0c540988", 0)),
        ("yes/yes_0c540988_nohash_12.wav", ("yes",), ("0c540988", 12)),
        # An unknown prefix may be part of a speaker id that contains underscores.
        ("alpha/en_us_f1_nohash_2.wav", ("alpha",), ("en_us_f1", 2)),
        ("_silence_/noise_17.wav", (), (None, None)),
        ("x/abc_nohash_take.wav", (), ("abc", None)),
    ],
)
def test_speaker_and_utterance_from_file_names(path, words, expected):
    assert speaker_and_utterance(path, words) == expected


def test_clip_stem_drops_doubled_audio_suffixes():
    assert clip_stem("_unknown_/backward_0c540988_nohash_0.wav.wav") == "backward_0c540988_nohash_0"
    assert clip_stem("a/b.c.flac") == "b.c"


def test_a_speaker_lands_in_one_split_whatever_the_prefix_or_suffix():
    speaker = "0c540988"
    expected = which_set(f"yes/{speaker}_nohash_0.wav")
    for name in (f"no/{speaker}_nohash_4.wav", f"_unknown_/backward_{speaker}_nohash_0.wav.wav"):
        assert hash_split(name, speaker_and_utterance(name, ("backward",))[0]) == expected


def test_files_without_a_speaker_are_hashed_by_file_name():
    assert hash_split("_silence_/a.wav", None) == which_set("a.wav")
    splits = {hash_split(f"_silence_/{i}.wav", None) for i in range(200)}
    assert splits == {"train", "validation", "test"}


def test_hash_split_honours_percentages():
    paths = [f"w/{i:08x}_nohash_0.wav" for i in range(2000)]
    splits = [hash_split(p, p[2:10], validation_percentage=30, testing_percentage=30) for p in paths]
    assert 0.2 < splits.count("validation") / len(paths) < 0.4
    assert 0.2 < splits.count("test") / len(paths) < 0.4


def test_read_split_list_names_malformed_lines(tmp_path: Path):
    list_file = tmp_path / "validation_list.txt"
    list_file.write_text(
        "yes/a_nohash_0.wav\r\n\nnot a path\n/abs/x.wav\nyes/../b.wav\n"
        "yes/notes.txt\nyes\\c_nohash_0.wav\n  no/d_nohash_1.wav  \n"
    )
    entries, problems = read_split_list(list_file)
    assert entries == [(1, "yes/a_nohash_0.wav"), (8, "no/d_nohash_1.wav")]
    assert [p.path for p in problems] == ["validation_list.txt"] * 5
    assert [p.problem.split(":")[0] for p in problems] == ["line 3", "line 4", "line 5", "line 6", "line 7"]
