"""What the explorer reads from a run folder: the analysed clips, metrics, failure modes, and
where the dataset's audio lives. Read once at start-up; missing optional parts degrade the UI
(no metrics, no similar clips, no audio) instead of failing, and each gap is said in words."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import NamedTuple

import numpy as np
import pandas as pd
import pyarrow.parquet as pq

from hark import schema
from hark.data.datasets import dataset_root
from hark.data.spectrogram import MelSettings
from hark.errors import HarkError, UsageError
from hark.runfiles import read_json, read_labels, read_table

REQUIRED_COLUMNS = (schema.PATH, schema.SPLIT, schema.LABEL, schema.PRED)
# Optional columns and the value a run without them shows.
DEFAULTS = {
    schema.CONFIDENCE: np.nan,
    schema.LOSS: np.nan,
    schema.LABEL_QUALITY: np.nan,
    schema.LABEL_ISSUE: False,
    schema.CLUSTER: schema.NO_CLUSTER,
    schema.MAP_X: np.nan,
    schema.MAP_Y: np.nan,
    schema.SPEAKER: "",
    schema.SUGGESTED_LABEL: "",
}
# Names written by `hark analyze` before the out-of-fold columns were renamed.
LEGACY_COLUMNS = {"oos_pred": schema.OOF_PRED, "oos_confidence": schema.OOF_CONFIDENCE, "oos_probs": schema.OOF_PROBS}
# How many listed clips are looked for on disk at start-up to tell a wrong data folder.
PROBE_CLIPS = 20

# The two predictions a clip can be seen by: the out-of-fold one (what the analysis counts as
# an error when cross-validation ran) and the final model's.
OOF_VIEW, FINAL_VIEW = "oof", "final"
VIEW_NAMES = (OOF_VIEW, FINAL_VIEW)
VIEW_COLUMNS = {OOF_VIEW: (schema.OOF_PRED, schema.OOF_CONFIDENCE), FINAL_VIEW: (schema.PRED, schema.CONFIDENCE)}
VIEW_TITLES = {OOF_VIEW: "out-of-fold", FINAL_VIEW: "final model"}  # what the page calls them


@dataclass
class ExplorerRun:
    run_dir: Path
    data_root: Path
    clips: pd.DataFrame  # one row per clip; the row number is the clip's id in the API
    metrics: dict = field(default_factory=dict)
    findings: list[dict] = field(default_factory=list)
    sample_rate: int = 16000
    labels: list[str] = field(default_factory=list)  # class order of the probabilities
    data_problem: str | None = None  # why the audio cannot be played, in words; None if it can
    default_view: str = FINAL_VIEW  # the prediction that defines `error`
    front_end: MelSettings | None = None  # the model's log-mel settings: what every picture shows

    @property
    def views(self) -> list[str]:
        """The prediction views this run offers, the defining one first."""
        offered = [v for v, (pred, _) in VIEW_COLUMNS.items() if pred in self.clips.columns]
        return sorted(offered, key=lambda v: v != self.default_view)


def _data_section(config: dict) -> dict:
    """The `data` section of hark.train.config.TrainConfig as saved in config.json."""
    data = config.get("data")
    return data if isinstance(data, dict) else {}


def locate_audio(run_dir: Path, config: dict) -> tuple[Path, str | None]:
    """(folder clip paths are relative to, problem or None), as the data loader resolves the
    run's source (a folder, an archive, a manifest). A missing dataset is a problem to report,
    not a reason to refuse the run."""
    source = _data_section(config).get("source")
    if not source:
        return run_dir, f"{run_dir / schema.CONFIG_FILE} names no dataset; pass --data FOLDER to hear the clips"
    try:
        return dataset_root(source, base=run_dir), None
    except HarkError as err:
        return Path(source), f"{err} (named in {run_dir / schema.CONFIG_FILE}); pass --data FOLDER"


def probe_data_root(root: Path, paths: pd.Series) -> str | None:
    """A problem if `root` is missing or holds none of the first listed clips (a wrong --data)."""
    if not root.is_dir():
        return f"data folder {root} not found; pass --data FOLDER"
    sample = [p.split("#", 1)[0] for p in paths.iloc[:PROBE_CLIPS]]
    if sample and not any((root / p).is_file() for p in sample):
        return f"data folder {root} holds none of the run's clips (no {sample[0]}); pass the right --data FOLDER"
    return None


class AnalysedClips(NamedTuple):
    clips: pd.DataFrame
    view: str  # the prediction that defines `error`: OOF_VIEW or FINAL_VIEW
    labels: list[str] | None  # the class order in the file's metadata


def normalised_clips(path: Path) -> AnalysedClips:
    """The clips with every optional column present, and what the file's metadata says."""
    table = read_table(path, "per-clip analysis", "hark analyze RUN", REQUIRED_COLUMNS)
    metadata = table.schema.metadata or {}
    clips = table.to_pandas().rename(columns=LEGACY_COLUMNS)
    defined_by = metadata.get(schema.ERROR_DEFINED_BY_METADATA_KEY)
    defined_by = LEGACY_COLUMNS.get(defined_by.decode(), defined_by.decode()) if defined_by else None
    for column, value in DEFAULTS.items():
        if column not in clips.columns:
            clips[column] = value
    for column in (schema.PATH, schema.SPLIT, schema.LABEL, schema.PRED):
        clips[column] = clips[column].astype(str)
    if schema.OOF_PRED in clips.columns:
        clips[schema.OOF_PRED] = clips[schema.OOF_PRED].astype(str)
        if schema.OOF_CONFIDENCE not in clips.columns:
            clips[schema.OOF_CONFIDENCE] = np.nan
    for column in (schema.SPEAKER, schema.SUGGESTED_LABEL):
        clips[column] = clips[column].fillna("").astype(str)
    clips[schema.CLUSTER] = clips[schema.CLUSTER].fillna(schema.NO_CLUSTER).astype(int)
    flags = [d.flag_column for d in schema.DETECTORS if d.flag_column in clips.columns]
    for column in flags + [schema.LABEL_ISSUE]:
        clips[column] = clips[column].fillna(False).astype(bool)
    view = FINAL_VIEW if defined_by == schema.PRED or schema.OOF_PRED not in clips.columns else OOF_VIEW
    return AnalysedClips(clips.reset_index(drop=True), view, read_labels(table))


def _check_run_folder(run_dir: Path) -> None:
    """A folder that is no run at all gets told so, not a complaint about one of its files."""
    if not run_dir.is_dir():
        raise UsageError(f"{run_dir}: no such folder; pass a run folder (the --out of `hark train`)")
    if not (run_dir / schema.CONFIG_FILE).exists() and not (run_dir / schema.ANALYSIS_DIR).is_dir():
        raise UsageError(
            f"{run_dir}: not a run folder (no {schema.CONFIG_FILE} or {schema.ANALYSIS_DIR}/); "
            "pass the --out folder of `hark train`, analysed with `hark analyze`"
        )


@dataclass
class Comparison:
    """Run B's defining prediction for each clip of run A (empty where B lacks the clip)."""

    run_dir: Path
    name: str
    pred: np.ndarray  # str per row of A's clips
    confidence: np.ndarray  # float per row, NaN where B lacks the clip
    prediction: str  # which of B's predictions: OOF_VIEW or FINAL_VIEW
    shared: int


def _final_predictions(run_dir: Path) -> pd.DataFrame:
    """Only the columns a comparison shows: the probabilities and embeddings are most of the file."""
    path = run_dir / schema.PREDICTIONS_FILE
    present = pq.read_schema(path).names if path.exists() else []
    wanted = [schema.PATH, schema.PRED] + ([schema.CONFIDENCE] if schema.CONFIDENCE in present else [])
    clips = read_table(path, "predictions", f"hark evaluate {run_dir}", (schema.PATH, schema.PRED), wanted).to_pandas()
    if schema.CONFIDENCE not in clips.columns:
        clips[schema.CONFIDENCE] = np.nan
    return clips


def load_comparison(run: ExplorerRun, other: str | Path) -> Comparison:
    """B is judged against A's labels on the clips both hold: a clip that `hark fix` moved to
    another label in B keeps its original label for the comparison."""
    other = Path(other)
    _check_run_folder(other)
    analysed = other / schema.ANALYSIS_DIR / schema.CLIPS_FILE
    if analysed.exists():
        clips, view, _ = normalised_clips(analysed)
    else:  # a retrained run that was evaluated but not analysed: its final model's predictions
        clips = _final_predictions(other)
        view = FINAL_VIEW
    pred_column, confidence_column = VIEW_COLUMNS[view]
    by_path = clips.drop_duplicates(schema.PATH).set_index(schema.PATH)
    ours = run.clips[schema.PATH]
    pred = by_path[pred_column].reindex(ours).fillna("").astype(str).to_numpy()
    confidence = by_path[confidence_column].reindex(ours).to_numpy(dtype=float)
    shared = int((pred != "").sum())
    if not shared:
        raise HarkError(f"{other}: shares no clip with {run.run_dir}; compare two runs of the same dataset")
    return Comparison(
        run_dir=other,
        name=schema.run_display_name(other),
        pred=pred,
        confidence=confidence,
        prediction=view,
        shared=shared,
    )


def load_explorer_run(run_dir: str | Path, data_root: str | Path | None = None) -> ExplorerRun:
    run_dir = Path(run_dir)
    _check_run_folder(run_dir)
    config = read_json(run_dir / schema.CONFIG_FILE, "training config", "hark train", default={})
    analysis = run_dir / schema.ANALYSIS_DIR
    findings = read_json(analysis / schema.FINDINGS_FILE, "findings", "hark analyze", default=[])
    if not isinstance(findings, list) or not all(isinstance(f, dict) for f in findings):
        raise HarkError(f"{analysis / schema.FINDINGS_FILE}: expected a list of failure modes")
    clips, default_view, labels = normalised_clips(analysis / schema.CLIPS_FILE)
    if data_root:
        root, problem = Path(data_root).resolve(), None
    else:
        root, problem = locate_audio(run_dir, config)
    problem = problem or probe_data_root(root, clips[schema.PATH])
    return ExplorerRun(
        run_dir=run_dir,
        data_root=root,
        clips=clips,
        metrics=read_json(run_dir / schema.METRICS_FILE, "metrics", "hark evaluate", default={}),
        findings=findings,
        sample_rate=int(_data_section(config).get("sample_rate") or 16000),
        labels=labels or [str(x) for x in config.get(schema.LABELS_KEY) or []],
        data_problem=problem,
        default_view=default_view,
        front_end=MelSettings.of_run(config),
    )
