"""Does `hark analyze` find what is really there? Synthesize data with injected faults, train,
evaluate, analyze, then score the analysis against `faults.csv` (read only here): precision,
recall and F1 per fault type, the rank of the cut-off failure mode, and cleanlab's label-error
precision/recall on the same out-of-sample predictions, side by side.

    python benchmarks/bench_analysis.py [--words 10] [--speakers 20] [--utterances 3] [--epochs 10]
                                        [--folds 5] [--no-crossval] [--preset default] [--out DIR]

Goals: cut-off F1 >= 0.9; label-error F1 at least 0.1 above cleanlab's; the cut-off mode first."""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd

from hark.analysis.analyze import AnalysisConfig, analyze
from hark.analysis.label_errors import LabelErrorConfig
from hark.evaluate.command import evaluate_run
from hark.synth import DEFAULT_WORDS, synthesize
from hark.train.presets import preset
from hark.train.run import train_run

# fault in faults.csv -> the clips.parquet column that should find it
DETECTED_BY = {"cutoff": "flag_cutoff", "mislabel": "label_issue", "multiword": "flag_multiword",
               "silent": "flag_no_speech", "clipped": "flag_clipping"}


def scores(predicted: np.ndarray, truth: np.ndarray) -> tuple[float, float, float]:
    hits = float((predicted & truth).sum())
    precision = hits / max(predicted.sum(), 1)
    recall = hits / max(truth.sum(), 1)
    return precision, recall, 2 * precision * recall / max(precision + recall, 1e-12)


def cutoff_mode_rank(findings: list[dict], cutoff_paths: set[str]) -> int | None:
    """1-based rank of the first failure mode whose clips are mostly injected cut-offs."""
    for rank, finding in enumerate(findings, start=1):
        if finding["clips"] and np.mean([p in cutoff_paths for p in finding["clips"]]) >= 0.5:
            return rank
    return None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--words", type=int, default=10)
    parser.add_argument("--speakers", type=int, default=20)
    parser.add_argument("--utterances", type=int, default=3)
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--preset", default="default")
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--no-crossval", action="store_true")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--device", default="auto")
    parser.add_argument("--out", type=Path, help="keep the dataset and run here (default: a temporary folder)")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        out = args.out or Path(tmp)
        data = synthesize(out / "data", DEFAULT_WORDS[:args.words], args.speakers, args.utterances, seed=args.seed)
        config = preset(args.preset)
        config.optim.warmup_epochs *= args.epochs / config.run.epochs
        config.run.epochs, config.run.device, config.data.source = args.epochs, args.device, str(data)
        run = out / "run"
        if not (run / "predictions.parquet").exists():
            train_run(config, run, report=lambda line: print(line, flush=True))
            evaluate_run(run, device=args.device)
        result = analyze(run, AnalysisConfig(label_errors=LabelErrorConfig(folds=args.folds, crossval=not args.no_crossval)))
        truth = pd.read_csv(data / "faults.csv")

    clips = result.clips.set_index("path")
    fault_of = truth.set_index("path")["fault"].reindex(clips.index)
    print(f"\n{len(clips)} clips, {truth['fault'].value_counts().to_dict()} injected; "
          f"{result.label_errors.crossval_folds or 'no'}-fold cross-validation")
    print(f"{'fault':<12}{'column':<16}{'precision':>10}{'recall':>8}{'F1':>8}")
    for fault, column in DETECTED_BY.items():
        is_fault = (fault_of == fault).to_numpy()
        if not is_fault.any():
            continue
        p, r, f = scores(clips[column].to_numpy(bool), is_fault)
        print(f"{fault:<12}{column:<16}{p:>10.3f}{r:>8.3f}{f:>8.3f}")
    mislabel = (fault_of == "mislabel").to_numpy()
    ours, theirs = scores(clips["label_issue"].to_numpy(bool), mislabel), scores(clips["cleanlab_issue"].to_numpy(bool), mislabel)
    print(f"\nlabel errors   {'precision':>10}{'recall':>8}{'F1':>8}")
    print(f"{'hark':<15}{ours[0]:>10.3f}{ours[1]:>8.3f}{ours[2]:>8.3f}")
    print(f"{'cleanlab':<15}{theirs[0]:>10.3f}{theirs[1]:>8.3f}{theirs[2]:>8.3f}")
    print(f"F1 difference {ours[2] - theirs[2]:+.3f} (goal >= +0.1)")
    rank = cutoff_mode_rank(result.findings, set(truth.loc[truth["fault"] == "cutoff", "path"]))
    print(f"cut-off failure mode rank: {rank if rank else 'not found'} of {len(result.findings)}")
    for finding in result.findings[:3]:
        print(" ", finding["description"])


if __name__ == "__main__":
    main()
