"""`hark synth`: layout, format, splits, determinism, and faults that really are in the audio."""

from __future__ import annotations

import csv
import hashlib
import re
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from hark import cli
from hark.data.splits import which_set
from hark.errors import HarkError
from hark.synth import DEFAULT_SPEAKERS, parse_faults, speaker_table, synthesize
from hark.synth.espeak import Synthesizer, data_path
from hark.synth.voices import missing_voices

TINY = dict(words=("yes", "three", "tree"), speakers=6, utterances=2, seed=3, faults={}, progress=False)
FAULTY_RATES = {"cutoff": 0.2, "mislabel": 0.15, "multiword": 0.15, "silent": 0.1, "clipped": 0.15}
FAULTY = dict(
    words=("three", "tree", "up", "off"), speakers=10, utterances=3, seed=1, faults=FAULTY_RATES, progress=False
)
CLIP_NAME = re.compile(r"^[0-9a-f]{8}_nohash_\d+\.wav$")


@pytest.fixture(scope="module")
def tiny(tmp_path_factory) -> Path:
    return synthesize(tmp_path_factory.mktemp("tiny") / "sc", workers=2, **TINY)


@pytest.fixture(scope="module")
def faulty(tmp_path_factory) -> tuple[Path, dict[str, dict]]:
    root = synthesize(tmp_path_factory.mktemp("faulty") / "sc", **FAULTY)
    with (root / "faults.csv").open() as handle:
        return root, {row["path"]: row for row in csv.DictReader(handle)}


def clips(root: Path) -> list[str]:
    return sorted(p.relative_to(root).as_posix() for p in root.glob("*/*.wav") if not p.parent.name.startswith("_"))


def checksum(root: Path) -> str:
    digest = hashlib.sha1()
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        digest.update(path.relative_to(root).as_posix().encode() + path.read_bytes())
    return digest.hexdigest()


def frame_rms(path: Path) -> np.ndarray:
    """RMS of the clip's twenty 50-ms frames."""
    wave, _ = sf.read(str(path), dtype="float32")
    return np.sqrt(np.mean(wave.reshape(20, -1) ** 2, axis=1))


def noise_floor(frames: np.ndarray) -> float:
    return float(np.percentile(frames, 10))


def test_official_layout_and_names(tiny):
    folders = sorted(p.name for p in tiny.iterdir() if p.is_dir())
    assert folders == ["_background_noise_", "three", "tree", "yes"]
    paths = clips(tiny)
    assert len(paths) == 3 * 6 * 2
    assert all(CLIP_NAME.match(p.split("/")[1]) for p in paths), paths
    assert len({p.split("/")[1].split("_")[0] for p in paths}) == 6
    noise = sorted((tiny / "_background_noise_").glob("*.wav"))
    assert len(noise) >= 4
    assert all(sf.info(str(p)).duration >= 10 for p in noise)


def test_split_lists_follow_the_official_hash(tiny):
    listed = {}
    for split, name in (("validation", "validation_list.txt"), ("test", "testing_list.txt")):
        for line in (tiny / name).read_text().splitlines():
            listed[line] = split
    expected = {p: which_set(p) for p in clips(tiny)}
    assert listed == {p: s for p, s in expected.items() if s != "train"}


def test_clips_are_one_second_16k_mono_pcm16(tiny):
    for path in clips(tiny):
        info = sf.info(str(tiny / path))
        assert (info.samplerate, info.channels, info.frames, info.subtype) == (16000, 1, 16000, "PCM_16"), path
    assert not (tiny / "faults.csv").read_text().strip().splitlines()[1:]  # no faults asked, none listed


def test_same_seed_same_bytes_whatever_the_workers(tiny, tmp_path):
    again = synthesize(tmp_path / "again", workers=1, **TINY)
    assert checksum(again) == checksum(tiny)
    other = synthesize(tmp_path / "other", workers=1, **(TINY | {"seed": 4}))
    assert checksum(other) != checksum(tiny)


def test_fault_table_matches_the_requested_rates(faulty):
    root, truth = faulty
    paths = clips(root)
    counts = {fault: sum(r["fault"] == fault for r in truth.values()) for fault in FAULTY_RATES}
    assert counts == {fault: round(rate * len(paths)) for fault, rate in FAULTY_RATES.items()}
    assert set(truth) <= set(paths)
    for path, row in truth.items():
        filed = path.split("/")[0]
        if row["fault"] == "mislabel":
            assert row["true_label"] != filed and row["true_label"] in FAULTY["words"]
        elif row["fault"] == "silent":
            assert row["true_label"] == "_silence_"
        else:
            assert row["true_label"] == filed


def test_mislabels_prefer_confusable_words(faulty):
    _, truth = faulty
    pairs = {frozenset(("three", "tree")), frozenset(("up", "off"))}
    swaps = [frozenset((p.split("/")[0], r["true_label"])) for p, r in truth.items() if r["fault"] == "mislabel"]
    assert sum(s in pairs for s in swaps) > len(swaps) / 2


def test_cut_off_clips_end_in_speech_and_clean_clips_end_quiet(faulty):
    root, truth = faulty

    def end_over_floor(path):
        frames = frame_rms(root / path)
        return frames[-1] / noise_floor(frames)

    cut = [end_over_floor(p) for p, r in truth.items() if r["fault"] == "cutoff"]
    clean = [end_over_floor(p) for p in clips(root) if p not in truth]
    assert cut and clean
    assert min(cut) > 4.0, sorted(cut)[:5]
    assert max(clean) < 4.0, sorted(clean)[-5:]


def test_silent_clips_hold_only_noise(faulty):
    root, truth = faulty

    def peak_over_floor(path):
        frames = frame_rms(root / path)
        return frames.max() / noise_floor(frames)

    silent = [peak_over_floor(p) for p, r in truth.items() if r["fault"] == "silent"]
    clean = [peak_over_floor(p) for p in clips(root) if p not in truth]
    assert max(silent) < 4.0 < min(clean), (sorted(silent)[-3:], sorted(clean)[:3])


def test_clipped_clips_sit_at_full_scale(faulty):
    root, truth = faulty

    def full_scale_share(path):
        pcm, _ = sf.read(str(root / path), dtype="int16")
        return np.mean(np.abs(pcm.astype(np.int32)) >= 32767)

    clipped = [full_scale_share(p) for p, r in truth.items() if r["fault"] == "clipped"]
    assert min(clipped) > 0.01
    assert max(full_scale_share(p) for p in clips(root) if p not in truth) == 0


def test_multiword_clips_hold_more_speech(faulty):
    root, truth = faulty

    def speech_frames(path):
        frames = frame_rms(root / path)
        return int(np.sum(frames > 4 * noise_floor(frames)))

    multi = np.mean([speech_frames(p) for p, r in truth.items() if r["fault"] == "multiword"])
    single = np.mean([speech_frames(p) for p in clips(root) if p not in truth])
    assert multi > 1.3 * single


def test_default_speaker_table_has_fifty_distinct_voices():
    speakers = speaker_table()
    assert len(speakers) == DEFAULT_SPEAKERS >= 50
    assert len({s.id for s in speakers}) == len(speakers)
    assert all(re.fullmatch(r"[0-9a-f]{8}", s.id) for s in speakers)
    assert len({(s.voice, s.prosody) for s in speakers}) == len(speakers)
    assert len({s.accent for s in speakers}) >= 6 and len({s.variant for s in speakers}) >= 20
    assert speaker_table(seed=0) == speakers and speaker_table(seed=1) != speakers
    assert len({s.id for s in speaker_table(300)}) == 300


def test_every_voice_exists_in_the_shipped_espeak_data():
    assert missing_voices(data_path()) == []


def test_espeak_binding_speaks_and_rejects_unknown_voices():
    synth = Synthesizer.instance()
    assert synth.native_rate == 22050
    wave = synth.speak("seven", "en-gb-scotland+f2")
    assert wave.dtype == np.float32 and 0.2 * 16000 < len(wave) < 16000
    assert 0.05 < np.abs(wave).max() <= 1.0
    with pytest.raises(HarkError, match="no voice"):
        synth.set_voice("xx-nowhere")


@pytest.mark.parametrize(
    "text, message",
    [
        ("bogus=0.1", "valid keys: cutoff, mislabel, multiword, silent, clipped"),
        ("cutoff", "not KEY=RATE"),
        ("cutoff=lots", "must be a number"),
        ("cutoff=1.5", "between 0 and 1"),
        ("cutoff=0.6,silent=0.6", "add up to"),
    ],
)
def test_bad_faults_are_refused_with_the_valid_keys(text, message, tmp_path, capsys):
    with pytest.raises(HarkError, match=message):
        parse_faults(text)
    assert cli.main(["synth", str(tmp_path / "x"), "--faults", text, "--quiet"]) == 2
    assert message in capsys.readouterr().err
    assert not (tmp_path / "x").exists()


def test_parse_faults_reads_rates_and_none():
    assert parse_faults("cutoff=0.05, clipped=0.02") == {"cutoff": 0.05, "clipped": 0.02}
    assert parse_faults("none") == {}


def test_refuses_foreign_folders_and_bad_words(tmp_path):
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "thesis.txt").write_text("precious")
    with pytest.raises(HarkError, match="not empty"):
        synthesize(tmp_path / "mine", **TINY)
    assert (tmp_path / "mine" / "thesis.txt").exists()
    with pytest.raises(HarkError, match="folder names"):
        synthesize(tmp_path / "w", **(TINY | {"words": ("yes", "_silence_")}))
    with pytest.raises(HarkError, match="at least 2 words"):
        synthesize(tmp_path / "w", **(TINY | {"words": ("yes",), "faults": {"mislabel": 0.1}}))


def test_a_finished_set_is_reused_and_a_changed_one_replaced(tiny, tmp_path):
    before = {p: p.stat().st_mtime_ns for p in tiny.rglob("*.wav")}
    synthesize(tiny, **TINY)
    assert {p: p.stat().st_mtime_ns for p in tiny.rglob("*.wav")} == before
    root = synthesize(tmp_path / "sc", **(TINY | {"speakers": 1, "utterances": 1}))
    synthesize(root, **(TINY | {"words": ("no",), "speakers": 1, "utterances": 1}))
    assert sorted(p.name for p in root.iterdir() if p.is_dir()) == ["_background_noise_", "no"]


def test_cli_writes_a_dataset(tmp_path, capsys):
    out = tmp_path / "cli"
    assert (
        cli.main(
            [
                "synth",
                str(out),
                "--words",
                "up,off",
                "--speakers",
                "2",
                "--utterances",
                "1",
                "--faults",
                "silent=0.25",
                "--workers",
                "1",
                "--quiet",
            ]
        )
        == 0
    )
    assert len(clips(out)) == 4
    rows = (out / "faults.csv").read_text().splitlines()
    assert rows[0] == "path,fault,true_label" and len(rows) == 2 and rows[1].endswith(",silent,_silence_")
    assert "wrote 4 clips" in capsys.readouterr().out
