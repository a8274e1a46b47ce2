"""Routes for user-made state: issues (clips grouped under a title, notes and a status) and label
corrections. Bodies are validated by pydantic; clips are named by their id (row in clips.parquet)
and stored by path, the identity that outlives a re-analysis."""

from __future__ import annotations

import csv
import io
from typing import Annotated, Literal

from fastapi import APIRouter, HTTPException, Path, Query
from fastapi.responses import Response
from pydantic import BaseModel, ConfigDict, Field

from hark import schema
from hark.explorer.queries import MAX_ID, ClipFilter
from hark.explorer.state import Shared

MAX_CLIPS_PER_REQUEST = 200_000
MAX_TITLE, MAX_NOTES = 200, 20_000
Status = Literal[schema.ISSUE_STATUSES]
ClipId = Annotated[int, Field(ge=0, le=MAX_ID)]
IssueId = Annotated[int, Path(ge=1, le=MAX_ID)]
router = APIRouter(prefix="/api")


class Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class NewIssue(Body):
    title: str = Field(min_length=1, max_length=MAX_TITLE)
    notes: str = Field("", max_length=MAX_NOTES)
    status: Status = schema.ISSUE_STATUSES[0]
    ids: list[ClipId] = Field(default_factory=list, max_length=MAX_CLIPS_PER_REQUEST)
    filter: ClipFilter | None = None  # every clip the filter keeps joins the issue


class IssueChange(Body):
    title: str | None = Field(None, min_length=1, max_length=MAX_TITLE)
    notes: str | None = Field(None, max_length=MAX_NOTES)
    status: Status | None = None


class ClipIds(Body):
    ids: list[ClipId] = Field(min_length=1, max_length=MAX_CLIPS_PER_REQUEST)


class Correction(Body):
    path: str = Field(min_length=1, max_length=1000)
    label: str = Field(min_length=1, max_length=200)


def _csv(rows: list[list], header: list[str], filename: str) -> Response:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    return Response(
        buffer.getvalue(),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


def paths_of(explorer, ids: list[int]) -> list[str]:
    bad = [i for i in ids if not 0 <= i < len(explorer.index)]
    if bad:
        raise HTTPException(422, f"unknown clip id(s): {bad[:10]}")
    paths = explorer.index.clips[schema.PATH]
    return [paths.iat[i] for i in ids]


def existing(explorer, issue_id: int):
    issue = explorer.store.issue(issue_id)
    if issue is None:
        raise HTTPException(404, f"no issue {issue_id}")
    return issue


@router.get("/issues")
def list_issues(explorer: Shared) -> dict:
    return {"issues": [vars(i) for i in explorer.store.issues()]}


@router.post("/issues", status_code=201)
def create_issue(body: NewIssue, explorer: Shared) -> dict:
    paths = paths_of(explorer, body.ids)
    if body.filter is not None:
        rows = explorer.index.ordered(explorer.mask(body.filter), schema.PATH, "asc")
        paths += paths_of(explorer, rows.tolist())
    return vars(explorer.store.create_issue(body.title, body.notes, body.status, list(dict.fromkeys(paths))))


@router.get("/issues/{issue_id}")
def get_issue(issue_id: IssueId, explorer: Shared) -> dict:
    return vars(existing(explorer, issue_id))


@router.patch("/issues/{issue_id}")
def change_issue(issue_id: IssueId, body: IssueChange, explorer: Shared) -> dict:
    existing(explorer, issue_id)
    return vars(explorer.store.update_issue(issue_id, **body.model_dump(exclude_none=True)))


@router.delete("/issues/{issue_id}", status_code=204)
def delete_issue(issue_id: IssueId, explorer: Shared) -> Response:
    if not explorer.store.delete_issue(issue_id):
        raise HTTPException(404, f"no issue {issue_id}")
    return Response(status_code=204)


@router.post("/issues/{issue_id}/clips")
def add_clips(issue_id: IssueId, body: ClipIds, explorer: Shared) -> dict:
    """Answers which ids were new to the issue, so the page can undo exactly those."""
    existing(explorer, issue_id)
    already = set(explorer.store.issue_paths(issue_id))
    paths = paths_of(explorer, body.ids)
    new_ids = list(dict.fromkeys(i for i, p in zip(body.ids, paths, strict=True) if p not in already))
    added = explorer.store.add_clips(issue_id, paths)
    return {"added": added, "added_ids": new_ids, "issue": vars(existing(explorer, issue_id))}


@router.post("/issues/{issue_id}/clips/remove")
def remove_clips(issue_id: IssueId, body: ClipIds, explorer: Shared) -> dict:
    existing(explorer, issue_id)
    removed = explorer.store.remove_clips(issue_id, paths_of(explorer, body.ids))
    return {"removed": removed, "issue": vars(existing(explorer, issue_id))}


@router.get("/issues/{issue_id}/export.csv")
def export_issue(issue_id: IssueId, explorer: Shared) -> Response:
    issue = existing(explorer, issue_id)
    index, corrections = explorer.index, explorer.store.corrections()
    view = index.view(None)
    columns = [index.clips[c].to_numpy() for c in (schema.LABEL, schema.SPLIT)]
    rows = []
    for path in explorer.store.issue_paths(issue_id):
        row = index.row_of(path)
        label, split, pred = ("", "", "") if row is None else (columns[0][row], columns[1][row], view.pred[row])
        rows.append([path, label, pred, split, corrections.get(path, "")])
    return _csv(rows, [schema.PATH, schema.LABEL, schema.PRED, schema.SPLIT, "correction"], f"issue-{issue.id}.csv")


@router.get("/corrections")
def list_corrections(explorer: Shared) -> dict:
    return {"corrections": [{"path": p, "label": label} for p, label in explorer.store.corrections().items()]}


@router.put("/corrections")
def set_correction(body: Correction, explorer: Shared) -> dict:
    """Sets a clip's corrected label; answers the previous one, so the page can undo."""
    explorer.known_path(body.path)
    if body.label not in explorer.correction_labels:
        raise HTTPException(422, f"unknown label {body.label[:80]!r}")
    previous = explorer.store.corrections().get(body.path)
    explorer.store.set_correction(body.path, body.label)
    return {"path": body.path, "label": body.label, "previous": previous}


@router.delete("/corrections", status_code=204)
def delete_correction(explorer: Shared, path: Annotated[str, Query(max_length=1000)]) -> Response:
    if not explorer.store.delete_correction(path):
        raise HTTPException(404, "no correction for this clip")
    return Response(status_code=204)


@router.get("/corrections.csv")
def export_corrections(explorer: Shared) -> Response:
    """The `path,label` file that `hark fix RUN --relabel FILE` applies."""
    rows = [[p, label] for p, label in explorer.store.corrections().items()]
    return _csv(rows, [schema.PATH, schema.LABEL], schema.CORRECTIONS_FILE)
