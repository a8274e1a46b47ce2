"""`hark check`: what is wrong with a dataset before any training is spent on it.

Every file is opened once (in parallel) to find unusable or odd clips; the split is searched
for leakage (a speaker, or identical audio, in more than one split); plots show the clip
lengths, the class balance and a few clips per class exactly as the network will see them."""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field, replace
from functools import partial
from pathlib import Path

import numpy as np

from hark.data.audio import NonFiniteAudio, TruncatedAudio, content_hash, load_clip, read_audio_and_header
from hark.data.cache import map_chunks
from hark.data.example import ClipDataset, Example
from hark.data.quality import LEVELS, rms_dbfs, saturated_fraction
from hark.data.spectrogram import MelSettings
from hark.errors import AudioError
from hark.ranges import Range, valid
from hark.schema import SPLITS

# Problem kinds, in the order the summary lists them (worst first); "not-loaded" holds the
# problems the loader reported for files it left out of the dataset.
KINDS = (
    "missing",
    "unreadable",
    "truncated",
    "zero-length",
    "non-finite",
    "not-loaded",
    "sample-rate",
    "stereo",
    "sample-format",
    "too-long",
    "silent",
    "clipped",
)
# What a split without clips means for the next steps (the report's "empty_splits").
EMPTY_SPLIT_EFFECT = {
    "train": "nothing to train on",
    "validation": "`hark train` trains without validation (best.pt is then the latest epoch)",
    "test": "`hark evaluate` has no test split to report on",
}
LEAK_EXAMPLES = 5  # paths shown per leaking speaker


@dataclass
class CheckConfig:
    """The options of `hark check`, each with its valid range (checked by `check_command`)."""

    # what every clip should be recorded at
    sample_rate: int = field(default=16000, metadata=valid(Range(1000, 384000)))
    # the clip length the network takes; longer files get cropped
    seconds: float = field(default=1.0, metadata=valid(Range(0, 3600, low_open=True)))
    # RMS below this is a silent clip
    silence_dbfs: float = field(default=LEVELS.silence_dbfs, metadata=valid(Range(-200, 0)))
    # share of samples in flat runs at the clip's peak that makes a clip clipped
    clipped_fraction: float = field(default=LEVELS.clipped_fraction, metadata=valid(Range(0, 1)))
    preview_per_class: int = field(default=2, metadata=valid(Range(0)))
    # the sheet grows one row per class
    preview_max_classes: int = field(default=40, metadata=valid(Range(0)))
    n_mels: int = field(default=40, metadata=valid(Range(1, 128)))
    workers: int | None = field(default=None, metadata=valid(Range(0)))  # None or 0: every CPU


@dataclass
class FileReport:
    path: str
    seconds: float | None = None
    digest: str | None = None
    findings: list[tuple[str, str]] = field(default_factory=list)  # (kind, message)

    @property
    def decodable(self) -> bool:
        return self.digest is not None


def inspect_file(root: Path, path: str, config: CheckConfig, is_clip: bool = True) -> FileReport:
    """Open one file and list what is wrong with it. Background noise (`is_clip=False`) is
    long by design, so only its format is judged."""
    report = FileReport(path)
    full = Path(root) / path
    try:
        size = full.stat().st_size
    except FileNotFoundError:
        report.findings.append(("missing", "file not found"))
        return report
    if size == 0:
        report.findings.append(("zero-length", "zero-length file (0 bytes)"))
        return report
    try:
        wave, info = read_audio_and_header(full)
    except AudioError as err:
        kind = {TruncatedAudio: "truncated", NonFiniteAudio: "non-finite"}.get(type(err), "unreadable")
        report.findings.append((kind, err.problem))
        return report
    if info.frames == 0:
        report.findings.append(("zero-length", "no audio frames"))
        return report
    report.seconds = info.frames / info.samplerate
    # Identical decoded samples mean the same recording, whatever the file name or header.
    report.digest = content_hash(wave)
    report.findings.extend(_format_findings(info, config, is_clip))
    if is_clip:
        report.findings.extend(_level_findings(wave, config))
    return report


def _format_findings(info, config: CheckConfig, is_clip: bool) -> list[tuple[str, str]]:
    found = []
    if info.samplerate != config.sample_rate:
        found.append(("sample-rate", f"sample rate {info.samplerate} Hz, expected {config.sample_rate} Hz"))
    if info.channels > 1:
        found.append(("stereo", f"{info.channels} channels, expected mono (they are averaged)"))
    if info.subtype in ("PCM_U8", "PCM_S8"):
        found.append(("sample-format", f"8-bit samples ({info.subtype}), expected 16-bit PCM"))
    elif info.subtype in ("FLOAT", "DOUBLE"):
        found.append(("sample-format", f"floating-point samples ({info.subtype}), expected 16-bit PCM"))
    elif info.subtype != "PCM_16":
        found.append(("sample-format", f"{info.subtype_info} samples, expected 16-bit PCM"))
    seconds = info.frames / info.samplerate
    if is_clip and seconds > config.seconds + 0.5 / info.samplerate:
        found.append(("too-long", f"{seconds:.2f} s long, more than {config.seconds:g} s: the rest is cropped"))
    return found


def _level_findings(wave: np.ndarray, config: CheckConfig) -> list[tuple[str, str]]:
    found = []
    levels = replace(LEVELS, silence_dbfs=config.silence_dbfs, clipped_fraction=config.clipped_fraction)
    dbfs = rms_dbfs(wave)
    if dbfs < levels.silence_dbfs:
        found.append(("silent", f"silent: RMS {dbfs:.0f} dBFS, below {config.silence_dbfs:g} dBFS"))
    saturated = saturated_fraction(wave, levels)
    if saturated >= levels.clipped_fraction:
        found.append(("clipped", f"clipped: {saturated:.1%} of the samples sit flat at the peak"))
    return found


def _inspect_chunk(root: Path, config: CheckConfig, chunk: Sequence[tuple[str, bool]]) -> list[FileReport]:
    return [inspect_file(root, path, config, is_clip) for path, is_clip in chunk]


def check_dataset(
    dataset: ClipDataset, config: CheckConfig | None = None, out: Path | None = None, progress: bool = True
) -> dict:
    """The full check as a JSON-ready dict; with `out`, also the PNG plots there."""
    config = config or CheckConfig()
    # `path#N` windows are cut from a noise file: the file is checked once, as noise.
    clip_files = sorted({e.file for e in dataset.examples if "#" not in e.path})
    items = [(f, True) for f in clip_files] + [(f, False) for f in sorted(set(dataset.noise_files) - set(clip_files))]
    files: dict[str, FileReport] = {}
    task = partial(_inspect_chunk, dataset.root, config)
    for _, reports in map_chunks(task, items, workers=config.workers, progress=progress, desc="checking"):
        files.update((r.path, r) for r in reports)

    problems = [{"path": p.path, "kind": "not-loaded", "problem": p.problem} for p in dataset.problems]
    problems += [
        {"path": r.path, "kind": kind, "problem": message} for r in files.values() for kind, message in r.findings
    ]
    problems.sort(key=lambda p: (KINDS.index(p["kind"]), p["path"]))
    lengths = [files[f].seconds for f in clip_files if files[f].seconds is not None]
    per_class, per_split = Counter(e.label for e in dataset.examples), Counter(e.split for e in dataset.examples)
    report = {
        "dataset": str(dataset.root),
        "name": dataset.name,
        "num_clips": len(dataset.examples),
        "num_classes": len(dataset.labels),
        "labels": list(dataset.labels),
        "per_class": {label: per_class[label] for label in dataset.labels},
        "per_split": {s: per_split[s] for s in SPLITS if per_split[s]},
        "per_split_class": dataset.counts(),
        "empty_splits": {s: f"no clips: {EMPTY_SPLIT_EFFECT[s]}" for s in SPLITS if not per_split[s]},
        "num_noise_files": len(dataset.noise_files),
        "lengths": _length_summary(lengths, config.seconds),
        "problems": problems,
        "problem_counts": dict(Counter(p["kind"] for p in problems)),
        "leakage": find_leakage(dataset.examples, {f: files[f].digest for f in clip_files}),
        "config": asdict(config),
        "plots": {},
    }
    if out is not None:
        report["plots"] = _write_plots(dataset, files, lengths, config, Path(out))
    return report


def find_leakage(examples: Sequence[Example], digests: dict[str, str | None]) -> dict:
    """Speakers, and identical audio, found in more than one split: the test set then measures
    memory, not generalisation."""
    speakers: dict[str, list[Example]] = defaultdict(list)
    for e in examples:
        if e.speaker_id is not None:
            speakers[e.speaker_id].append(e)
    speaker_leaks = []
    for speaker, clips in sorted(speakers.items()):
        splits = Counter(e.split for e in clips)
        if len(splits) > 1:
            speaker_leaks.append(
                {
                    "speaker": speaker,
                    "splits": dict(sorted(splits.items())),
                    "paths": sorted(e.path for e in clips)[:LEAK_EXAMPLES],
                }
            )

    by_digest: dict[str, list[Example]] = defaultdict(list)
    for e in examples:
        if digests.get(e.path):
            by_digest[digests[e.path]].append(e)
    across, within = [], []
    for digest, clips in sorted(by_digest.items()):
        if len(clips) > 1:
            group = {
                "hash": digest,
                "clips": [
                    {"path": e.path, "split": e.split, "label": e.label} for e in sorted(clips, key=lambda e: e.path)
                ],
            }
            (across if len({e.split for e in clips}) > 1 else within).append(group)
    return {
        "speakers_in_multiple_splits": speaker_leaks,
        "duplicate_audio_across_splits": across,
        "duplicate_audio_within_split": within,
    }


def has_leakage(report: dict) -> bool:
    leakage = report["leakage"]
    return bool(leakage["speakers_in_multiple_splits"] or leakage["duplicate_audio_across_splits"])


def _length_summary(lengths: list[float], target: float) -> dict:
    if not lengths:
        return {"files": 0}
    values = np.array(lengths)
    return {
        "files": len(values),
        "min_s": round(float(values.min()), 4),
        "median_s": round(float(np.median(values)), 4),
        "max_s": round(float(values.max()), 4),
        "shorter_than_target": int((values < target - 1e-6).sum()),
        "longer_than_target": int((values > target + 1e-6).sum()),
    }


def _write_plots(
    dataset: ClipDataset, files: dict[str, FileReport], lengths: list[float], config: CheckConfig, out: Path
) -> dict[str, str]:
    from hark.data import plots  # matplotlib and librosa load only when plots are wanted

    out.mkdir(parents=True, exist_ok=True)
    written = {
        "lengths": plots.plot_lengths(lengths, config.seconds, out / "lengths.png"),
        "classes": plots.plot_classes(dataset.counts(), dataset.labels, out / "classes.png"),
        "preview": plots.plot_preview(
            _preview_rows(dataset, files, config),
            MelSettings.for_rate(config.sample_rate, config.n_mels),
            out / "preview.png",
        ),
    }
    return {name: str(path) for name, path in written.items()}


def _preview_rows(
    dataset: ClipDataset, files: dict[str, FileReport], config: CheckConfig
) -> list[tuple[str, list[tuple[str, np.ndarray]]]]:
    """A few decodable clips per class, preprocessed as the cache does for training."""
    num_samples = int(round(config.seconds * config.sample_rate))
    by_label: dict[str, list[Example]] = defaultdict(list)
    for e in sorted(dataset.examples, key=lambda e: e.path):
        report = files.get(e.file)
        if report is None or report.decodable:
            by_label[e.label].append(e)
    rows = []
    for label in dataset.labels[: config.preview_max_classes]:
        clips = []
        for e in by_label[label]:
            if len(clips) == config.preview_per_class:
                break
            try:
                clips.append((e.path, load_clip(dataset.root, e.path, config.sample_rate, num_samples)))
            except AudioError:
                continue
        rows.append((label, clips))
    return rows


def format_check_report(report: dict, examples_per_kind: int = 3) -> str:
    """The report as a few screens of text: counts, problems by kind, leakage."""
    lines = [
        f"{report['name']} ({report['dataset']}): {report['num_clips']} clips, "
        f"{report['num_classes']} classes, {report['num_noise_files']} noise files"
    ]
    lines.append("  splits: " + ", ".join(f"{s} {n}" for s, n in report["per_split"].items()))
    lines.extend(f"  {split}: {effect}" for split, effect in report["empty_splits"].items())
    per_class = report["per_class"]
    if per_class:
        counts = sorted(per_class.values())
        lines.append(f"  clips per class: min {counts[0]}, median {counts[len(counts) // 2]}, max {counts[-1]}")
        table = report["per_split_class"]
        splits = [s for s in SPLITS if s in table]
        width = max(map(len, per_class))
        lines.append(f"    {'class':<{width}} " + " ".join(f"{s:>10}" for s in splits))
        for label in per_class:
            lines.append(f"    {label:<{width}} " + " ".join(f"{table[s].get(label, 0):>10}" for s in splits))
    if report["lengths"].get("files"):
        n = report["lengths"]
        lines.append(
            f"  lengths: {n['min_s']:.2f}-{n['max_s']:.2f} s, median {n['median_s']:.2f} s; "
            f"{n['shorter_than_target']} shorter than the clip length (zero-padded)"
        )

    problems = report["problems"]
    lines.append(f"problems: {len(problems)}" + ("" if problems else " (none)"))
    by_kind: dict[str, list[dict]] = defaultdict(list)
    for p in problems:
        by_kind[p["kind"]].append(p)
    for kind, found in by_kind.items():
        lines.append(f"  {kind} ({len(found)}):")
        lines.extend(f"    {p['path']}: {p['problem']}" for p in found[:examples_per_kind])
        if len(found) > examples_per_kind:
            lines.append(f"    ... and {len(found) - examples_per_kind} more")

    leakage = report["leakage"]
    speakers, duplicates = leakage["speakers_in_multiple_splits"], leakage["duplicate_audio_across_splits"]
    lines.append(
        "leakage: "
        + (
            "none"
            if not (speakers or duplicates)
            else f"{len(speakers)} speakers in more than one split, "
            f"{len(duplicates)} identical recordings in more than one split"
        )
    )
    for leak in speakers[:examples_per_kind]:
        splits = ", ".join(f"{s} {n}" for s, n in leak["splits"].items())
        lines.append(f"  speaker {leak['speaker']}: {splits} (e.g. {leak['paths'][0]})")
    for group in duplicates[:examples_per_kind]:
        lines.append("  same audio: " + ", ".join(f"{c['path']} ({c['split']})" for c in group["clips"]))
    if leakage["duplicate_audio_within_split"]:
        lines.append(
            f"  (also {len(leakage['duplicate_audio_within_split'])} identical recordings repeated within one split)"
        )
    return "\n".join(lines)
