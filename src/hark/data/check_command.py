"""`hark check DATA`: integrity, balance, leakage and previews of a dataset."""

from __future__ import annotations

import argparse
import re
from dataclasses import fields
from pathlib import Path

from hark.data.check import CheckConfig, check_dataset, format_check_report, has_leakage
from hark.data.datasets import load_dataset
from hark.errors import UsageError
from hark.fileio import ensure_writable_dir, write_json
from hark.ranges import problem_of
from hark.schema import TASKS

# Exit status of --strict when a speaker or a recording is in more than one split
# (2 is taken by user errors, see hark.cli).
LEAKAGE_EXIT = 1
DEFAULT_OUT = Path("hark-check")

_CONFIG_HELP = {
    "sample_rate": "expected sample rate in Hz; the preview resamples to it",
    "seconds": "clip length in seconds; longer files are reported",
    "silence_dbfs": "RMS level in dBFS below which a clip is silent",
    "clipped_fraction": "share of samples in flat runs at the peak that makes a clip clipped",
    "preview_per_class": "clips per class on the preview sheet",
    "preview_max_classes": "classes on the preview sheet",
    "n_mels": "mel bands of the preview's log-mel",
    "workers": "processes that open the files (default: all CPUs)",
}


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "data", help="a Speech Commands folder or .tar.gz, a folder-per-class dataset, or a hark manifest .json"
    )
    parser.add_argument(
        "--task",
        choices=TASKS,
        default="all",
        help="every word as a class, or the 12-class task (default: all)",
    )
    parser.add_argument("--json", type=Path, metavar="PATH", help="also write the full result here")
    parser.add_argument(
        "--strict",
        action="store_true",
        help=f"exit {LEAKAGE_EXIT} when a speaker or identical audio is in more than one split",
    )
    parser.add_argument(
        "--out",
        type=Path,
        metavar="DIR",
        help=f"folder for report.json and the PNGs (default: ./{DEFAULT_OUT}/<dataset name>)",
    )
    parser.add_argument("--no-plots", action="store_true", help="skip the PNGs (faster on huge datasets)")
    defaults = CheckConfig()
    for spec in fields(CheckConfig):
        kind = int if spec.name == "workers" else type(getattr(defaults, spec.name))
        parser.add_argument(
            "--" + spec.name.replace("_", "-"),
            type=kind,
            default=getattr(defaults, spec.name),
            metavar=spec.name.upper(),
            help=f"{_CONFIG_HELP[spec.name]} (default: {getattr(defaults, spec.name)})",
        )


def check_outputs(args: argparse.Namespace) -> None:
    """Prove that --out and --json can be written before any file of the dataset is opened."""
    if args.json is not None:
        if args.json.is_dir():
            raise UsageError(f"--json {args.json}: is a folder; give a file name, e.g. {args.json / 'check.json'}")
        ensure_writable_dir(args.json.parent, "folder of --json")
    # The default folder's last part is the dataset's name, known only once it is loaded.
    ensure_writable_dir(args.out or DEFAULT_OUT, "output folder (--out)")


def check_options(args: argparse.Namespace) -> CheckConfig:
    for spec in fields(CheckConfig):
        value = getattr(args, spec.name)
        problem = None if value is None else problem_of(spec, value)
        if problem:
            raise UsageError(f"--{spec.name.replace('_', '-')} {value}: {problem}")
    return CheckConfig(**{spec.name: getattr(args, spec.name) for spec in fields(CheckConfig)})


def run(args: argparse.Namespace) -> int:
    config = check_options(args)
    check_outputs(args)
    dataset = load_dataset(args.data, task=args.task)
    out = args.out or DEFAULT_OUT / _folder_name(dataset.name)
    report = check_dataset(dataset, config, out=None if args.no_plots else out, progress=not args.quiet)
    report["task"] = args.task
    ensure_writable_dir(out, "output folder")
    for path in [out / "report.json"] + ([args.json] if args.json else []):
        write_json(path, report)
    print(format_check_report(report))
    print(
        f"wrote {out.resolve()}/: "
        + ", ".join(p.name for p in [out / "report.json", *map(Path, report["plots"].values())])
    )
    if args.json:
        print(f"wrote {args.json}")
    if args.strict and has_leakage(report):
        print("--strict: leakage found", flush=True)
        return LEAKAGE_EXIT
    return 0


def _folder_name(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "_", name).strip("._") or "dataset"
