"""Does `hark analyze` find what is really there? Score the analysis of a synthetic run against
`faults.csv` (read only here): precision, recall and F1 per fault type, cleanlab's label-error
precision/recall/F1 on the same out-of-sample predictions side by side, the rank of the failure
mode the cut-off clips form, and where each detector goes wrong (flags against the truth).

End to end (synthesize, train, evaluate, analyze):
    python benchmarks/bench_analysis.py [--words 10] [--speakers 20] [--utterances 3] [--epochs 10]
                                        [--folds 5] [--no-crossval] [--preset default] [--out DIR]
On a run that already exists (its dataset made by `hark synth`; cross-validation is cached in
RUN/analysis/, so a second look takes seconds):
    python benchmarks/bench_analysis.py --run RUN --data DATA [--folds 3] [--examples 3]

Goals: cut-off F1 >= 0.9; label-error F1 at least 0.1 above cleanlab's; the cut-off mode first
when it is the largest."""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd

from hark.analysis.analyze import AnalysisConfig, analyze
from hark.analysis.label_errors import LabelErrorConfig
from hark.schema import CONTENT_FAULTS, OOF_CONFIDENCE, OOF_PRED

# fault in faults.csv -> the clips.parquet column that should find it
DETECTED_BY = {
    "cutoff": "flag_cutoff",
    "mislabel": "label_issue",
    "multiword": "flag_multiword",
    "silent": "flag_no_speech",
    "clipped": "flag_clipping",
}
# columns worth seeing next to a missed or wrongly flagged clip
EVIDENCE = {
    "flag_cutoff": ["score_cutoff", "onset_s", "offset_s"],
    "flag_multiword": ["score_multiword", "onset_s", "offset_s"],
    "flag_no_speech": ["score_no_speech", "score_low_snr"],
    "flag_clipping": ["score_clipping"],
    "label_issue": ["label", OOF_PRED, OOF_CONFIDENCE, "label_quality", "suggested_label"],
}


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


def synthesize_and_train(args, out: Path) -> tuple[Path, Path]:
    from hark.evaluate.command import evaluate_run
    from hark.synth import DEFAULT_WORDS, synthesize
    from hark.train.presets import on_schedule, preset
    from hark.train.run import train_run

    data = synthesize(out / "data", DEFAULT_WORDS[: args.words], args.speakers, args.utterances, seed=args.seed)
    config = on_schedule(preset(args.preset), args.epochs)
    config.run.device, config.data.source = args.device, str(data)
    run = out / "run"
    if not (run / "predictions.parquet").exists():
        train_run(config, run, report=lambda line: print(line, flush=True))
        evaluate_run(run, device=args.device)
    return data, run


def report(result, truth: pd.DataFrame, examples: int) -> None:
    clips = result.clips.set_index("path")
    fault_of = truth.set_index("path")["fault"].reindex(clips.index).fillna("none")
    print(
        f"\n{len(clips)} clips, {truth['fault'].value_counts().to_dict()} injected; "
        f"{result.label_errors.crossval_folds or 'no'}-fold cross-validation, {int(clips['error'].sum())} errors"
    )
    print(f"{'fault':<12}{'column':<16}{'precision':>10}{'recall':>8}{'F1':>8}")
    for fault, column in DETECTED_BY.items():
        is_fault = (fault_of == fault).to_numpy()
        if is_fault.any():
            p, r, f = scores(clips[column].to_numpy(bool), is_fault)
            print(f"{fault:<12}{column:<16}{p:>10.3f}{r:>8.3f}{f:>8.3f}")
    p, r, f = scores(clips["cleanlab_issue"].to_numpy(bool), (fault_of == "mislabel").to_numpy())
    print(f"{'mislabel':<12}{'cleanlab_issue':<16}{p:>10.3f}{r:>8.3f}{f:>8.3f}")
    # The same detector mask hark applies, so that the difference is the method's, not side information.
    explained = clips[[f"flag_{name}" for name in CONTENT_FAULTS]].to_numpy().any(axis=1)
    p, r, f = scores(clips["cleanlab_issue"].to_numpy(bool) & ~explained, (fault_of == "mislabel").to_numpy())
    print(f"{'mislabel':<12}{'cleanlab+mask':<16}{p:>10.3f}{r:>8.3f}{f:>8.3f}")
    ours = scores(clips["label_issue"].to_numpy(bool), (fault_of == "mislabel").to_numpy())[2]
    print(f"label-error F1 difference over cleanlab with the same mask {ours - f:+.3f} (goal >= +0.1)")

    print("\nflagged clips by true fault (columns: what the clip really has)")
    columns = [*DETECTED_BY.values(), "cleanlab_issue", "error"]
    flagged = pd.DataFrame({column: clips[column].astype(bool) for column in columns})
    print(flagged.groupby(fault_of.rename("truth")).sum().T.assign(total=flagged.sum()).to_string())
    print("clips per true fault:", fault_of.value_counts().to_dict())

    cutoff_paths = set(truth.loc[truth["fault"] == "cutoff", "path"])
    rank = cutoff_mode_rank(result.findings, cutoff_paths)
    cut_errors = int((clips["error"] & (fault_of == "cutoff")).sum())
    bigger = sum(f["size"] > cut_errors for f in result.findings)
    print(
        f"\ncut-off failure mode rank: {rank if rank else 'not found'} of {len(result.findings)} "
        f"({cut_errors} cut-off clips misclassified; {bigger} mode(s) are larger)"
    )
    for finding in result.findings:
        composition = pd.Series([fault_of.get(p, "none") for p in finding["clips"]]).value_counts().to_dict()
        print(f"  {finding['description']}\n      truth: {composition}")

    if examples:
        for fault, column in DETECTED_BY.items():
            is_fault = fault_of == fault
            for what, rows in (("missed", is_fault & ~clips[column]), ("wrongly flagged", ~is_fault & clips[column])):
                if rows.any():
                    shown = clips.loc[rows, EVIDENCE[column]].assign(truth=fault_of[rows]).head(examples)
                    print(f"\n{fault} {what} ({int(rows.sum())}):\n{shown.to_string()}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--run", type=Path, help="analyse this existing run instead of making one")
    parser.add_argument("--data", type=Path, help="with --run: the synthetic dataset holding faults.csv")
    parser.add_argument("--words", type=int, default=10)
    parser.add_argument("--speakers", type=int, default=20)
    parser.add_argument("--utterances", type=int, default=3)
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--preset", default="default")
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--no-crossval", action="store_true")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--device", default="auto")
    parser.add_argument(
        "--examples", type=int, default=0, help="show this many missed and wrongly flagged clips per fault"
    )
    parser.add_argument("--out", type=Path, help="keep the dataset and run here (default: a temporary folder)")
    args = parser.parse_args()
    if (args.run is None) != (args.data is None):
        parser.error("--run and --data go together")

    config = AnalysisConfig(
        label_errors=LabelErrorConfig(folds=args.folds, crossval=not args.no_crossval), report=False
    )
    with tempfile.TemporaryDirectory() as tmp:
        data, run = (args.data, args.run) if args.run else synthesize_and_train(args, args.out or Path(tmp))
        result = analyze(run, config)
        truth = pd.read_csv(data / "faults.csv")
    report(result, truth, args.examples)


if __name__ == "__main__":
    main()
