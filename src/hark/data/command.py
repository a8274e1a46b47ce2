"""`hark data download` (official Speech Commands archives) and `hark data info` (what a
dataset source loads as, with every problem met while loading)."""

from __future__ import annotations

import argparse
from pathlib import Path

from hark.data.datasets import TASKS, describe, load_dataset
from hark.data.download import RELEASES, download_speech_commands


def configure(parser: argparse.ArgumentParser) -> None:
    actions = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
    fetch = actions.add_parser("download", help="download, verify and extract Speech Commands (resumable)")
    fetch.add_argument("dest", type=Path, help="folder receiving the archive and the extracted dataset")
    fetch.add_argument("--version", choices=sorted(RELEASES), default="v0.02")
    fetch.add_argument("--url", help="a mirror (http, https or file://) instead of the official URL")
    fetch.add_argument("--sha256", help="expected SHA-256 of the archive (default: the official one)")
    info = actions.add_parser("info", help="load a dataset and summarise it and its loading problems")
    info.add_argument("source", help="dataset folder, .tar.gz/.tgz archive or hark manifest .json")
    info.add_argument("--task", choices=TASKS, default="all")
    info.add_argument("--version", help="Speech Commands version (default: detected)")
    info.add_argument("--problems", type=int, default=20, help="how many problems to list")


def run(args: argparse.Namespace) -> int:
    if args.action == "download":
        downloaded, folder = download_speech_commands(args.version, args.dest, args.url, args.sha256)
        if not downloaded.fetched:
            print(f"already downloaded: {downloaded.archive}")
        elif downloaded.resumed_from:
            print(f"resumed at byte {downloaded.resumed_from}, fetched {downloaded.fetched} more bytes")
        print(f"verified {downloaded.archive} (SHA-256)\ndataset: {folder}")
        return 0
    dataset = load_dataset(args.source, task=args.task, version=args.version)
    print(describe(dataset, max_problems=args.problems))
    return 0
