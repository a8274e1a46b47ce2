"""Where hark keeps what it can rebuild: extracted archives, preprocessed arrays."""

from __future__ import annotations

import os
from pathlib import Path


def cache_dir() -> Path:
    """`$HARK_CACHE_DIR`, else `~/.cache/hark`; read on every call so tests can redirect it."""
    configured = os.environ.get("HARK_CACHE_DIR")
    return Path(configured).expanduser() if configured else Path.home() / ".cache" / "hark"
