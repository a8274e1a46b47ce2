"""`hark compare A B` (or `hark compare A1,A2 B1,B2`, or two `hark train --seeds N` folders): is B
better than A, on the clips both were tested on, beyond run-to-run noise?"""

from __future__ import annotations

import argparse
from pathlib import Path

from hark.analysis.compare import compare_sides, comparison_html, format_comparison
from hark.analysis.inputs import load_run_data
from hark.errors import UsageError
from hark.fileio import write_text
from hark.schema import CONFIG_FILE, seed_runs


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "run_a", help="the baseline: a run folder, comma-separated runs (seeds), or a `hark train --seeds N` folder"
    )
    parser.add_argument("run_b", help="the runs to compare with it (e.g. retrained after `hark fix`), as for A")
    parser.add_argument("--html", type=Path, help="HTML page to write (default: B's first run/compare.html)")


def side_runs(spec: str) -> list[Path]:
    """The run folders a side names: comma-separated, each a run or a folder of seed-K/ runs."""
    runs = []
    for part in filter(None, (p.strip() for p in spec.split(","))):
        path = Path(part)
        seeds = seed_runs(path)
        runs += seeds if seeds and not (path / CONFIG_FILE).exists() else [path]
    if not runs:
        raise UsageError(f"{spec!r}: no run folder given")
    return runs


def _dataset_root(run) -> Path:
    from hark.data.datasets import dataset_root
    from hark.errors import HarkError

    try:
        return dataset_root(run.source, base=run.run_dir)
    except HarkError:  # moved or deleted: the name it was trained from still tells datasets apart
        return Path(run.source).resolve()


def run(args: argparse.Namespace) -> int:
    sides = [[load_run_data(path) for path in side_runs(spec)] for spec in (args.run_a, args.run_b)]
    roots = {_dataset_root(run) for side in sides for run in side}
    if len(roots) > 1:
        raise UsageError(
            f"the runs were trained on different datasets ({', '.join(map(str, sorted(roots)))}); "
            "compare runs of one dataset, or of a `hark fix` manifest of it"
        )
    comparison = compare_sides(*sides)
    print(format_comparison(comparison, args.run_a, args.run_b))
    out = args.html or sides[1][0].run_dir / "compare.html"
    write_text(out, comparison_html(comparison, args.run_a, args.run_b))
    print(f"\nwrote {out}")
    return 0
