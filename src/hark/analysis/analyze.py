"""`hark analyze`'s pipeline: detectors, label errors, map, failure modes, slices, duplicates;
everything lands in `RUN/analysis/` (clips.parquet, findings.json, report.html)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from hark.analysis.confusions import confusable_pairs
from hark.analysis.detectors import DetectorConfig, detect_clips
from hark.analysis.duplicates import content_hashes, exact_duplicate_groups, near_duplicate_pairs, neighbour_structure
from hark.analysis.embedding_map import embed_2d
from hark.analysis.failure_modes import FailureMode, FailureModeConfig, find_failure_modes
from hark.analysis.findings import build_findings, write_clips, write_findings
from hark.analysis.inputs import RunData, load_run_data
from hark.analysis.label_errors import CONTENT_FAULTS, LabelErrorConfig, LabelErrors, find_label_errors, reduce_embeddings
from hark.analysis.slices import error_rates


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


def dataset_root(run: RunData) -> Path:
    """Where the clip paths are relative to: the dataset loader knows (manifests name their own
    root); a plain folder source is its own root when the loader cannot read it."""
    from hark.data.datasets import load_dataset
    from hark.errors import HarkError

    try:
        return load_dataset(run.source, task=run.task).root
    except HarkError:
        return Path(run.source)


def analyze(run_dir: str | Path, config: AnalysisConfig = AnalysisConfig(), run: RunData | None = None) -> Analysis:
    """`run`: the input already loaded (predictions hark did not make, see `external.py`)."""
    run = run if run is not None else load_run_data(run_dir)
    out_dir = run.run_dir / "analysis"
    out_dir.mkdir(exist_ok=True)
    clips = run.clips.copy()
    root = dataset_root(run)
    paths = clips["path"].tolist()
    detector_config = DetectorConfig(**{**config.detectors.__dict__, "sample_rate": run.sample_rate})
    detected, problems = detect_clips(root, paths, detector_config, config.progress)
    clips = pd.concat([clips, detected], axis=1)

    reduced = reduce_embeddings(run.embeddings, seed=config.label_errors.seed)
    explained = clips[[f"flag_{name}" for name in CONTENT_FAULTS]].to_numpy().any(axis=1)
    errors = find_label_errors(run, config.label_errors, reduced, config.progress, explained)
    clips["oos_pred"] = np.array(run.labels)[errors.probs.argmax(axis=1)]
    clips["oos_confidence"] = errors.probs.max(axis=1)
    clips["error"] = (clips["oos_pred"] != clips["label"]).to_numpy()
    clips["label_quality"] = errors.quality
    clips["label_issue"] = errors.issue
    clips["suggested_label"] = np.array(run.labels)[errors.suggested]
    clips["cleanlab_issue"] = errors.cleanlab_issue

    coords, map_method = embed_2d(reduced, config.umap, config.umap_fit_max, config.label_errors.seed)
    clips["x"], clips["y"] = coords[:, 0], coords[:, 1]
    nearest_distance, nearest_row, outlier = neighbour_structure(reduced)
    clips["outlier_score"] = outlier

    modes, cluster = find_failure_modes(clips, reduced, clips["error"].to_numpy(), "oos_pred", config.failure_modes)
    clips["cluster"] = cluster
    hashes = content_hashes(root, paths, run.sample_rate, config.progress)
    analysis = Analysis(
        run=run, clips=clips, modes=modes, findings=build_findings(modes, clips),
        label_errors=errors, pairs=confusable_pairs(clips, run.labels, "oos_pred"),
        class_rates=error_rates(clips, "label"), speaker_rates=error_rates(clips[clips["speaker_id"] != ""], "speaker_id", min_clips=3),
        duplicates=exact_duplicate_groups(clips, hashes), near_duplicates=near_duplicate_pairs(clips, nearest_distance, nearest_row),
        map_method=map_method, problems=problems, out_dir=out_dir,
    )
    write_clips(clips, out_dir / "clips.parquet")
    write_findings(analysis.findings, out_dir / "findings.json")
    if config.report:
        from hark.analysis.report import write_report

        write_report(analysis, root, out_dir / "report.html")
    return analysis
