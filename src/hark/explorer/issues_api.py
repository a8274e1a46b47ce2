"""Routes for user-made state: issues (clips grouped under a title, notes and a status) and label
corrections. Bodies are validated by pydantic; clips are named by their id (row in clips.parquet)
and stored by path, the identity that outlives a re-analysis."""

from __future__ import annotations

import csv
import io
from typing import TYPE_CHECKING, Literal

from fastapi import APIRouter, HTTPException, Query
from fastapi.responses import Response
from pydantic import BaseModel, ConfigDict, Field

from hark.explorer.queries import ClipFilter

if TYPE_CHECKING:
    from hark.explorer.app import Explorer

MAX_CLIPS_PER_REQUEST = 200_000
MAX_TITLE, MAX_NOTES = 200, 20_000


class Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class NewIssue(Body):
    title: str = Field(min_length=1, max_length=MAX_TITLE)
    notes: str = Field("", max_length=MAX_NOTES)
    status: Literal["open", "resolved"] = "open"
    ids: list[int] = Field(default_factory=list, max_length=MAX_CLIPS_PER_REQUEST)
    filter: ClipFilter | None = None  # every clip the filter keeps joins the issue


class IssueChange(Body):
    title: str | None = Field(None, min_length=1, max_length=MAX_TITLE)
    notes: str | None = Field(None, max_length=MAX_NOTES)
    status: Literal["open", "resolved"] | None = None


class ClipIds(Body):
    ids: list[int] = Field(min_length=1, max_length=MAX_CLIPS_PER_REQUEST)


class Correction(Body):
    path: str = Field(min_length=1, max_length=1000)
    label: str = Field(min_length=1, max_length=200)


def _csv(rows: list[list], header: list[str], filename: str) -> Response:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    return Response(buffer.getvalue(), media_type="text/csv; charset=utf-8",
                    headers={"Content-Disposition": f'attachment; filename="{filename}"'})


def issues_router(explorer: Explorer) -> APIRouter:
    router = APIRouter(prefix="/api")
    store, index = explorer.store, explorer.index

    def paths_of(ids: list[int]) -> list[str]:
        bad = [i for i in ids if not 0 <= i < len(index)]
        if bad:
            raise HTTPException(422, f"unknown clip id(s): {bad[:10]}")
        paths = index.clips["path"]
        return [paths.iat[i] for i in ids]

    def existing(issue_id: int):
        issue = store.issue(issue_id)
        if issue is None:
            raise HTTPException(404, f"no issue {issue_id}")
        return issue

    @router.get("/issues")
    def list_issues() -> dict:
        return {"issues": [vars(i) for i in store.issues()]}

    @router.post("/issues", status_code=201)
    def create_issue(body: NewIssue) -> dict:
        paths = paths_of(body.ids)
        if body.filter is not None:
            rows = explorer.index.ordered(explorer.mask(body.filter), "path", "asc")
            paths += paths_of(rows.tolist())
        return vars(store.create_issue(body.title, body.notes, body.status, list(dict.fromkeys(paths))))

    @router.get("/issues/{issue_id}")
    def get_issue(issue_id: int) -> dict:
        return vars(existing(issue_id))

    @router.patch("/issues/{issue_id}")
    def change_issue(issue_id: int, body: IssueChange) -> dict:
        existing(issue_id)
        return vars(store.update_issue(issue_id, **body.model_dump(exclude_none=True)))

    @router.delete("/issues/{issue_id}", status_code=204)
    def delete_issue(issue_id: int) -> Response:
        if not store.delete_issue(issue_id):
            raise HTTPException(404, f"no issue {issue_id}")
        return Response(status_code=204)

    @router.post("/issues/{issue_id}/clips")
    def add_clips(issue_id: int, body: ClipIds) -> dict:
        existing(issue_id)
        return {"added": store.add_clips(issue_id, paths_of(body.ids)), "issue": vars(existing(issue_id))}

    @router.post("/issues/{issue_id}/clips/remove")
    def remove_clips(issue_id: int, body: ClipIds) -> dict:
        existing(issue_id)
        return {"removed": store.remove_clips(issue_id, paths_of(body.ids)), "issue": vars(existing(issue_id))}

    @router.get("/issues/{issue_id}/export.csv")
    def export_issue(issue_id: int) -> Response:
        issue = existing(issue_id)
        clips = index.clips
        corrections = store.corrections()
        rows = []
        for path in store.issue_paths(issue_id):
            row = index.row_of(path)
            known = row is not None
            rows.append([path, clips["label"].iat[row] if known else "", clips["pred"].iat[row] if known else "",
                         clips["split"].iat[row] if known else "", corrections.get(path, "")])
        return _csv(rows, ["path", "label", "pred", "split", "correction"], f"issue-{issue.id}.csv")

    @router.get("/corrections")
    def list_corrections() -> dict:
        return {"corrections": [{"path": p, "label": label} for p, label in store.corrections().items()]}

    @router.put("/corrections")
    def set_correction(body: Correction) -> dict:
        explorer.known_path(body.path)
        if body.label not in explorer.correction_labels:
            raise HTTPException(422, f"unknown label {body.label!r}")
        store.set_correction(body.path, body.label)
        return {"path": body.path, "label": body.label}

    @router.delete("/corrections", status_code=204)
    def delete_correction(path: str = Query(max_length=1000)) -> Response:
        if not store.delete_correction(path):
            raise HTTPException(404, "no correction for this clip")
        return Response(status_code=204)

    @router.get("/corrections.csv")
    def export_corrections() -> Response:
        """The `path,label` file that `hark fix RUN --relabel FILE` applies."""
        rows = [[p, label] for p, label in store.corrections().items()]
        return _csv(rows, ["path", "label"], "corrections.csv")

    return router
