"""What every route shares (the run, its query index, media, neighbours and the user store),
handed to the routers as a FastAPI dependency so that no router imports the app."""

from __future__ import annotations

import re
from typing import Annotated

import numpy as np
from fastapi import Depends, HTTPException, Request

from hark import schema
from hark.explorer.media import MediaCache
from hark.explorer.queries import ClipFilter, ClipIndex
from hark.explorer.rundata import Comparison, ExplorerRun
from hark.explorer.similar import Predictions
from hark.explorer.store import Store

# Correction choices besides the run's classes, spelled as `hark fix --relabel` reads them.
SPECIAL_CORRECTIONS = (schema.CUTOFF_LABEL, schema.UNUSABLE_LABEL)
# findings.json titles read "Failure mode 3 — 'go' heard as 'no'"; the explorer shows the number itself.
NUMBERED = re.compile(r"^\s*failure mode \d+\s*[—:-]\s*", re.IGNORECASE)


class Explorer:
    def __init__(self, run: ExplorerRun, store: Store, compare: Comparison | None = None):
        self.run = run
        self.store = store
        self.compare = compare
        self.index = ClipIndex(run.clips, run.findings, run.default_view, compare)
        self.media = MediaCache(run.data_root, run.run_dir / "explorer-cache", run.sample_rate, run.front_end)
        self.predictions = Predictions(run.run_dir / schema.PREDICTIONS_FILE, run.clips[schema.PATH])
        preds = set().union(*(set(v.pred) for v in self.index.views.values()))
        self.classes = sorted(set(run.clips[schema.LABEL]) | preds)
        self.correction_labels = self.classes + [c for c in SPECIAL_CORRECTIONS if c not in self.classes]
        self.modes = self._failure_modes()  # fixed for the run: built once, not per request

    def mask(self, f: ClipFilter) -> np.ndarray:
        issue_paths = self.store.issue_paths(f.issue) if f.issue is not None else None
        return self.index.mask(f, issue_paths)

    def cards(self, rows, prediction: str | None = None) -> list[dict]:
        corrections = self.store.corrections()
        cards = self.index.cards(rows, prediction)
        for card in cards:
            card["correction"] = corrections.get(card["path"])
        return cards

    def _failure_modes(self) -> list[dict]:
        """findings.json as the page shows it: numbered from 1, the title's number and the
        description's repeat of the title taken out."""
        out = []
        for number, finding in enumerate(self.run.findings, 1):
            title = NUMBERED.sub("", str(finding.get("title", ""))) or f"Failure mode {number}"
            description = NUMBERED.sub("", str(finding.get("description", "")))
            out.append(
                {
                    "number": number,
                    "title": title,
                    "description": description,
                    "size": int((self.index.mode == number).sum()),
                }
            )
        return out

    def known_path(self, path: str) -> str:
        """`path` if it is a clip of this run and stays inside the dataset, else 404."""
        if self.index.row_of(path) is None or self.media.source_file(path) is None:
            raise HTTPException(404, "not a clip of this run")
        return path

    def row_of_id(self, clip_id: int) -> int:
        if not 0 <= clip_id < len(self.index):
            raise HTTPException(404, f"no clip {clip_id}; ids run from 0 to {len(self.index) - 1}")
        return clip_id


def explorer_of(request: Request) -> Explorer:
    return request.app.state.explorer


Shared = Annotated[Explorer, Depends(explorer_of)]
