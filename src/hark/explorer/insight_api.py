"""Routes that explain: the landing overview, metrics with a confusion matrix, one clip in
detail (every score named, top predictions, neighbours, issues), and similar clips."""

from __future__ import annotations

from collections import Counter
from typing import Annotated

import numpy as np
from fastapi import APIRouter, HTTPException, Query

from hark import schema
from hark.explorer.queries import PredictionName, confusion, distribution
from hark.explorer.rundata import FINAL_VIEW, OOF_VIEW
from hark.explorer.state import Shared

router = APIRouter(prefix="/api")
Prediction = Annotated[PredictionName | None, Query()]
ClipPath = Annotated[str, Query(max_length=1000)]
TOP_PAIRS = 8
EXAMPLES = 4  # example clips per failure mode on the overview
TOP_K = 5


@router.get("/metrics")
def metrics(
    explorer: Shared, prediction: Prediction = None, split: Annotated[str | None, Query(max_length=50)] = None
) -> dict:
    clips, view = explorer.run.clips, explorer.index.view(prediction)
    keep = (clips[schema.SPLIT] == split).to_numpy() if split else np.ones(len(clips), dtype=bool)
    counts = confusion(clips[schema.LABEL].to_numpy()[keep], view.pred[keep])
    return {
        "metrics": explorer.run.metrics,
        "distribution": distribution(clips),
        "prediction": view.name,
        "confusion": counts,
        "modes": explorer.modes,
    }


@router.get("/overview")
def overview(explorer: Shared, prediction: Prediction = None) -> dict:
    """The story of the run on one page; every count comes with the filter that lists its clips."""
    index, clips = explorer.index, explorer.run.clips
    view = index.view(prediction)
    labels = clips[schema.LABEL].to_numpy()
    splits = []
    for split in sorted(clips[schema.SPLIT].unique()):
        inside = clips[schema.SPLIT].to_numpy() == split
        splits.append(
            {
                "split": split,
                "clips": int(inside.sum()),
                "errors": int((~view.agree & inside).sum()),
                "accuracy": round(float(view.agree[inside].mean()), 4),
            }
        )
    wrong = ~view.agree
    top = Counter(zip(labels[wrong], view.pred[wrong], strict=True)).most_common(TOP_PAIRS)
    found_modes = [
        {
            **mode,
            "examples": explorer.cards(
                index.ordered(index.mode == mode["number"], schema.LOSS, "desc", view.name)[:EXAMPLES], view.name
            ),
        }
        for mode in explorer.modes
    ]
    return {
        "prediction": view.name,
        "views": explorer.run.views,
        "clips": len(clips),
        "errors": int(wrong.sum()),
        "splits": splits,
        "modes": found_modes,
        "pairs": [{"label": a, "pred": b, "count": n} for (a, b), n in top],
        "label_issues": int(clips[schema.LABEL_ISSUE].sum()),
        # The filters behind the counts, so the page holds no copy of column or sort names.
        "label_issue_filter": {schema.LABEL_ISSUE: "true", "sort": schema.LABEL_QUALITY, "order": "asc"},
        "pair_sort": schema.CONFIDENCE,
        "detectors": [
            {"name": d.name, "title": d.title, "meaning": d.flag_meaning, "count": int(clips[d.flag_column].sum())}
            for d in schema.DETECTORS
            if d.name in index.flags
        ],
        "metrics": explorer.run.metrics,
        "data_problem": explorer.run.data_problem,
        "compare": None
        if explorer.compare is None
        else {
            "run": explorer.compare.name,
            "shared": explorer.compare.shared,
            **{kind: int(index.compare_mask(kind, view).sum()) for kind in ("fixed", "broken")},
        },
    }


def _top(probs: np.ndarray | None, labels: list[str]) -> list[dict]:
    if probs is None or len(probs) != len(labels):
        return []
    order = np.argsort(-probs)[:TOP_K]
    return [{"label": labels[i], "prob": round(float(probs[i]), 4)} for i in order]


@router.get("/clip")
def clip_detail(path: ClipPath, explorer: Shared, prediction: Prediction = None) -> dict:
    """Everything known about one clip."""
    row = explorer.index.row_of(explorer.known_path(path))
    clips = explorer.run.clips
    values = clips.iloc[row]
    detectors = [
        {
            "name": d.name,
            "title": d.title,
            "score_meaning": d.score_meaning,
            "flag_meaning": d.flag_meaning,
            "score": _number(values.get(d.score_column)),
            "flag": bool(values.get(d.flag_column, False)),
        }
        for d in schema.DETECTORS
        if d.score_column in clips.columns or d.flag_column in clips.columns
    ]
    oof_probs = values.get(schema.OOF_PROBS) if schema.OOF_PROBS in clips.columns else None
    labels = explorer.run.labels
    final_probs = explorer.predictions.final_probs(row) if explorer.predictions.available else None
    top = {
        OOF_VIEW: _top(np.asarray(oof_probs, dtype=float) if oof_probs is not None else None, labels),
        FINAL_VIEW: _top(final_probs, labels),
    }
    found = explorer.predictions.neighbours(row, 8) if explorer.predictions.available else None
    neighbours = explorer.cards([r for r, _ in found or []], prediction)
    for card, (_, distance) in zip(neighbours, found or [], strict=True):
        card["distance"] = round(distance, 4)
    issues = [vars(explorer.store.issue(i)) for i in explorer.store.issues_of(path)]
    mode = int(explorer.index.mode[row])
    cutoff = schema.DETECTOR_BY_NAME["cutoff"]
    return {
        "clip": explorer.cards([row], prediction)[0],
        "detectors": detectors,
        "top": top,
        "onset": _number(values.get(schema.ONSET)),
        "offset": _number(values.get(schema.OFFSET)),
        "mode": explorer.modes[mode - 1] if 1 <= mode <= len(explorer.modes) else None,
        "neighbours": neighbours,
        "issues": issues,
        "data_problem": explorer.run.data_problem,
        "cutoff_tail": {"seconds": _cutoff_tail_s(), "flagged": bool(values.get(cutoff.flag_column, False))},
    }


def _cutoff_tail_s() -> float:
    """How much of the clip's end the cut-off detector listens to, drawn on the spectrogram."""
    from hark.analysis.detectors import DetectorConfig  # scipy and friends: only the detail view needs it

    return float(DetectorConfig().tail_s)


def _number(value) -> float | None:
    try:
        value = float(value)
    except (TypeError, ValueError):
        return None
    return round(value, 4) if np.isfinite(value) else None


@router.get("/similar")
def similar(
    path: ClipPath, explorer: Shared, k: Annotated[int, Query(ge=1, le=100)] = 12, prediction: Prediction = None
) -> dict:
    row = explorer.index.row_of(explorer.known_path(path))
    if not explorer.predictions.available:
        raise HTTPException(404, f"this run has no {schema.PREDICTIONS_FILE}, so no embeddings")
    found = explorer.predictions.neighbours(row, k)
    if found is None:
        raise HTTPException(404, "this clip has no embedding")
    cards = explorer.cards([r for r, _ in found], prediction)
    for card, (_, distance) in zip(cards, found, strict=True):
        card["distance"] = round(distance, 5)
    return {"clip": explorer.cards([row], prediction)[0], "neighbours": cards}
