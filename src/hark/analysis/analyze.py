"""`hark analyze`'s pipeline: detectors, label errors, map, failure modes, slices, duplicates;
everything lands in `RUN/analysis/` (clips.parquet, findings.json, report.html)."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
import pandas as pd

from hark.analysis.confusions import confusable_pairs
from hark.analysis.detectors import DetectorConfig, detect_clips
from hark.analysis.duplicates import (
    exact_duplicate_groups,
    near_duplicate_pairs,
    neighbour_structure,
)
from hark.analysis.embedding_map import embed_2d
from hark.analysis.failure_modes import FailureMode, FailureModeConfig, find_failure_modes
from hark.analysis.findings import build_findings, write_clips, write_findings
from hark.analysis.inputs import RunData, load_run_data
from hark.analysis.label_errors import LabelErrorConfig, LabelErrors, find_label_errors, reduce_embeddings
from hark.analysis.slices import error_rates
from hark.data.datasets import dataset_root
from hark.errors import HarkError
from hark.schema import (
    ANALYSIS_DIR,
    CLEANLAB_ISSUE,
    CLIPS_FILE,
    CLUSTER,
    CONTENT_FAULTS,
    DETECTOR_BY_NAME,
    ERROR,
    FINDINGS_FILE,
    LABEL,
    LABEL_ISSUE,
    LABEL_QUALITY,
    MAP_X,
    MAP_Y,
    OOF_CONFIDENCE,
    OOF_PRED,
    OOF_PROBS,
    OUTLIER_SCORE,
    PATH,
    PRED,
    REPORT_FILE,
    SPEAKER,
    SUGGESTED_LABEL,
)


@dataclass
class AnalysisConfig:
    detectors: DetectorConfig = field(default_factory=DetectorConfig)
    label_errors: LabelErrorConfig = field(default_factory=LabelErrorConfig)
    failure_modes: FailureModeConfig = field(default_factory=FailureModeConfig)
    umap: bool = True
    umap_fit_max: int = 15000
    report: bool = True
    progress: bool = True


@dataclass
class Analysis:
    run: RunData
    clips: pd.DataFrame  # one row per clip: the clips.parquet columns
    modes: list[FailureMode]
    findings: list[dict]
    label_errors: LabelErrors
    pairs: list[dict]
    class_rates: pd.DataFrame
    speaker_rates: pd.DataFrame
    duplicates: list[dict]
    near_duplicates: list[dict]
    map_method: str
    problems: list[str]
    out_dir: Path
    defining: str = PRED  # the prediction column that defines `error`


def analyze(run_dir: str | Path, config: AnalysisConfig = AnalysisConfig(), run: RunData | None = None) -> Analysis:
    """`run`: the input already loaded (predictions hark did not make, see `external.py`)."""
    run = run if run is not None else load_run_data(run_dir)
    out_dir = run.run_dir / ANALYSIS_DIR
    out_dir.mkdir(exist_ok=True)
    clips = run.clips.copy()
    try:
        root = dataset_root(run.source)
    except HarkError:  # moved or deleted: every clip is then reported unreadable, by name
        root = Path(run.source)
    paths = clips[PATH].tolist()
    detector_config = replace(config.detectors, sample_rate=run.sample_rate)
    detected, problems, hashes = detect_clips(root, paths, detector_config, config.progress)
    clips = pd.concat([clips, detected], axis=1)

    reduced = reduce_embeddings(run.embeddings, seed=config.label_errors.seed)
    explained = clips[[DETECTOR_BY_NAME[name].flag_column for name in CONTENT_FAULTS]].to_numpy().any(axis=1)
    errors = find_label_errors(run, config.label_errors, reduced, config.progress, explained)
    labels = np.array(run.labels)
    clips[OOF_PRED] = labels[errors.probs.argmax(axis=1)]
    clips[OOF_CONFIDENCE] = errors.probs.max(axis=1)
    clips[OOF_PROBS] = list(errors.probs.astype(np.float32))
    # One prediction defines `error` everywhere (modes, pairs, report, explorer): the out-of-fold
    # one when cross-validation ran, else the final model's.
    defining = OOF_PRED if errors.crossval_folds else PRED
    clips[ERROR] = (clips[defining] != clips[LABEL]).to_numpy()
    clips[LABEL_QUALITY] = errors.quality
    clips[LABEL_ISSUE] = errors.issue
    clips[SUGGESTED_LABEL] = labels[errors.suggested]
    clips[CLEANLAB_ISSUE] = errors.cleanlab_issue

    coords, map_method = embed_2d(reduced, config.umap, config.umap_fit_max, config.label_errors.seed)
    clips[MAP_X], clips[MAP_Y] = coords[:, 0], coords[:, 1]
    nearest_distance, nearest_row, outlier = neighbour_structure(reduced)
    clips[OUTLIER_SCORE] = outlier

    modes, cluster = find_failure_modes(clips, reduced, clips[ERROR].to_numpy(), defining, config.failure_modes)
    clips[CLUSTER] = cluster
    analysis = Analysis(
        run=run,
        clips=clips,
        modes=modes,
        findings=build_findings(modes, clips),
        label_errors=errors,
        pairs=confusable_pairs(clips, run.labels, defining),
        class_rates=error_rates(clips, LABEL),
        speaker_rates=error_rates(clips[clips[SPEAKER] != ""], SPEAKER, min_clips=3),
        duplicates=exact_duplicate_groups(clips, hashes),
        near_duplicates=near_duplicate_pairs(clips, nearest_distance, nearest_row),
        map_method=map_method,
        problems=problems,
        out_dir=out_dir,
        defining=defining,
    )
    write_clips(clips, out_dir / CLIPS_FILE, run.labels, root, defining)
    write_findings(analysis.findings, out_dir / FINDINGS_FILE)
    if config.report:
        from hark.analysis.report import write_report

        write_report(analysis, root, out_dir / REPORT_FILE)
    return analysis
