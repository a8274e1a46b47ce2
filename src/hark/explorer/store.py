"""User-made state of the explorer (issues, their clips, label corrections) in `RUN/explorer.db`.

Durability matters more than speed here: a user's notes must survive a crash, so the database
runs in WAL mode with `synchronous=FULL` (a committed transaction is on disk before the HTTP
answer leaves), and every change is one transaction."""

from __future__ import annotations

import sqlite3
import threading
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, UTC
from pathlib import Path
from collections.abc import Iterator

from hark.errors import HarkError

# Each entry upgrades the schema by one version; `PRAGMA user_version` records how many ran.
# Append new migrations, never edit old ones: databases in the wild are at any version.
MIGRATIONS: list[str] = [
    """
    CREATE TABLE issues (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        title TEXT NOT NULL,
        notes TEXT NOT NULL DEFAULT '',
        status TEXT NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'resolved')),
        created TEXT NOT NULL,
        updated TEXT NOT NULL
    );
    CREATE TABLE issue_clips (
        issue_id INTEGER NOT NULL REFERENCES issues(id) ON DELETE CASCADE,
        path TEXT NOT NULL,
        added TEXT NOT NULL,
        PRIMARY KEY (issue_id, path)
    );
    """,
    """
    CREATE TABLE corrections (
        path TEXT PRIMARY KEY,
        label TEXT NOT NULL,
        updated TEXT NOT NULL
    );
    """,
]
SCHEMA_VERSION = len(MIGRATIONS)


@dataclass(frozen=True)
class Issue:
    id: int
    title: str
    notes: str
    status: str
    created: str
    updated: str
    size: int


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


class Store:
    """One connection shared by the server's worker threads, serialised by a lock (SQLite
    allows one writer anyway, and the explorer has one user)."""

    def __init__(self, path: str | Path):
        self.path = Path(path)
        try:
            self._db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=FULL")
            self._db.execute("PRAGMA foreign_keys=ON")
        except sqlite3.DatabaseError as err:
            raise HarkError(f"{self.path}: cannot open the explorer database ({err})") from None
        self._lock = threading.Lock()
        self._migrate()

    def close(self) -> None:
        self._db.close()

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield self._db
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")

    def _migrate(self) -> None:
        version = self._db.execute("PRAGMA user_version").fetchone()[0]
        if version > SCHEMA_VERSION:
            raise HarkError(
                f"{self.path}: database schema version {version} is newer than this hark "
                f"understands ({SCHEMA_VERSION}); upgrade hark"
            )
        for number in range(version, SCHEMA_VERSION):
            with self._transaction() as db:
                # executescript would commit on its own; run statements one by one instead.
                for statement in filter(str.strip, MIGRATIONS[number].split(";")):
                    db.execute(statement)
                db.execute(f"PRAGMA user_version = {number + 1}")

    @property
    def version(self) -> int:
        return self._db.execute("PRAGMA user_version").fetchone()[0]

    # -- issues ------------------------------------------------------------------------------

    _ISSUE_SELECT = (
        "SELECT i.id, i.title, i.notes, i.status, i.created, i.updated, "
        "(SELECT COUNT(*) FROM issue_clips c WHERE c.issue_id = i.id) FROM issues i"
    )

    def create_issue(self, title: str, notes: str = "", status: str = "open", paths: list[str] = ()) -> Issue:
        now = _now()
        with self._transaction() as db:
            cursor = db.execute(
                "INSERT INTO issues (title, notes, status, created, updated) VALUES (?, ?, ?, ?, ?)",
                (title, notes, status, now, now),
            )
            issue_id = cursor.lastrowid
            db.executemany(
                "INSERT OR IGNORE INTO issue_clips (issue_id, path, added) VALUES (?, ?, ?)",
                [(issue_id, p, now) for p in paths],
            )
        return self.issue(issue_id)

    def issues(self) -> list[Issue]:
        with self._lock:
            rows = self._db.execute(self._ISSUE_SELECT + " ORDER BY i.id DESC").fetchall()
        return [Issue(*row) for row in rows]

    def issue(self, issue_id: int) -> Issue | None:
        with self._lock:
            row = self._db.execute(self._ISSUE_SELECT + " WHERE i.id = ?", (issue_id,)).fetchone()
        return Issue(*row) if row else None

    def update_issue(self, issue_id: int, **changes: str) -> Issue | None:
        """Change any of title/notes/status; None if there is no such issue."""
        allowed = {k: v for k, v in changes.items() if k in ("title", "notes", "status") and v is not None}
        with self._transaction() as db:
            sets = ", ".join(f"{k} = ?" for k in allowed)
            params = [*allowed.values(), _now(), issue_id]
            cursor = db.execute(f"UPDATE issues SET {sets}{', ' if sets else ''}updated = ? WHERE id = ?", params)
        return self.issue(issue_id) if cursor.rowcount else None

    def delete_issue(self, issue_id: int) -> bool:
        with self._transaction() as db:
            return db.execute("DELETE FROM issues WHERE id = ?", (issue_id,)).rowcount > 0

    def add_clips(self, issue_id: int, paths: list[str]) -> int:
        """Adds clips not already in the issue; returns how many were new."""
        now = _now()
        with self._transaction() as db:
            before = db.total_changes
            db.executemany(
                "INSERT OR IGNORE INTO issue_clips (issue_id, path, added) VALUES (?, ?, ?)",
                [(issue_id, p, now) for p in paths],
            )
            added = db.total_changes - before
            db.execute("UPDATE issues SET updated = ? WHERE id = ?", (now, issue_id))
        return added

    def remove_clips(self, issue_id: int, paths: list[str]) -> int:
        with self._transaction() as db:
            before = db.total_changes
            db.executemany("DELETE FROM issue_clips WHERE issue_id = ? AND path = ?", [(issue_id, p) for p in paths])
            removed = db.total_changes - before
            db.execute("UPDATE issues SET updated = ? WHERE id = ?", (_now(), issue_id))
        return removed

    def issue_paths(self, issue_id: int) -> list[str]:
        with self._lock:
            rows = self._db.execute(
                "SELECT path FROM issue_clips WHERE issue_id = ? ORDER BY added, path", (issue_id,)
            ).fetchall()
        return [r[0] for r in rows]

    def issues_of(self, path: str) -> list[int]:
        with self._lock:
            rows = self._db.execute("SELECT issue_id FROM issue_clips WHERE path = ? ORDER BY issue_id", (path,))
            return [r[0] for r in rows.fetchall()]

    # -- label corrections -------------------------------------------------------------------

    def set_correction(self, path: str, label: str) -> None:
        with self._transaction() as db:
            db.execute(
                "INSERT INTO corrections (path, label, updated) VALUES (?, ?, ?) "
                "ON CONFLICT(path) DO UPDATE SET label = excluded.label, updated = excluded.updated",
                (path, label, _now()),
            )

    def delete_correction(self, path: str) -> bool:
        with self._transaction() as db:
            return db.execute("DELETE FROM corrections WHERE path = ?", (path,)).rowcount > 0

    def corrections(self) -> dict[str, str]:
        with self._lock:
            rows = self._db.execute("SELECT path, label FROM corrections ORDER BY path").fetchall()
        return dict(rows)
