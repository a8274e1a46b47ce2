"""What the explorer reads from a run folder: the analysed clips, metrics, failure modes, and
where the dataset's audio lives. Read once at start-up; missing optional parts degrade the UI
(no metrics tab content, no similar clips) instead of failing."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from hark.data.datasets import dataset_root
from hark.errors import HarkError
from hark.runfiles import read_clips, read_json

REQUIRED_COLUMNS = ("path", "split", "label", "pred")
# Optional columns and the value a run without them shows.
DEFAULTS = {"confidence": np.nan, "loss": np.nan, "label_quality": np.nan, "label_issue": False,
            "cluster": -1, "x": np.nan, "y": np.nan, "speaker_id": ""}


@dataclass
class ExplorerRun:
    run_dir: Path
    data_root: Path
    clips: pd.DataFrame  # one row per clip; the row number is the clip's id in the API
    metrics: dict = field(default_factory=dict)
    findings: list[dict] = field(default_factory=list)
    sample_rate: int = 16000

    @property
    def flags(self) -> list[str]:
        return [c.removeprefix("flag_") for c in self.clips.columns if c.startswith("flag_")]


def _data_section(config: dict) -> dict:
    """The `data` section of hark.train.config.TrainConfig as saved in config.json."""
    data = config.get("data")
    return data if isinstance(data, dict) else {}


def _dataset_root(run_dir: Path, config: dict) -> Path:
    source = _data_section(config).get("source")
    if not source:
        raise HarkError(f"{run_dir / 'config.json'}: no dataset source in the config; pass --data FOLDER")
    try:
        return dataset_root(source, base=run_dir)
    except HarkError as err:
        raise HarkError(f"{run_dir / 'config.json'}: {err}; pass --data FOLDER") from None


def _typed(clips: pd.DataFrame) -> pd.DataFrame:
    for column in ("path", "split", "label", "pred"):
        clips[column] = clips[column].astype(str)
    clips["speaker_id"] = clips["speaker_id"].fillna("").astype(str)
    clips["cluster"] = clips["cluster"].fillna(-1).astype(int)
    for column in [c for c in clips.columns if c.startswith("flag_")] + ["label_issue"]:
        clips[column] = clips[column].fillna(False).astype(bool)
    return clips.reset_index(drop=True)


def load_explorer_run(run_dir: str | Path, data_root: str | Path | None = None) -> ExplorerRun:
    run_dir = Path(run_dir)
    if not run_dir.is_dir():
        raise HarkError(f"{run_dir}: not a run folder")
    config = read_json(run_dir / "config.json", "training config", "hark train", default={})
    root = Path(data_root).resolve() if data_root else _dataset_root(run_dir, config)
    findings = read_json(run_dir / "analysis" / "findings.json", "findings", "hark analyze", default=[])
    if not isinstance(findings, list):
        raise HarkError(f"{run_dir / 'analysis' / 'findings.json'}: expected a list of failure modes")
    return ExplorerRun(
        run_dir=run_dir,
        data_root=root,
        clips=_typed(read_clips(run_dir / "analysis" / "clips.parquet", REQUIRED_COLUMNS, DEFAULTS)),
        metrics=read_json(run_dir / "metrics.json", "metrics", "hark evaluate", default={}),
        findings=findings,
        sample_rate=int(_data_section(config).get("sample_rate") or 16000),
    )
