"""User-facing errors: the CLI prints their message (no traceback) and exits non-zero."""


class HarkError(Exception):
    """A problem the user can fix: bad input, missing file, unknown name."""
