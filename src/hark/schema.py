"""Every name that two stages exchange: the files of a run folder, the columns of its tables,
the special labels, the explorer's sort keys, issue statuses and page size, and the Parquet
metadata keys. Writers and readers (Python, and the browser through `/api/schema`) take them
from here, so that a renamed column breaks loudly in one place instead of quietly in four.

Standard library only: `hark --help` and the explorer's start-up import it."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path

SCHEMA_VERSION = 1

# ---- files of a run folder (RUN/...) -------------------------------------------------------
CONFIG_FILE = "config.json"  # the full TrainConfig, dataset source, task and labels
HISTORY_FILE = "history.csv"  # one row per epoch
CHECKPOINT_DIR = "checkpoints"  # last.pt, best.pt, epoch_NNN.pt
LAST_CHECKPOINT = "last.pt"
BEST_CHECKPOINT = "best.pt"
TENSORBOARD_DIR = "tensorboard"
METRICS_FILE = "metrics.json"  # hark evaluate
PREDICTIONS_FILE = "predictions.parquet"  # hark evaluate: one row per clip of every split
SKIPPED_FILE = "skipped.csv"  # hark evaluate: every file left out (path, split, problem)
CONFUSION_DIR = "confusion"  # hark evaluate: <split>.png and <split>.csv
EVAL_DIR = "eval"  # RUN/eval/<name>/: evaluations on other datasets
ANALYSIS_DIR = "analysis"  # hark analyze writes the three files below into RUN/analysis/
CLIPS_FILE = "clips.parquet"
FINDINGS_FILE = "findings.json"
REPORT_FILE = "report.html"
EXPLORER_DB = "explorer.db"  # user-made state: issues, tags, label corrections
CORRECTIONS_FILE = "corrections.csv"  # label corrections exported for `hark fix --relabel`
SEED_RUN_PREFIX = "seed-"  # `hark train --seeds N` writes RUN/seed-0 .. seed-(N-1)

# ---- config.json keys beside the TrainConfig sections -------------------------------------
LABELS_KEY = "labels"  # the class order
FRONT_END_KEY = "front_end"  # the model's log-mel settings (hark.data.spectrogram.MelSettings), null without one

# ---- Parquet metadata keys ----------------------------------------------------------------
LABELS_METADATA_KEY = b"hark.labels"  # JSON list: the class order of `probs`
DATA_ROOT_METADATA_KEY = b"hark.data_root"  # where `path` is relative to
SCHEMA_METADATA_KEY = b"hark.schema"  # SCHEMA_VERSION of the file
ERROR_DEFINED_BY_METADATA_KEY = b"hark.error_defined_by"  # which prediction column defines `error`

# ---- cross-dataset evaluation and predictions hark did not make ----------------------------
SOURCE_LABEL = "source_label"  # RUN/eval/<name>/predictions.parquet: the dataset's own label, before --label-map

# RUN/eval/<name>/ (`hark evaluate --data`) and `hark analyze --predictions ... --out DIR` write a
# config.json whose `data` section names the dataset, plus this section saying where the
# predictions came from, so that `hark analyze` and `hark explore` accept the folder.
PREDICTIONS_ORIGIN_KEY = "predictions_origin"  # {"kind": ORIGIN_*, ...}
ORIGIN_CROSS_DATASET = "cross-dataset"
ORIGIN_EXTERNAL = "external"

# ---- tasks: every class, or the 12-class task of the TensorFlow reference ---------------------
TASKS = ("all", "12")

# ---- special labels -----------------------------------------------------------------------
SILENCE_LABEL = "_silence_"  # 12-class task: 1-s windows of background noise
UNKNOWN_LABEL = "_unknown_"  # 12-class task: words outside the ten
CUTOFF_LABEL = "_cutoff_"  # `hark fix --cutoff-class`: clips whose word is cut off
UNUSABLE_LABEL = "unusable"  # a correction that marks a clip as not worth keeping
UNKNOWN_TO_MODEL = "_unknown_to_model_"  # cross-dataset evaluation: a clip whose label the model was never taught
NOT_WORDS = (SILENCE_LABEL, UNKNOWN_LABEL)
# How the explorer names special labels to a person.
SPECIAL_LABEL_NAMES = {
    CUTOFF_LABEL: "cut-off",
    UNUSABLE_LABEL: "unusable",
    SILENCE_LABEL: "silence",
    UNKNOWN_LABEL: "unknown word",
    UNKNOWN_TO_MODEL: "unknown to the model",
}

# ---- clip paths ------------------------------------------------------------------------------
# A clip path is a file relative to the dataset root, optionally with a window of a longer file:
# `file#N` is the model's input length from sample N (the 12-class task's `_silence_` clips),
# `file#N-M` the samples N to M (a manifest's start/end), padded to the model's input length.
WINDOW_MARK = "#"


def window_of(path: str) -> tuple[str, int, int | None]:
    """(file, first sample, end sample or None) of a clip path."""
    file, mark, window = path.partition(WINDOW_MARK)
    if not mark:
        return file, 0, None
    start, dash, end = window.partition("-")
    return file, int(start), int(end) if dash else None


def windowed(file: str, start: int, end: int | None = None) -> str:
    """The clip path of samples `start` to `end` (None: the model's input length) of `file`."""
    return f"{file}{WINDOW_MARK}{start}" + ("" if end is None else f"-{end}")


# ---- predictions.parquet (hark evaluate) and the columns clips.parquet keeps from it --------
PATH = "path"  # relative to the dataset root, forward slashes; a clip's identity everywhere
SPLIT = "split"
LABEL = "label"
SPEAKER = "speaker_id"
PRED = "pred"  # the final model's prediction
CONFIDENCE = "confidence"  # the final model's top probability
LOSS = "loss"  # cross-entropy of the final model against `label`
PROBS = "probs"  # fixed_size_list<float32>[C], class order in LABELS_METADATA_KEY
EMBEDDING = "embedding"  # fixed_size_list<float32>[D]: the input of the model's `head`
PREDICTION_COLUMNS = (PATH, SPLIT, LABEL, SPEAKER, PRED, CONFIDENCE, LOSS, PROBS, EMBEDDING)
TRAIN, VALIDATION, TEST = "train", "validation", "test"
SPLITS = (TRAIN, VALIDATION, TEST)

# ---- clips.parquet (hark analyze) -----------------------------------------------------------
OOF_PRED = "oof_pred"  # out-of-fold prediction (cross-validation; the final model's without it)
OOF_CONFIDENCE = "oof_confidence"
OOF_PROBS = "oof_probs"  # fixed_size_list<float32>[C]
ERROR = "error"  # the defining prediction (see ERROR_DEFINED_BY_METADATA_KEY) differs from `label`
LABEL_QUALITY = "label_quality"  # 0-1, low = likely mislabelled
LABEL_ISSUE = "label_issue"  # hark's label-error verdict
SUGGESTED_LABEL = "suggested_label"
CLEANLAB_ISSUE = "cleanlab_issue"  # cleanlab's verdict on the same probabilities, for comparison
CLUSTER = "cluster"  # failure-mode number (1 = largest); NO_CLUSTER for clips in none
NO_CLUSTER = -1
MAP_X, MAP_Y = "x", "y"  # the 2-D embedding map
OUTLIER_SCORE = "outlier_score"
ONSET, OFFSET = "onset_s", "offset_s"  # detected speech start and end (s)
SCORE_PREFIX, FLAG_PREFIX = "score_", "flag_"


@dataclass(frozen=True)
class Detector:
    """One audio detector of `hark analyze`: columns `score_<name>` and `flag_<name>`."""

    name: str
    title: str  # what a person calls the flag
    score_meaning: str
    flag_meaning: str

    @property
    def score_column(self) -> str:
        return SCORE_PREFIX + self.name

    @property
    def flag_column(self) -> str:
        return FLAG_PREFIX + self.name


# The order is the report's and the explorer's order.
DETECTORS = (
    Detector(
        "cutoff",
        "cut off",
        "loudness of the clip's last 50 ms relative to its speech (0-1)",
        "speech runs into the end of the clip",
    ),
    Detector("multiword", "several words", "longest pause between two strong speech segments (s)", "two or more words"),
    Detector("no_speech", "no speech", "voiced (pitched) frames near the clip's peak", "no speech"),
    Detector("clipping", "clipped", "fraction of samples in flat runs at the peak", "clipped (saturated)"),
    Detector("low_snr", "noisy", "estimated speech-to-noise ratio (dB; low is bad)", "low signal-to-noise ratio"),
    Detector("dc_offset", "DC offset", "absolute mean of the waveform", "DC offset"),
    Detector("length", "odd length", "clip length (s)", "unusual length"),
)
DETECTOR_BY_NAME = {d.name: d for d in DETECTORS}
# Flags that describe the audio itself; a clip carrying one is explained without a label error.
CONTENT_FAULTS = ("cutoff", "multiword", "no_speech", "clipping")


def detector_columns() -> list[str]:
    return [c for d in DETECTORS for c in (d.score_column, d.flag_column)] + [ONSET, OFFSET]


CLIP_COLUMNS = (
    PATH,
    SPLIT,
    LABEL,
    SPEAKER,
    PRED,
    CONFIDENCE,
    LOSS,
    OOF_PRED,
    OOF_CONFIDENCE,
    OOF_PROBS,
    ERROR,
    LABEL_QUALITY,
    LABEL_ISSUE,
    SUGGESTED_LABEL,
    CLEANLAB_ISSUE,
    *detector_columns(),
    CLUSTER,
    MAP_X,
    MAP_Y,
    OUTLIER_SCORE,
)

# ---- the explorer ---------------------------------------------------------------------------
SORT_KEYS = (LOSS, CONFIDENCE, LABEL_QUALITY, PATH)
DEFAULT_SORT = LOSS
ISSUE_STATUSES = ("open", "resolved")
PAGE_SIZE = 60


@dataclass(frozen=True)
class RunSchema:
    """What `/api/schema` serves, so that the browser holds no copy of these names."""

    version: int
    clip_columns: tuple[str, ...]
    detectors: tuple[dict, ...]
    special_labels: dict
    sort_keys: tuple[str, ...]
    default_sort: str
    issue_statuses: tuple[str, ...]
    page_size: int
    no_cluster: int


def run_schema() -> dict:
    return asdict(
        RunSchema(
            version=SCHEMA_VERSION,
            clip_columns=CLIP_COLUMNS,
            detectors=tuple(asdict(d) for d in DETECTORS),
            special_labels=SPECIAL_LABEL_NAMES,
            sort_keys=SORT_KEYS,
            default_sort=DEFAULT_SORT,
            issue_statuses=ISSUE_STATUSES,
            page_size=PAGE_SIZE,
            no_cluster=NO_CLUSTER,
        )
    )


def seed_runs(folder: Path) -> list[Path]:
    """The run folders `hark train --seeds N` wrote under `folder` (seed-0, seed-1, ...), in order."""
    return sorted(config.parent for config in Path(folder).glob(f"{SEED_RUN_PREFIX}*/{CONFIG_FILE}"))


def run_display_name(run_dir: Path) -> str:
    """A run folder's name as people tell runs apart: `run-a/seed-0` for a seed of `hark train
    --seeds`, whose own name alone is the same on both sides of a comparison."""
    run_dir = Path(run_dir).resolve()
    return f"{run_dir.parent.name}/{run_dir.name}" if run_dir.name.startswith(SEED_RUN_PREFIX) else run_dir.name
