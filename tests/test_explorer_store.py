"""The explorer's SQLite store: issues, clips, corrections, durability settings, migrations."""

from __future__ import annotations

import sqlite3

import pytest

from hark.errors import HarkError
from hark.explorer.store import MIGRATIONS, SCHEMA_VERSION, Store


@pytest.fixture
def store(tmp_path):
    s = Store(tmp_path / "explorer.db")
    yield s
    s.close()


def test_issue_lifecycle(store):
    issue = store.create_issue("cut-off words", "ends mid-word", paths=["yes/a.wav", "no/b.wav", "yes/a.wav"])
    assert (issue.title, issue.notes, issue.status, issue.size) == ("cut-off words", "ends mid-word", "open", 2)
    assert store.add_clips(issue.id, ["no/b.wav", "up/c.wav"]) == 1  # b was already in it
    assert store.remove_clips(issue.id, ["yes/a.wav", "not/there.wav"]) == 1
    assert store.issue_paths(issue.id) == ["no/b.wav", "up/c.wav"]
    assert store.issues_of("up/c.wav") == [issue.id]
    changed = store.update_issue(issue.id, status="resolved", notes="fixed by relabel")
    assert (changed.status, changed.notes, changed.title) == ("resolved", "fixed by relabel", "cut-off words")
    assert store.update_issue(999, title="x") is None
    assert store.delete_issue(issue.id) and not store.delete_issue(issue.id)
    assert store.issues() == [] and store.issue_paths(issue.id) == []  # clips go with it


def test_status_is_constrained_by_the_schema(store):
    with pytest.raises(sqlite3.IntegrityError):
        store.create_issue("t", status="maybe")
    assert store.issues() == []  # the failed transaction left nothing behind


def test_corrections_upsert_and_delete(store):
    store.set_correction("yes/a.wav", "no")
    store.set_correction("yes/a.wav", "_cutoff_")
    store.set_correction("up/b.wav", "up")
    assert store.corrections() == {"up/b.wav": "up", "yes/a.wav": "_cutoff_"}
    assert store.delete_correction("up/b.wav") and not store.delete_correction("up/b.wav")


def test_data_survives_reopening_and_durability_pragmas(tmp_path):
    first = Store(tmp_path / "explorer.db")
    first.create_issue("kept", paths=["a.wav"])
    first.close()
    again = Store(tmp_path / "explorer.db")
    assert [i.title for i in again.issues()] == ["kept"]
    assert again._db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert again._db.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL
    again.close()


def test_old_schema_is_migrated_keeping_its_data(tmp_path):
    path = tmp_path / "explorer.db"
    old = sqlite3.connect(path)
    old.executescript(MIGRATIONS[0])
    old.execute("INSERT INTO issues (title, created, updated) VALUES ('from v1', 'then', 'then')")
    old.execute("PRAGMA user_version = 1")
    old.commit()
    old.close()
    store = Store(path)
    assert store.version == SCHEMA_VERSION
    assert [i.title for i in store.issues()] == ["from v1"]
    store.set_correction("a.wav", "yes")  # the table added by a later migration exists
    store.close()


def test_newer_schema_is_refused_with_a_clear_error(tmp_path):
    path = tmp_path / "explorer.db"
    db = sqlite3.connect(path)
    db.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    db.close()
    with pytest.raises(HarkError, match="newer than this hark"):
        Store(path)


def test_a_file_that_is_not_a_database_is_reported(tmp_path):
    path = tmp_path / "explorer.db"
    path.write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(HarkError, match="explorer.db"):
        Store(path)
