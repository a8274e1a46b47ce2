"""Every user-facing error type. The CLI prints their message (no traceback): exit 1 for a
problem found while running (bad data, a full disk), 2 for a usage mistake (see `hark.cli`).
Standard library only, so that `hark --help` imports no numerical library."""

from __future__ import annotations

from pathlib import Path


class HarkError(Exception):
    """A problem the user can fix: bad input, missing file, unknown name."""


class AudioError(HarkError):
    """A clip that cannot be used; the message names the file and the problem."""

    def __init__(self, path: str | Path, problem: str):
        super().__init__(f"{path}: {problem}")
        self.path = str(path)
        self.problem = problem


class OutputError(HarkError):
    """An output path that cannot be written (missing parent, read-only, full disk)."""


class UsageError(HarkError):
    """A mistake in how a command was called: an option out of range, an unknown name, a config
    file that does not fit. The CLI exits 2 for these and 1 for every other HarkError."""
