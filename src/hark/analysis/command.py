"""`hark analyze RUN`: find, explain and rank why a run fails; prints the top findings."""

from __future__ import annotations

import argparse
from pathlib import Path

from hark.analysis.analyze import AnalysisConfig, analyze
from hark.analysis.label_errors import LabelErrorConfig
from hark.data.cache import ensure_cache_writable
from hark.fileio import ensure_writable_dir
from hark.schema import ANALYSIS_DIR

TOP_FINDINGS = 5


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("run", type=Path, help="run folder with predictions.parquet (from `hark evaluate`)")
    parser.add_argument("--folds", type=int, default=LabelErrorConfig.folds,
                        help=f"cross-validation folds for out-of-sample training predictions (default {LabelErrorConfig.folds})")
    parser.add_argument("--no-crossval", action="store_true",
                        help="use the model's own (in-sample) predictions on the training split: fast, less accurate")
    parser.add_argument("--no-umap", action="store_true", help="2-D map by PCA instead of UMAP")
    parser.add_argument("--no-report", action="store_true", help="skip report.html")
    parser.add_argument("--quiet", action="store_true", help="no progress bars")


def run(args: argparse.Namespace) -> int:
    config = AnalysisConfig(
        label_errors=LabelErrorConfig(folds=args.folds, crossval=not args.no_crossval),
        umap=not args.no_umap, report=not args.no_report, progress=not args.quiet,
    )
    if args.folds < 2 and not args.no_crossval:
        from hark.errors import HarkError

        raise HarkError(f"--folds {args.folds}: cross-validation needs at least 2 folds (or pass --no-crossval)")
    if args.run.is_dir():  # a missing run is for load_run_data to report
        ensure_writable_dir(args.run / ANALYSIS_DIR, "analysis folder")
    if config.label_errors.crossval:
        ensure_cache_writable()
    result = analyze(args.run, config)
    clips = result.clips
    print(f"{len(clips)} clips, {int(clips['error'].sum())} errors "
          f"({'%d-fold cross-validated' % result.label_errors.crossval_folds if result.label_errors.crossval_folds else 'in-sample'} on train)")
    for problem in result.problems[:10]:
        print(f"unreadable: {problem}")
    if not result.findings:
        print("no failure mode: the errors form no group")
    for finding in result.findings[:TOP_FINDINGS]:
        print(finding["description"])
    if result.pairs:
        print("most confused: " + ", ".join(f"{p['a']}/{p['b']} ({p['total']})" for p in result.pairs[:5]))
    print(f"likely label errors: {int(clips['label_issue'].sum())} (cleanlab: {int(clips['cleanlab_issue'].sum())})")
    leaks = sum(g["across_splits"] for g in result.duplicates)
    if leaks:
        print(f"leakage: {leaks} identical recordings in more than one split")
    out = result.out_dir
    print(f"wrote {out / 'clips.parquet'} and {out / 'findings.json'}")
    if config.report:
        print(f"report: {out / 'report.html'}")
    return 0
