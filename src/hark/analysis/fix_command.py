"""`hark fix RUN`: write a fixed dataset manifest from the run's analysis; train on it with
`hark train MANIFEST.json --out NEW_RUN`."""

from __future__ import annotations

import argparse
from pathlib import Path

from hark.analysis.fix import DROPPABLE, FixPlan, fix_dataset, suggested_plan
from hark.analysis.findings import read_findings
from hark.analysis.inputs import load_run_data
from hark.errors import HarkError, UsageError
from hark.runfiles import read_clips
from hark.schema import ANALYSIS_DIR, CLIPS_FILE, CUTOFF_LABEL, FINDINGS_FILE


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("run", type=Path, help="run folder analysed by `hark analyze`")
    parser.add_argument(
        "--cutoff-class", action="store_true", help=f"move clips flagged cut-off to a new class {CUTOFF_LABEL}"
    )
    parser.add_argument(
        "--drop",
        action="append",
        default=[],
        metavar="FLAG",
        help=f"drop clips with this flag (repeatable): {', '.join(DROPPABLE)}",
    )
    parser.add_argument(
        "--relabel", type=Path, metavar="CSV", help="label corrections, columns path,label ('unusable' drops the clip)"
    )
    parser.add_argument(
        "--relabel-suggested",
        action="store_true",
        help="give the training clips flagged as label errors the label the analysis suggests (--relabel CSV rows win)",
    )
    parser.add_argument(
        "--cutoff-min-score",
        type=float,
        default=FixPlan.cutoff_min_score,
        metavar="S",
        help="with --cutoff-class, move only flagged clips whose cut-off score is at least S (0-1)",
    )
    parser.add_argument(
        "--suggested",
        action="store_true",
        help="apply the fixes `hark analyze` suggested for this run (and any others given here)",
    )
    parser.add_argument("--out", type=Path, help="manifest to write (default RUN/fixed_dataset.json)")


def run(args: argparse.Namespace) -> int:
    from hark.data.datasets import load_dataset
    from hark.data.manifest import write_manifest

    if not (args.cutoff_class or args.drop or args.relabel or args.relabel_suggested or args.suggested):
        raise UsageError(
            "nothing to fix: pass --suggested, --cutoff-class, --drop FLAG, --relabel CSV and/or --relabel-suggested"
        )
    run_data = load_run_data(args.run)
    plan = FixPlan(args.cutoff_class, args.drop, args.relabel, args.relabel_suggested, args.cutoff_min_score)
    analysis = args.run / ANALYSIS_DIR
    clips = read_clips(analysis / CLIPS_FILE)
    if args.suggested:
        suggested = suggested_plan(read_findings(analysis / FINDINGS_FILE), clips)
        if not (suggested.cutoff_class or suggested.relabel_suggested or plan != FixPlan()):
            raise HarkError(f"{analysis}: the analysis suggests no fix for this run")
        plan.cutoff_class |= suggested.cutoff_class
        plan.relabel_suggested |= suggested.relabel_suggested
        print(
            f"suggested: cut-off class {'yes' if plan.cutoff_class else 'no'}, "
            f"suggested labels {'yes' if plan.relabel_suggested else 'no'}"
        )
    dataset = load_dataset(run_data.source, task=run_data.task)
    fixed, summary = fix_dataset(dataset, clips, plan)
    out = write_manifest(fixed, args.out or args.run / "fixed_dataset.json")
    print(
        f"{summary.kept} clips kept: {summary.to_cutoff} moved to {CUTOFF_LABEL}, {summary.relabelled} relabelled, "
        f"{summary.dropped} dropped"
    )
    print(f"wrote {out}; retrain with: hark train {out} --out NEW_RUN")
    return 0
