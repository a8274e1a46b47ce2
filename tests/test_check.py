"""`hark check`: every bad input named with its problem, leakage found, plots written."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest
from PIL import Image

from conftest import make_fake_speech_commands, write_bad_wavs
from hark.cli import main
from hark.analysis.detectors import DetectorConfig, detect_clips
from hark.data.audio import write_wav
from hark.data.check import CheckConfig, check_dataset, inspect_file
from hark.data.example import ClipDataset, Example

# What `hark check` must say about each file of write_bad_wavs (a regex on its problem text).
EXPECTED = {
    "truncated-header": r"header|not a readable audio file|malformed",
    "random-bytes": r"header|not a readable audio file|not recognised",
    "zero-byte": r"zero-length",
    "8-bit": r"8-bit",
    "float": r"floating-point",
    "44.1k": r"44100 Hz, expected 16000",
    "stereo": r"2 channels",
    "over-long": r"2\.50 s long",
    "silent": r"silent",
    "clipped": r"clipped",
}


def hark_check(tmp_path: Path, data: Path, *flags: str) -> tuple[int, dict]:
    report = tmp_path / "report.json"
    code = main(
        [
            "check",
            str(data),
            "--json",
            str(report),
            "--out",
            str(tmp_path / "check"),
            "--quiet",
            "--workers",
            "1",
            *flags,
        ]
    )
    return code, json.loads(report.read_text())


@pytest.fixture(scope="module")
def bad_tree(tmp_path_factory):
    root = make_fake_speech_commands(
        tmp_path_factory.mktemp("bad") / "sc", words=("yes", "no"), speakers=3, utterances=1, with_noise=False
    )
    bad = write_bad_wavs(root / "yes")
    (root / "no" / "notes.txt").write_text("not audio")
    return root, {kind: path.relative_to(root).as_posix() for kind, path in bad.items()}


@pytest.fixture(scope="module")
def bad_report(bad_tree, tmp_path_factory):
    root, _ = bad_tree
    code, report = hark_check(tmp_path_factory.mktemp("bad-check"), root, "--no-plots")
    assert code == 0
    return report


@pytest.mark.parametrize("kind", EXPECTED)
def test_each_bad_input_is_named_with_its_problem(bad_tree, bad_report, kind):
    _, paths = bad_tree
    said = [p["problem"] for p in bad_report["problems"] if p["path"] == paths[kind]]
    assert said, f"{kind} file {paths[kind]} not reported"
    assert any(re.search(EXPECTED[kind], text, re.IGNORECASE) for text in said), said


def test_good_clips_and_non_audio_files(bad_tree, bad_report):
    _, paths = bad_tree
    flagged = {p["path"] for p in bad_report["problems"]}
    assert "no/notes.txt" in flagged  # the loader's own problems are part of the report
    assert flagged - {"no/notes.txt"} == set(paths.values())  # the fake word clips are clean
    readable = len(paths) - 3  # truncated, random bytes and zero-byte files cannot be loaded
    assert bad_report["num_clips"] == 2 * 3 + readable
    assert bad_report["per_class"] == {"no": 3, "yes": 3 + readable}
    assert sum(bad_report["per_split"].values()) == bad_report["num_clips"]
    assert bad_report["num_classes"] == 2


def test_check_judges_files_a_loader_let_through(bad_tree):
    """A manifest or another loader may hand over undecodable files: check names them itself."""
    root, paths = bad_tree
    dataset = ClipDataset(root, [Example(path, "yes", "train") for path in paths.values()], ["yes"])
    report = check_dataset(dataset, CheckConfig(workers=1), progress=False)
    kinds = {p["path"]: p["kind"] for p in report["problems"]}
    assert kinds[paths["truncated-header"]] == "unreadable"
    assert kinds[paths["random-bytes"]] == "unreadable"
    assert kinds[paths["zero-byte"]] == "zero-length"


def plant_leaks(root: Path) -> tuple[str, str, str]:
    """Move one clip of a validation speaker into the test list (speaker in two splits) and copy
    a training clip, under a new speaker's name, into the test list (same audio in two splits)."""
    validation = (root / "validation_list.txt").read_text().split()
    testing = (root / "testing_list.txt").read_text().split()
    moved = validation.pop()
    speaker = Path(moved).name.split("_nohash_")[0]
    listed = set(validation) | set(testing) | {moved}
    original = next(
        p.relative_to(root).as_posix()
        for p in sorted(root.glob("yes/*.wav"))
        if p.relative_to(root).as_posix() not in listed
    )
    copy = "no/0badc0de_nohash_0.wav"
    shutil.copy(root / original, root / copy)
    (root / "validation_list.txt").write_text("\n".join(validation) + "\n")
    (root / "testing_list.txt").write_text("\n".join(testing + [moved, copy]) + "\n")
    return speaker, original, copy


def test_leakage_is_found_and_strict_fails_on_it(tmp_path):
    root = make_fake_speech_commands(tmp_path / "sc", speakers=10, utterances=1)
    code, clean = hark_check(tmp_path / "clean", root, "--strict", "--no-plots")
    assert code == 0 and clean["leakage"]["speakers_in_multiple_splits"] == []
    assert clean["leakage"]["duplicate_audio_across_splits"] == []

    speaker, original, copy = plant_leaks(root)
    code, report = hark_check(tmp_path / "leaky", root, "--no-plots")
    assert code == 0  # leakage alone fails only with --strict
    leaks = report["leakage"]["speakers_in_multiple_splits"]
    assert [leak["speaker"] for leak in leaks] == [speaker]
    assert set(leaks[0]["splits"]) == {"validation", "test"}
    duplicates = report["leakage"]["duplicate_audio_across_splits"]
    assert [{(c["path"], c["split"]) for c in group["clips"]} for group in duplicates] == [
        {(original, "train"), (copy, "test")}
    ]

    code, _ = hark_check(tmp_path / "strict", root, "--strict", "--no-plots")
    assert code == 1


def test_plots_are_valid_images_of_sensible_size(fake_sc, tmp_path):
    dataset = ClipDataset(
        fake_sc,
        [
            Example(p.relative_to(fake_sc).as_posix(), p.parent.name, "train")
            for p in sorted(fake_sc.glob("[!_]*/*.wav"))
        ],
        ["down", "no", "up", "yes"],
    )
    report = check_dataset(dataset, CheckConfig(workers=1), out=tmp_path / "plots", progress=False)
    assert set(report["plots"]) == {"lengths", "classes", "preview"}
    for name, path in report["plots"].items():
        assert Path(path).parent == tmp_path / "plots"
        with Image.open(path) as image:
            assert image.format == "PNG"
            image.verify()
        with Image.open(path) as image:
            width, height = image.size
            assert 300 <= width <= 4000 and 200 <= height <= 4000, (name, image.size)
            darkest, brightest = image.convert("L").getextrema()
            assert brightest - darkest > 100, f"{name} is blank"
    with Image.open(report["plots"]["preview"]) as preview:
        assert preview.height >= 4 * 60  # a row per class


def test_real_speech_commands_clips(shared_data, tmp_path):
    code, report = hark_check(tmp_path, shared_data / "speech_commands_mini_v0.02", "--preview-per-class", "1")
    assert code == 0
    assert report["num_clips"] == 350 and report["num_classes"] == 35
    assert set(report["per_class"].values()) == {10}
    assert sum(report["per_split"].values()) == 350 and set(report["per_split"]) == {"train", "validation", "test"}
    assert report["leakage"]["speakers_in_multiple_splits"] == []  # the official split is by speaker
    assert report["num_noise_files"] == 6
    assert {"lengths", "classes", "preview"} == set(report["plots"])
    assert all(Path(p).is_file() for p in report["plots"].values())
    assert (tmp_path / "check" / "report.json").is_file()


def test_check_and_analyze_give_a_recording_the_same_content_hash(tmp_path):
    """So their duplicate reports agree: the same samples renamed or stored as float hash alike,
    whatever rate the analysed model runs at; a different recording does not."""
    import numpy as np
    import soundfile as sf

    wave = (0.3 * np.sin(np.arange(16000) / 7.0)).astype(np.float32)
    write_wav(tmp_path / "yes" / "a.wav", wave)
    pcm, _ = sf.read(tmp_path / "yes" / "a.wav", dtype="float32")
    (tmp_path / "no").mkdir()
    sf.write(tmp_path / "no" / "b.wav", pcm, 16000, subtype="FLOAT")
    write_wav(tmp_path / "no" / "c.wav", 0.5 * wave)
    paths = ["yes/a.wav", "no/b.wav", "no/c.wav"]
    checked = [inspect_file(tmp_path, path, CheckConfig()).digest for path in paths]
    for rate in (16000, 8000):  # the analysed model's rate
        assert detect_clips(tmp_path, paths, DetectorConfig(sample_rate=rate), progress=False)[2] == checked
    assert checked[0] == checked[1] != checked[2]
