"""`hark analyze RUN`: find, explain and rank why a run fails; prints the top findings.
`RUN` may also be an evaluation folder (`RUN/eval/<name>/`), and `hark analyze --predictions P
--data DATA --out DIR` analyses any model's predictions (see `external.py`)."""

from __future__ import annotations

import argparse
from pathlib import Path

from hark.analysis.analyze import Analysis, AnalysisConfig, analyze
from hark.analysis.fix import FixPlan, suggested_labels, suggested_plan
from hark.analysis.label_errors import LabelErrorConfig
from hark.data.cache import ensure_cache_writable
from hark.errors import UsageError
from hark.fileio import ensure_writable_dir
from hark.schema import (
    ANALYSIS_DIR,
    CLEANLAB_ISSUE,
    CLIPS_FILE,
    ERROR,
    FINDINGS_FILE,
    LABEL_ISSUE,
    REPORT_FILE,
    SEED_RUN_PREFIX,
    seed_runs,
)

TOP_FINDINGS = 5


def _analyze(args: argparse.Namespace, config: AnalysisConfig) -> tuple[Analysis, str | None]:
    """A hark run, or predictions hark did not make (`external.py`, then also what the
    label-error step's probabilities were)."""
    from hark.analysis import external

    if args.predictions is not None:
        if args.run is not None or args.data is None or args.out is None:
            raise UsageError("--predictions needs --data DATA and --out DIR, and no RUN")
        run = external.prepare_external(args.predictions, args.data, args.out, args.labels)
        note = external.evidence_note(args.out)
        return external.analyze_without_model(run, config, note), note
    if args.run is None:
        raise UsageError("give a RUN folder, or --predictions P.parquet --data DATA --out DIR")
    if args.data or args.labels or args.out:
        raise UsageError("--data, --labels and --out go with --predictions")
    if external.origin(args.run) is None:
        return analyze(args.run, config), None
    run, left_out = external.prepare_folder(args.run)
    if left_out:
        print(
            f"{left_out} clips whose label the model does not know are left out of the analysis "
            "(they are in metrics.json and predictions.parquet)"
        )
    note = external.evidence_note(args.run)
    return external.analyze_without_model(run, config, note), note


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "run",
        type=Path,
        nargs="?",
        help="run folder with predictions.parquet (from `hark evaluate`), or RUN/eval/<name>/",
    )
    parser.add_argument(
        "--predictions", type=Path, help="analyse this predictions file of any model instead (format: `hark schema`)"
    )
    parser.add_argument("--data", help="with --predictions: the dataset the predictions are about")
    parser.add_argument(
        "--labels",
        type=Path,
        help="with --predictions: class order of probs (one per line, or a JSON list), if the file's metadata lacks it",
    )
    parser.add_argument(
        "--out", type=Path, help="with --predictions: folder for the analysis (then `hark explore OUT`)"
    )
    parser.add_argument(
        "--folds",
        type=int,
        default=LabelErrorConfig.folds,
        help=f"cross-validation folds for out-of-fold training predictions (default {LabelErrorConfig.folds})",
    )
    parser.add_argument(
        "--no-crossval",
        action="store_true",
        help="use the model's own (in-sample) predictions on the training split: fast, less accurate",
    )
    parser.add_argument("--no-umap", action="store_true", help="2-D map by PCA instead of UMAP")
    parser.add_argument("--no-report", action="store_true", help="skip report.html")


def _retrain_check(run_dir: Path) -> str:
    # One seed of several (`hark train --seeds N`): one retrain cannot be told from seed noise,
    # so the check retrains as many seeds and compares the two seed folders.
    seeds = len(seed_runs(run_dir.parent)) if run_dir.name.startswith(SEED_RUN_PREFIX) else 0
    if seeds > 1:
        return f"retrain with `--seeds {seeds}`, then `hark compare {run_dir.parent} NEW_RUN`"
    return f"retrain, then `hark compare {run_dir} NEW_RUN`"


def suggested_fixes(plan: FixPlan, label_errors: int, run_dir: Path) -> list[str]:
    """What `hark fix RUN --suggested` would do, in words, each with the check that tells whether
    it paid on this data."""
    check = _retrain_check(Path(run_dir))
    fixes = []
    if plan.cutoff_class:
        fixes.append(
            f"hark fix {run_dir} --cutoff-class (a cut-off mode is among the failure modes); {check} for its gain "
            "on cut-off clips and its cost on clean ones"
        )
    if plan.relabel_suggested:
        fixes.append(
            f"hark fix {run_dir} --relabel-suggested gives the {label_errors} likely label errors of the training "
            f"split the label the analysis suggests (listen to a few in the report first); {check}"
        )
    return fixes


def new_voice_advice(findings: list[dict], speed_change: float) -> str | None:
    """When failure modes are speakers the model never trained on, what the data can do about it
    (measured on held-out FSDD speakers, README "Recipes on real speech"); `speed_change` is the
    run's own voice augmentation, so that it is not offered what it already has."""
    voices = [f for f in findings if f.get("new_voice")]
    if not voices:
        return None
    share = sum(f["share"] for f in voices)
    names = ", ".join(f["slice"].partition("=")[2] for f in voices)
    if speed_change > 0:
        augmentation = (
            f"this run already perturbs speed by ±{speed_change:.0%} (augment.speed_change), the voice "
            "augmentation that gained 4.6 points on a held-out FSDD speaker; wider ranges did not gain more there"
        )
    else:
        augmentation = (
            "voice augmentation (`hark train`'s augment.speed_change) gained 4.6 points on a held-out FSDD speaker"
        )
    return (
        f"{share:.0%} of errors are clips of speakers with no training clips ({names}): the model does not "
        f"carry over to new voices. More training speakers help most; {augmentation}"
    )


def run(args: argparse.Namespace) -> int:
    config = AnalysisConfig(
        label_errors=LabelErrorConfig(folds=args.folds, crossval=not args.no_crossval),
        umap=not args.no_umap,
        report=not args.no_report,
        progress=not args.quiet,
    )
    if args.folds < 2 and not args.no_crossval:
        raise UsageError(f"--folds {args.folds}: cross-validation needs at least 2 folds (or pass --no-crossval)")
    if args.run is not None and args.run.is_dir():  # a missing run is for load_run_data to report
        ensure_writable_dir(args.run / ANALYSIS_DIR, "analysis folder")
    if config.label_errors.crossval and args.predictions is None:
        ensure_cache_writable()
    result, note = _analyze(args, config)
    clips = result.clips
    folds = result.label_errors.crossval_folds
    how = f"{folds}-fold out-of-fold predictions on train" if folds else "the final model's (in-sample on train)"
    # Predictions hark did not make had their basis printed (`external.analyze_without_model`).
    print(f"{len(clips)} clips, {int(clips[ERROR].sum())} errors" + ("" if note else f" ({how})"))
    for problem in result.problems[:10]:
        print(f"unreadable: {problem}")
    if not result.findings:
        print("no failure mode: the errors form no group")
    for finding in result.findings[:TOP_FINDINGS]:
        print(f"{finding['title']}: {finding['description']}")
    advice = new_voice_advice(result.findings, float(result.run.config.get("augment", {}).get("speed_change", 0.0)))
    if advice:
        print(f"what to try: {advice}")
    if result.pairs:
        print("most confused: " + ", ".join(f"{p['a']}/{p['b']} ({p['total']})" for p in result.pairs[:5]))
    print(f"likely label errors: {int(clips[LABEL_ISSUE].sum())} (cleanlab: {int(clips[CLEANLAB_ISSUE].sum())})")
    # `hark fix` rebuilds a hark run's dataset; predictions hark did not make have none to fix.
    if note is None:
        fixes = suggested_fixes(suggested_plan(result.findings, clips), len(suggested_labels(clips)), args.run)
        for fix in fixes:
            print(f"suggested fix: {fix}")
        if fixes:
            print(f"apply them all: hark fix {args.run} --suggested")
    leaks = sum(g["across_splits"] for g in result.duplicates)
    if leaks:
        print(f"leakage: {leaks} identical recordings in more than one split")
    out = result.out_dir
    print(f"wrote {out / CLIPS_FILE} and {out / FINDINGS_FILE}")
    if config.report:
        print(f"report: {out / REPORT_FILE}")
    return 0
