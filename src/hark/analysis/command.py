"""`hark analyze RUN`: find, explain and rank why a run fails; prints the top findings."""

from __future__ import annotations

import argparse
from pathlib import Path

from hark.analysis.analyze import AnalysisConfig, analyze
from hark.analysis.label_errors import LabelErrorConfig
from hark.errors import UsageError
from hark.schema import (
    CLEANLAB_ISSUE, CLIPS_FILE, DETECTOR_BY_NAME, ERROR, FINDINGS_FILE, LABEL_ISSUE, REPORT_FILE, SPLIT,
)

CUTOFF_FLAG = DETECTOR_BY_NAME["cutoff"].flag_column

TOP_FINDINGS = 5


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("run", type=Path, help="run folder with predictions.parquet (from `hark evaluate`)")
    parser.add_argument("--folds", type=int, default=LabelErrorConfig.folds,
                        help="cross-validation folds for out-of-fold training predictions "
                             f"(default {LabelErrorConfig.folds})")
    parser.add_argument("--no-crossval", action="store_true",
                        help="use the model's own (in-sample) predictions on the training split: fast, less accurate")
    parser.add_argument("--no-umap", action="store_true", help="2-D map by PCA instead of UMAP")
    parser.add_argument("--no-report", action="store_true", help="skip report.html")
    parser.add_argument("--quiet", action="store_true", help="no progress bars")


def suggested_fixes(findings: list[dict], label_issues: int, run_dir: Path) -> list[str]:
    """Only fixes measured to pay on real speech (benchmarks/bench_analysis_real.py), each with
    the check that tells whether it paid on this data."""
    fixes = []
    if any(f.get("slice") == CUTOFF_FLAG for f in findings):
        fixes.append(f"hark fix {run_dir} --cutoff-class (a cut-off mode is among the failure modes), retrain, then "
                     f"`hark compare {run_dir} NEW_RUN` for its gain on cut-off clips and its cost on clean ones")
    if label_issues:
        fixes.append(f"hark fix {run_dir} --relabel-suggested gives the {label_issues} likely label errors of the "
                     "training split the label the analysis suggests (listen to a few in the report first)")
    return fixes


def run(args: argparse.Namespace) -> int:
    config = AnalysisConfig(
        label_errors=LabelErrorConfig(folds=args.folds, crossval=not args.no_crossval),
        umap=not args.no_umap, report=not args.no_report, progress=not args.quiet,
    )
    if args.folds < 2 and not args.no_crossval:
        raise UsageError(f"--folds {args.folds}: cross-validation needs at least 2 folds (or pass --no-crossval)")
    result = analyze(args.run, config)
    clips = result.clips
    folds = result.label_errors.crossval_folds
    how = f"{folds}-fold out-of-fold predictions on train" if folds else "the final model's (in-sample on train)"
    print(f"{len(clips)} clips, {int(clips[ERROR].sum())} errors ({how})")
    for problem in result.problems[:10]:
        print(f"unreadable: {problem}")
    if not result.findings:
        print("no failure mode: the errors form no group")
    for finding in result.findings[:TOP_FINDINGS]:
        print(f"{finding['title']}: {finding['description']}")
    if result.pairs:
        print("most confused: " + ", ".join(f"{p['a']}/{p['b']} ({p['total']})" for p in result.pairs[:5]))
    print(f"likely label errors: {int(clips[LABEL_ISSUE].sum())} (cleanlab: {int(clips[CLEANLAB_ISSUE].sum())})")
    train_issues = int((clips[LABEL_ISSUE] & (clips[SPLIT] == "train")).sum())
    for fix in suggested_fixes(result.findings, train_issues, args.run):
        print(f"suggested fix: {fix}")
    leaks = sum(g["across_splits"] for g in result.duplicates)
    if leaks:
        print(f"leakage: {leaks} identical recordings in more than one split")
    out = result.out_dir
    print(f"wrote {out / CLIPS_FILE} and {out / FINDINGS_FILE}")
    if config.report:
        print(f"report: {out / REPORT_FILE}")
    return 0
