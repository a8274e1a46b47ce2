"""The explorer's HTTP API and static front end: `create_app(run_dir)` -> FastAPI app."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Annotated

import numpy as np
from fastapi import FastAPI, HTTPException, Query
from fastapi.responses import FileResponse, JSONResponse
from fastapi.staticfiles import StaticFiles

from hark.errors import AudioError
from hark.explorer.issues_api import issues_router
from hark.explorer.limits import BodySizeLimit
from hark.explorer.media import MediaCache, warm_up
from hark.explorer.queries import (ClipFilter, ClipIndex, ClipQuery, confusion, distribution, pack_array,
                                   pack_mask)
from hark.explorer.rundata import ExplorerRun, load_explorer_run
from hark.explorer.similar import SimilarClips
from hark.explorer.store import Store

STATIC = Path(__file__).parent / "static"
# Correction choices besides the run's classes: the seed's proposed new class and "drop it",
# spelled as `hark fix --relabel` reads them (hark.analysis.fix CUTOFF_CLASS, UNUSABLE; not
# imported because that module pulls in scikit-learn at start-up).
SPECIAL_LABELS = ("_cutoff_", "unusable")


class Explorer:
    """Everything the routes share: the run, its query index, media cache and user store."""

    def __init__(self, run: ExplorerRun, store: Store):
        self.run = run
        self.store = store
        self.index = ClipIndex(run.clips, run.findings)
        self.media = MediaCache(run.data_root, run.run_dir / "explorer-cache", run.sample_rate)
        self.similar = SimilarClips(run.run_dir / "predictions.parquet", run.clips["path"])
        self.classes = sorted(set(run.clips["label"]) | set(run.clips["pred"]))
        self.correction_labels = self.classes + list(SPECIAL_LABELS)

    def mask(self, f: ClipFilter) -> np.ndarray:
        issue_paths = self.store.issue_paths(f.issue) if f.issue is not None else None
        return self.index.mask(f, issue_paths)

    def cards(self, rows) -> list[dict]:
        corrections = self.store.corrections()
        cards = self.index.cards(rows)
        for card in cards:
            card["correction"] = corrections.get(card["path"])
        return cards

    def known_path(self, path: str) -> str:
        """`path` if it is a clip of this run and stays inside the dataset, else 404."""
        if self.index.row_of(path) is None or self.media.source_file(path) is None:
            raise HTTPException(404, "not a clip of this run")
        return path


def create_app(run_dir: str | Path, data_root: str | Path | None = None) -> FastAPI:
    run = load_explorer_run(run_dir, data_root)
    explorer = Explorer(run, Store(Path(run_dir) / "explorer.db"))
    threading.Thread(target=warm_up, args=(run.sample_rate,), daemon=True).start()
    app = FastAPI(title=f"hark explorer: {Path(run_dir).name}", docs_url=None, redoc_url=None)
    app.state.explorer = explorer
    app.add_middleware(BodySizeLimit)
    app.include_router(issues_router(explorer))
    app.mount("/static", StaticFiles(directory=STATIC), name="static")

    @app.get("/", include_in_schema=False)
    def index() -> FileResponse:
        return FileResponse(STATIC / "index.html", headers={"Cache-Control": "no-cache"})

    @app.get("/api/summary")
    def summary() -> dict:
        clips = run.clips
        return {
            "run": Path(run_dir).resolve().name,
            "clips": len(clips),
            "classes": explorer.classes,
            "splits": sorted(clips["split"].unique().tolist()),
            "flags": run.flags,
            "clusters": sorted(int(c) for c in clips["cluster"].unique()),
            "speakers": sorted(s for s in clips["speaker_id"].unique().tolist() if s)[:5000],
            "has_map": bool(clips["x"].notna().any()),
            "has_similar": explorer.similar.available,
            "correction_labels": explorer.correction_labels,
            "findings": len(run.findings),
        }

    @app.get("/api/clips")
    def clips_page(q: Annotated[ClipQuery, Query()]) -> JSONResponse:
        mask = explorer.mask(q)
        rows = explorer.index.ordered(mask, q.sort, q.order)
        return JSONResponse({"total": int(len(rows)), "offset": q.offset,
                             "clips": explorer.cards(rows[q.offset:q.offset + q.limit])})

    @app.get("/api/mask")
    def clips_mask(f: Annotated[ClipFilter, Query()]) -> dict:
        """Which clips a filter keeps, for the map (a bit per clip, in row order)."""
        mask = explorer.mask(f)
        return {"total": int(mask.sum()), "mask": pack_mask(mask)}

    @app.get("/api/clips/by-id")
    def clips_by_id(ids: Annotated[list[int], Query(max_length=500)]) -> dict:
        rows = [i for i in ids if 0 <= i < len(explorer.index)]
        if len(rows) != len(ids):
            raise HTTPException(404, "unknown clip id")
        return {"clips": explorer.cards(rows)}

    @app.get("/api/map")
    def embedding_map() -> JSONResponse:
        """Columns as packed arrays: JSON lists of 100k numbers take seconds to encode."""
        clips = run.clips
        labels = {c: i for i, c in enumerate(explorer.classes)}
        return JSONResponse({
            "classes": explorer.classes,
            "x": pack_array(clips["x"].to_numpy(), "float32"),
            "y": pack_array(clips["y"].to_numpy(), "float32"),
            "label": pack_array(clips["label"].map(labels).to_numpy(), "int32"),
            "pred": pack_array(clips["pred"].map(labels).to_numpy(), "int32"),
            "cluster": pack_array(clips["cluster"].to_numpy(), "int32"),
            "flags": {name: pack_mask(clips["flag_" + name].to_numpy()) for name in run.flags},
        })

    @app.get("/api/metrics")
    def metrics(split: Annotated[str | None, Query(max_length=50)] = None) -> dict:
        return {
            "metrics": run.metrics,
            "distribution": distribution(run.clips),
            "confusion": confusion(run.clips, split),
            "findings": [
                {"index": i, "title": str(f.get("title", f"Failure mode {i + 1}")),
                 "description": str(f.get("description", "")), "size": int(f.get("size", len(f.get("clips", []))))}
                for i, f in enumerate(run.findings)
            ],
        }

    @app.get("/api/similar")
    def similar(path: Annotated[str, Query(max_length=1000)], k: Annotated[int, Query(ge=1, le=100)] = 12) -> dict:
        row = explorer.index.row_of(explorer.known_path(path))
        if not explorer.similar.available:
            raise HTTPException(404, "this run has no predictions.parquet, so no embeddings")
        found = explorer.similar.neighbours(row, k)
        if found is None:
            raise HTTPException(404, "this clip has no embedding")
        cards = explorer.cards([r for r, _ in found])
        for card, (_, distance) in zip(cards, found):
            card["distance"] = round(distance, 5)
        return {"clip": explorer.cards([row])[0], "neighbours": cards}

    @app.get("/api/audio")
    def audio(path: Annotated[str, Query(max_length=1000)]) -> FileResponse:
        try:
            file, media_type = explorer.media.audio_file(explorer.known_path(path))
        except AudioError as err:
            raise _unplayable(err) from None
        if not file.is_file():
            raise HTTPException(404, f"{path}: audio file missing from the dataset")
        return FileResponse(file, media_type=media_type)

    @app.get("/api/spectrogram")
    def spectrogram(path: Annotated[str, Query(max_length=1000)]) -> FileResponse:
        try:
            png = explorer.media.spectrogram_png(explorer.known_path(path))
        except AudioError as err:
            raise _unplayable(err) from None
        return FileResponse(png, media_type="image/png", headers={"Cache-Control": "max-age=86400"})

    return app


def _unplayable(err: AudioError) -> HTTPException:
    """A clip listed in the run whose file is gone (404) or cannot be decoded (422)."""
    return HTTPException(404 if err.problem == "file not found" else 422, str(err))
