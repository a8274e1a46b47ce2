"""Routes for a clip's audio, spectrogram image and waveform. A clip whose audio is gone says
why in words: the whole data folder is missing (`--data`), or this one file is."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, HTTPException, Query
from fastapi.responses import FileResponse, Response

from hark.errors import AudioError
from hark.explorer.state import Shared

router = APIRouter(prefix="/api")
ClipPath = Annotated[str, Query(max_length=1000)]


def _unplayable(explorer, err: AudioError) -> HTTPException:
    """A clip listed in the run whose file is gone (404) or cannot be decoded (422)."""
    if err.problem == "file not found":
        return HTTPException(404, explorer.run.data_problem or f"{err.path}: audio file missing from the dataset")
    return HTTPException(422, str(err))


@router.get("/audio", response_model=None)
def audio(path: ClipPath, explorer: Shared) -> Response:
    try:
        source, media_type = explorer.media.audio(explorer.known_path(path))
    except AudioError as err:
        raise _unplayable(explorer, err) from None
    if isinstance(source, bytes):
        return Response(source, media_type=media_type)
    return FileResponse(source, media_type=media_type)


@router.get("/spectrogram")
def spectrogram(path: ClipPath, explorer: Shared) -> FileResponse:
    try:
        png = explorer.media.spectrogram_png(explorer.known_path(path))
    except AudioError as err:
        raise _unplayable(explorer, err) from None
    # The URL names the clip, not the file's version: the browser must ask again after a change.
    return FileResponse(png, media_type="image/png", headers={"Cache-Control": "no-cache"})


@router.get("/waveform")
def waveform(path: ClipPath, explorer: Shared) -> dict:
    try:
        return explorer.media.waveform(explorer.known_path(path))
    except AudioError as err:
        raise _unplayable(explorer, err) from None
