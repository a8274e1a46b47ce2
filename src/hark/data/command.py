"""`hark data download` (official Speech Commands archives), `hark data info` (what a dataset
source loads as, with every problem met while loading), `hark data index` (a manifest from a
flat folder whose file names carry the label) and `hark data export --hf` (a Hugging Face
dataset)."""

from __future__ import annotations

import argparse
from pathlib import Path

from hark.data.datasets import describe, load_dataset
from hark.data.download import RELEASES, download_speech_commands
from hark.schema import TASKS

SOURCE_HELP = (
    "dataset: folder, .tar.gz/.tgz archive, manifest .json/.csv/.tsv/.jsonl, SpeechBrain CSV(s) "
    "or Hugging Face dataset (save_to_disk folder or .parquet)"
)


def configure(parser: argparse.ArgumentParser) -> None:
    actions = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
    fetch = actions.add_parser("download", help="download, verify and extract Speech Commands (resumable)")
    fetch.add_argument("dest", type=Path, help="folder receiving the archive and the extracted dataset")
    fetch.add_argument("--version", choices=sorted(RELEASES), default="v0.02", help="release (default v0.02)")
    fetch.add_argument("--url", help="a mirror (http, https or file://) instead of the official URL")
    fetch.add_argument("--sha256", help="expected SHA-256 of the archive (default: the official one)")
    info = actions.add_parser("info", help="load a dataset and summarise it and its loading problems")
    info.add_argument("source", help=SOURCE_HELP)
    info.add_argument("--task", choices=TASKS, default="all", help="all classes, or the 12-class task")
    info.add_argument("--version", help="Speech Commands version (default: detected)")
    info.add_argument("--problems", type=int, default=20, help="how many problems to list")
    index = actions.add_parser("index", help="write a CSV manifest for a folder whose file names carry the label")
    index.add_argument("folder", type=Path, help="folder of recordings (searched recursively)")
    index.add_argument(
        "--pattern",
        required=True,
        help='file name pattern relative to FOLDER, e.g. "{label}_{speaker}_{take}.wav"; '
        "{label} is required, {speaker} and {split} are kept, other fields ignored",
    )
    index.add_argument("--out", type=Path, required=True, help="manifest CSV to write")
    export = actions.add_parser("export", help="write a dataset in another format")
    export.add_argument("source", help=SOURCE_HELP)
    export.add_argument(
        "--hf",
        type=Path,
        required=True,
        metavar="OUT",
        help="new folder for a Hugging Face DatasetDict (open with datasets.load_from_disk)",
    )
    export.add_argument("--task", choices=TASKS, default="all", help="all classes, or the 12-class task")


def run(args: argparse.Namespace) -> int:
    if args.action == "download":
        downloaded, folder = download_speech_commands(args.version, args.dest, args.url, args.sha256)
        if not downloaded.fetched:
            print(f"already downloaded: {downloaded.archive}")
        elif downloaded.resumed_from:
            print(f"resumed at byte {downloaded.resumed_from}, fetched {downloaded.fetched} more bytes")
        print(f"verified {downloaded.archive} (SHA-256)\ndataset: {folder}")
        return 0
    if args.action == "index":
        return _index(args)
    if args.action == "export":
        from hark.data.hf import export_hf

        dataset = load_dataset(args.source, task=args.task)
        export_hf(dataset, args.hf)
        print(f"wrote {len(dataset)} clips of {dataset.name} to {args.hf} (datasets.load_from_disk opens it)")
        return 0
    dataset = load_dataset(args.source, task=args.task, version=args.version)
    print(describe(dataset, max_problems=args.problems))
    return 0


def _index(args: argparse.Namespace) -> int:
    from hark.data.pattern import index_by_pattern, write_pattern_manifest

    rows, unmatched = index_by_pattern(args.folder, args.pattern)
    for path in unmatched[:10]:
        print(f"not matched, left out: {path}")
    if len(unmatched) > 10:
        print(f"... and {len(unmatched) - 10} more not matched")
    write_pattern_manifest(args.folder, rows, args.out)
    labels = sorted({r["label"] for r in rows})
    print(
        f"wrote {args.out}: {len(rows)} clips, {len(labels)} labels ({', '.join(labels[:12])}"
        f"{', ...' if len(labels) > 12 else ''}); {len(unmatched)} audio files did not match"
    )
    return 0
