"""Filtering, sorting and paging the clips table, fast enough for 100,000 clips per keystroke:
every filter is a vectorised boolean mask and every sort order is computed once per prediction
view (out-of-fold or final model)."""

from __future__ import annotations

import base64
import math
from typing import Annotated, Literal

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field

from hark import schema
from hark.explorer.rundata import FINAL_VIEW, VIEW_COLUMNS, VIEW_NAMES, Comparison
from hark.train.metrics import confusion_matrix

# Ids and issue numbers the store can hold (SQLite integers are 64-bit).
MAX_ID = 2**63 - 1
HISTOGRAM_BINS = 20
PredictionName = Literal[VIEW_NAMES]
Finite = Annotated[float, Field(allow_inf_nan=False)]
BASE_CARD_COLUMNS = (
    schema.PATH,
    schema.SPLIT,
    schema.LABEL,
    schema.LOSS,
    schema.LABEL_QUALITY,
    schema.LABEL_ISSUE,
    schema.SUGGESTED_LABEL,
    schema.SPEAKER,
)


class ClipFilter(BaseModel):
    """Which clips to show; the same fields appear in the browser's URL (served by /api/schema)."""

    model_config = ConfigDict(extra="forbid")

    prediction: PredictionName | None = None  # which prediction `pred`, `agree` and `conf_*` use
    label: str | None = Field(None, max_length=200)
    pred: str | None = Field(None, max_length=200)
    split: str | None = Field(None, max_length=50)
    agree: Literal["agree", "disagree"] | None = None
    # Flag names that must be set; a leading "-" means must NOT be set ("-cutoff").
    flag: list[Annotated[str, Field(max_length=50)]] = Field(default_factory=list, max_length=50)
    mode: int | None = Field(None, ge=schema.NO_CLUSTER, le=10_000)  # failure mode number (1 = largest)
    speaker: str | None = Field(None, max_length=200)
    label_issue: bool | None = None
    conf_min: Finite | None = None
    conf_max: Finite | None = None
    loss_min: Finite | None = None
    loss_max: Finite | None = None
    search: str | None = Field(None, max_length=200)  # substring of the path
    issue: int | None = Field(None, ge=1, le=MAX_ID)
    # With a second run B: clips B gets right and this run wrong, the reverse, or any change.
    compare: Literal["fixed", "broken", "changed"] | None = None


class ClipQuery(ClipFilter):
    sort: Literal[schema.SORT_KEYS] = schema.DEFAULT_SORT
    order: Literal["asc", "desc"] = "desc"
    offset: int = Field(0, ge=0, le=MAX_ID)
    limit: int = Field(schema.PAGE_SIZE, ge=1, le=500)


def failure_mode_of_rows(clips: pd.DataFrame, findings: list[dict], row_of_path: pd.Series) -> np.ndarray:
    """Failure-mode number (1 = first in findings.json) per clip, NO_CLUSTER for none: from each
    mode's clip list when findings.json has them, so a mode's number opens exactly its clips."""
    if any("clips" in f for f in findings):
        mode = np.full(len(clips), schema.NO_CLUSTER, dtype=np.int32)
        for number in range(len(findings), 0, -1):  # backwards, so a clip listed twice keeps the larger mode
            rows = row_of_path.reindex(list(findings[number - 1].get("clips", []))).dropna().astype(int)
            mode[rows.to_numpy()] = number
        return mode
    if schema.CLUSTER not in clips:
        return np.full(len(clips), schema.NO_CLUSTER, dtype=np.int32)
    cluster = clips[schema.CLUSTER].to_numpy()
    numbers = {f["cluster"]: k for k, f in enumerate(findings, 1) if isinstance(f.get("cluster"), int)}
    if numbers:
        return np.array([numbers.get(c, schema.NO_CLUSTER) for c in cluster], dtype=np.int32)
    return cluster.astype(np.int32)


class PredictionView:
    """One prediction's columns and what queries need of them."""

    def __init__(self, clips: pd.DataFrame, name: str):
        pred_column, confidence_column = VIEW_COLUMNS[name]
        self.name = name
        self.pred = clips[pred_column].to_numpy()
        self.confidence = (
            clips[confidence_column].to_numpy(dtype=float)
            if confidence_column in clips
            else np.full(len(clips), np.nan)
        )
        self.agree = self.pred == clips[schema.LABEL].to_numpy()
        self.confidence_order = np.argsort(self.confidence, kind="stable")


class ClipIndex:
    """The clips table plus what makes queries over it cheap."""

    def __init__(
        self,
        clips: pd.DataFrame,
        findings: list[dict],
        default_view: str = FINAL_VIEW,
        compare: Comparison | None = None,
    ):
        self.clips = clips
        self.compare = compare
        self.flags = [d.name for d in schema.DETECTORS if d.flag_column in clips.columns]
        self.findings = findings
        self._row_of_path = pd.Series(np.arange(len(clips)), index=clips[schema.PATH].to_numpy())
        self._row_of_path = self._row_of_path[~self._row_of_path.index.duplicated()]
        self.views = {name: PredictionView(clips, name) for name, (pred, _) in VIEW_COLUMNS.items() if pred in clips}
        self.default_view = default_view if default_view in self.views else FINAL_VIEW
        self.mode = failure_mode_of_rows(clips, findings, self._row_of_path)
        self._orders = {
            key: np.argsort(clips[key].to_numpy(), kind="stable")
            for key in schema.SORT_KEYS
            if key != schema.CONFIDENCE
        }
        # Plain numpy columns for cards: pandas row selection costs ~10 ms per page at 100k clips.
        self._card_values = {key: clips[key].to_numpy() for key in BASE_CARD_COLUMNS if key in clips.columns}
        self._flag_values = clips[[schema.DETECTOR_BY_NAME[n].flag_column for n in self.flags]].to_numpy(dtype=bool)
        self._codes = {column: pd.factorize(clips[column], sort=True) for column in (schema.LABEL, schema.SPLIT)}
        if compare is not None:  # fixed for the run, so not recomputed for every facet and filter
            self._b_shared = compare.pred != ""
            self._b_right = compare.pred == clips[schema.LABEL].to_numpy()

    def __len__(self) -> int:
        return len(self.clips)

    def view(self, name: str | None) -> PredictionView:
        return self.views[name if name in self.views else self.default_view]

    def row_of(self, path: str) -> int | None:
        row = self._row_of_path.get(path)
        return None if row is None else int(row)

    def rows_of(self, paths: list[str]) -> np.ndarray:
        """Rows of the paths that are clips of this run (unknown paths are dropped)."""
        return self._row_of_path.reindex(paths).dropna().astype(int).to_numpy()

    def mask(self, f: ClipFilter, issue_paths: list[str] | None = None) -> np.ndarray:
        c, view = self.clips, self.view(f.prediction)
        keep = np.ones(len(c), dtype=bool)
        for column, value in ((schema.LABEL, f.label), (schema.SPLIT, f.split), (schema.SPEAKER, f.speaker)):
            if value:
                keep &= (c[column] == value).to_numpy()
        if f.pred:
            keep &= view.pred == f.pred
        if f.agree is not None:
            keep &= view.agree if f.agree == "agree" else ~view.agree
        for name in f.flag:
            wanted = not name.startswith("-")
            detector = schema.DETECTOR_BY_NAME.get(name.lstrip("-"))
            if detector is None or detector.flag_column not in c.columns:
                return np.zeros(len(c), dtype=bool)  # an unknown flag matches nothing
            keep &= c[detector.flag_column].to_numpy() == wanted
        if f.mode is not None:
            keep &= self.mode == f.mode
        if f.label_issue is not None:
            keep &= c[schema.LABEL_ISSUE].to_numpy() == f.label_issue
        for values, low, high in (
            (view.confidence, f.conf_min, f.conf_max),
            (c[schema.LOSS].to_numpy(), f.loss_min, f.loss_max),
        ):
            if low is not None:
                keep &= values >= low
            if high is not None:
                keep &= values <= high
        if f.search:
            keep &= c[schema.PATH].str.contains(f.search, regex=False).to_numpy()
        if f.compare is not None:
            keep &= self.compare_mask(f.compare, view)
        if f.issue is not None:
            inside = np.zeros(len(c), dtype=bool)
            inside[self.rows_of(list(issue_paths or []))] = True
            keep &= inside
        return keep

    def compare_mask(self, kind: str, view: PredictionView) -> np.ndarray:
        """Clips B fixed (this run wrong, B right), broke (the reverse) or predicts differently;
        nothing without a second run. Both are judged against this run's labels."""
        if self.compare is None:
            return np.zeros(len(self.clips), dtype=bool)
        shared, b_right = self._b_shared, self._b_right
        if kind == "fixed":
            return shared & ~view.agree & b_right
        if kind == "broken":
            return shared & view.agree & ~b_right
        return shared & (self.compare.pred != view.pred)

    def ordered(self, mask: np.ndarray, sort: str, order: str, prediction: str | None = None) -> np.ndarray:
        """Rows of `mask` in sort order; missing values (NaN) always last."""
        view = self.view(prediction)
        rows = view.confidence_order if sort == schema.CONFIDENCE else self._orders[sort]
        rows = rows[mask[rows]]
        if order == "desc":
            values = view.confidence[rows] if sort == schema.CONFIDENCE else self.clips[sort].to_numpy()[rows]
            missing = pd.isna(values)
            rows = np.concatenate([rows[~missing][::-1], rows[missing]])
        return rows

    def cards(self, rows, prediction: str | None = None) -> list[dict]:
        """JSON-ready card data; NaN becomes None. `pred`/`confidence` are the chosen view's,
        `predictions` holds every view's prediction."""
        view = self.view(prediction)
        out = []
        for row in rows:
            card = {"id": int(row), **{key: _plain(values[row]) for key, values in self._card_values.items()}}
            card["pred"], card["confidence"] = str(view.pred[row]), _plain(view.confidence[row])
            card["predictions"] = {
                name: {"pred": str(v.pred[row]), "confidence": _plain(v.confidence[row])}
                for name, v in self.views.items()
            }
            card["mode"] = int(self.mode[row])
            if self.compare is not None:
                card["compare"] = {
                    "pred": str(self.compare.pred[row]) or None,
                    "confidence": _plain(self.compare.confidence[row]),
                }
            card["flags"] = [name for name, on in zip(self.flags, self._flag_values[row], strict=True) if on]
            out.append(card)
        return out

    def facets(self, mask: np.ndarray, prediction: str | None = None) -> dict:
        """Counts per value of each categorical filter and histograms of the numeric ones, over
        the clips `mask` keeps: what the filter bar shows beside each choice."""
        view, c = self.view(prediction), self.clips
        counts = {}
        for column, (codes, values) in self._codes.items():
            counts[column] = _counts(values, np.bincount(codes[mask], minlength=len(values)))
        preds, pred_values = pd.factorize(view.pred[mask], sort=True)
        counts[schema.PRED] = _counts(pred_values, np.bincount(preds, minlength=len(pred_values)))
        modes, mode_counts = np.unique(self.mode[mask], return_counts=True)
        counts["mode"] = _counts(modes.astype(str), mode_counts)
        counts["agree"] = {"agree": int((view.agree & mask).sum()), "disagree": int((~view.agree & mask).sum())}
        counts["label_issue"] = {"true": int((c[schema.LABEL_ISSUE].to_numpy() & mask).sum())}
        counts["flag"] = {name: int((self._flag_values[:, k] & mask).sum()) for k, name in enumerate(self.flags)}
        if self.compare is not None:
            counts["compare"] = {
                kind: int((self.compare_mask(kind, view) & mask).sum()) for kind in ("fixed", "broken", "changed")
            }
        return {
            "total": int(mask.sum()),
            "counts": counts,
            "histograms": {
                "conf": _histogram(view.confidence, mask, (0.0, 1.0)),
                "loss": _histogram(c[schema.LOSS].to_numpy(dtype=float), mask, None),
            },
        }


def _counts(values, counts) -> dict:
    return {str(v): int(n) for v, n in zip(values.tolist(), counts.tolist(), strict=True)}


def _histogram(values: np.ndarray, mask: np.ndarray, span: tuple[float, float] | None) -> dict:
    finite = np.isfinite(values)
    if span is None:
        span = (0.0, float(np.nanmax(values[finite]))) if finite.any() else (0.0, 1.0)
    span = (span[0], max(span[1], span[0] + 1e-9))
    counts, edges = np.histogram(values[mask & finite], bins=HISTOGRAM_BINS, range=span)
    return {"edges": [round(float(e), 4) for e in edges], "counts": counts.tolist()}


def _plain(value):
    if isinstance(value, (np.bool_, bool)):
        return bool(value)
    if isinstance(value, (np.integer,)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        return None if not math.isfinite(value) else round(float(value), 5)
    return value


def pack_array(values: np.ndarray, dtype: str) -> str:
    """A numeric column as base64 little-endian bytes, decoded by the browser straight into a
    typed array (much cheaper than 100k JSON numbers on both ends; NaN survives)."""
    return base64.b64encode(np.ascontiguousarray(values, dtype=np.dtype(dtype).newbyteorder("<")).tobytes()).decode()


def pack_mask(mask: np.ndarray) -> str:
    """A boolean per clip as base64 bits (12.5 kB for 100k clips instead of a list of ids)."""
    return base64.b64encode(np.packbits(mask).tobytes()).decode()


def confusion(labels: np.ndarray, preds: np.ndarray) -> dict:
    """Counts of (label, pred), with the union of both as the class order."""
    classes = sorted(set(labels) | set(preds))
    return {"classes": classes, "counts": confusion_matrix(labels, preds, classes).tolist()}


def distribution(clips: pd.DataFrame) -> dict:
    """{split: {label: count}}."""
    counts = clips.groupby([schema.SPLIT, schema.LABEL]).size()
    out: dict[str, dict[str, int]] = {}
    for (split, label), n in counts.items():
        out.setdefault(split, {})[label] = int(n)
    return out
