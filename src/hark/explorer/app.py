"""The explorer's HTTP API and static front end: `create_app(run_dir)` -> FastAPI app. The
routers live beside their subject (clips, insight, media, issues) and reach the shared state
through `state.explorer_of`."""

from __future__ import annotations

import threading
from pathlib import Path

from fastapi import FastAPI
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse
from fastapi.staticfiles import StaticFiles

from hark import schema
from hark.explorer import clips_api, insight_api, issues_api, media_api
from hark.explorer.guard import RequestGuard, allowed_host_names, validation_error
from hark.explorer.limits import BodySizeLimit
from hark.explorer.media import warm_up
from hark.explorer.rundata import load_comparison, load_explorer_run
from hark.explorer.state import Explorer
from hark.explorer.store import Store

STATIC = Path(__file__).parent / "static"


def create_app(
    run_dir: str | Path,
    data_root: str | Path | None = None,
    host: str = "127.0.0.1",
    compare_dir: str | Path | None = None,
) -> FastAPI:
    """`host` is the address the server listens on: requests naming another host are refused.
    `compare_dir` is a second run whose predictions the page shows beside the first's."""
    run = load_explorer_run(run_dir, data_root)
    compare = load_comparison(run, compare_dir) if compare_dir else None
    explorer = Explorer(run, Store(Path(run_dir) / schema.EXPLORER_DB), compare)
    threading.Thread(target=warm_up, args=(explorer.media.front_end,), daemon=True).start()
    app = FastAPI(title=f"hark explorer: {Path(run_dir).name}", docs_url=None, redoc_url=None, openapi_url=None)
    app.state.explorer = explorer
    app.add_middleware(BodySizeLimit)
    app.add_middleware(RequestGuard, allowed_hosts=allowed_host_names(host))
    app.add_exception_handler(RequestValidationError, validation_error)
    for module in (clips_api, insight_api, media_api, issues_api):
        app.include_router(module.router)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")

    @app.get("/", include_in_schema=False)
    def index() -> FileResponse:
        return FileResponse(STATIC / "index.html", headers={"Cache-Control": "no-cache"})

    return app
