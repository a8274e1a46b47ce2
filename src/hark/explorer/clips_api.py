"""Routes over the clips table: the schema and summary the page starts from, filtered pages of
cards, filter masks and facet counts, the map's columns."""

from __future__ import annotations

from typing import Annotated

import pandas as pd
from fastapi import APIRouter, Query
from fastapi.responses import JSONResponse

from hark import schema
from hark.explorer.queries import MAX_ID, ClipFilter, ClipQuery, PredictionName, pack_array, pack_mask
from hark.explorer.rundata import VIEW_TITLES
from hark.explorer.state import Shared

router = APIRouter(prefix="/api")
MAX_SPEAKERS = 5000


@router.get("/schema")
def run_schema() -> dict:
    """Every name the page needs, so the browser holds no copy: hark.schema's names plus the
    filter keys of this API."""
    query_keys = [k for k in ClipQuery.model_fields if k not in ClipFilter.model_fields]
    return {
        **schema.run_schema(),
        "filter_keys": list(ClipFilter.model_fields),
        "list_filter_keys": ["flag"],
        "query_keys": query_keys,
    }


@router.get("/summary")
def summary(explorer: Shared) -> dict:
    run, clips = explorer.run, explorer.run.clips
    return {
        "run": schema.run_display_name(run.run_dir),
        "clips": len(clips),
        "classes": explorer.classes,
        "splits": sorted(clips[schema.SPLIT].unique().tolist()),
        "flags": [
            {"name": d.name, "title": d.title, "meaning": d.flag_meaning}
            for d in schema.DETECTORS
            if d.name in explorer.index.flags
        ],
        "modes": explorer.modes,
        "speakers": sorted(s for s in clips[schema.SPEAKER].unique().tolist() if s)[:MAX_SPEAKERS],
        "has_map": bool(clips[schema.MAP_X].notna().any()),
        "has_similar": explorer.predictions.available,
        "correction_labels": explorer.correction_labels,
        "views": run.views,
        "view_titles": VIEW_TITLES,
        "default_view": explorer.index.default_view,
        "data_problem": run.data_problem,
        "compare": None
        if explorer.compare is None
        else {
            "run": explorer.compare.name,
            "shared": explorer.compare.shared,
            "prediction": explorer.compare.prediction,
        },
    }


@router.get("/clips")
def clips_page(q: Annotated[ClipQuery, Query()], explorer: Shared) -> JSONResponse:
    mask = explorer.mask(q)
    rows = explorer.index.ordered(mask, q.sort, q.order, q.prediction)
    return JSONResponse(
        {
            "total": int(len(rows)),
            "offset": q.offset,
            "clips": explorer.cards(rows[q.offset : q.offset + q.limit], q.prediction),
        }
    )


@router.get("/mask")
def clips_mask(f: Annotated[ClipFilter, Query()], explorer: Shared) -> dict:
    """Which clips a filter keeps, for the map (a bit per clip, in row order)."""
    mask = explorer.mask(f)
    return {"total": int(mask.sum()), "mask": pack_mask(mask)}


@router.get("/facets")
def facets(f: Annotated[ClipFilter, Query()], explorer: Shared) -> dict:
    return explorer.index.facets(explorer.mask(f), f.prediction)


@router.get("/clips/by-id")
def clips_by_id(
    ids: Annotated[list[Annotated[int, Query(ge=0, le=MAX_ID)]], Query(max_length=500)],
    explorer: Shared,
    prediction: Annotated[PredictionName | None, Query()] = None,
) -> dict:
    return {"clips": explorer.cards([explorer.row_of_id(i) for i in ids], prediction)}


@router.get("/map")
def embedding_map(explorer: Shared) -> JSONResponse:
    """Columns as packed arrays: JSON lists of 100k numbers take seconds to encode."""
    clips, index = explorer.run.clips, explorer.index
    code = {c: i for i, c in enumerate(explorer.classes)}
    return JSONResponse(
        {
            "classes": explorer.classes,
            "x": pack_array(clips[schema.MAP_X].to_numpy(), "float32"),
            "y": pack_array(clips[schema.MAP_Y].to_numpy(), "float32"),
            "label": pack_array(clips[schema.LABEL].map(code).to_numpy(), "int32"),
            "pred": {
                name: pack_array(pd.Series(v.pred).map(code).to_numpy(), "int32") for name, v in index.views.items()
            },
            "mode": pack_array(index.mode, "int32"),
            "flags": {
                name: pack_mask(clips[schema.DETECTOR_BY_NAME[name].flag_column].to_numpy()) for name in index.flags
            },
        }
    )
