"""`hark compare RUN_A RUN_B`: what changed between two runs, as tables and an HTML page."""

from __future__ import annotations

import argparse
from pathlib import Path

from hark.analysis.compare import compare_runs, comparison_html, format_comparison
from hark.analysis.inputs import load_run_data


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("run_a", type=Path, help="the baseline run")
    parser.add_argument("run_b", type=Path, help="the run to compare with it (e.g. retrained after `hark fix`)")
    parser.add_argument("--html", type=Path, help="HTML page to write (default RUN_B/compare.html)")


def run(args: argparse.Namespace) -> int:
    comparison = compare_runs(load_run_data(args.run_a), load_run_data(args.run_b))
    print(format_comparison(comparison, str(args.run_a), str(args.run_b)))
    out = args.html or args.run_b / "compare.html"
    out.write_text(comparison_html(comparison, str(args.run_a), str(args.run_b)), encoding="utf-8")
    print(f"\nwrote {out}")
    return 0
