"""Checkpoints that survive a kill at any moment and load with `weights_only=True`."""

from __future__ import annotations

import os
import random
from pathlib import Path

import numpy as np
import torch

from hark.errors import HarkError
from hark.fileio import atomic_path


def save_atomic(payload: dict, path: Path) -> None:
    """Written atomically (readers see the old file or the new one, never a torn one) and
    fsynced, file and folder, so that a power cut right after an epoch keeps that epoch."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(path) as temporary, open(temporary, "wb") as handle:
        torch.save(payload, handle)
        handle.flush()
        os.fsync(handle.fileno())
    directory = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(directory)
    finally:
        os.close(directory)


def load_checkpoint(path: Path) -> dict:
    path = Path(path)
    if not path.is_file():
        raise HarkError(f"{path}: checkpoint not found")
    try:
        payload = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:  # torch raises many types for truncated/foreign files
        raise HarkError(f"{path}: not a readable hark checkpoint ({type(err).__name__}: {err})") from None
    if not isinstance(payload, dict) or "model" not in payload or "config" not in payload:
        raise HarkError(f"{path}: not a hark checkpoint (no model weights and config)")
    return payload


def load_weights(model: torch.nn.Module, payload: dict, path: Path) -> None:
    """Load the checkpoint's weights, saying which file and why when they do not fit the model."""
    try:
        model.load_state_dict(payload["model"])
    except RuntimeError as err:
        saved = payload["config"].get("model", {}).get("name", "?")
        raise HarkError(
            f"{path}: weights of model {saved!r} with {len(payload.get('labels', []))} classes do not fit "
            f"this model ({str(err).splitlines()[0]})"
        ) from None


def capture_rng(generator: torch.Generator) -> dict:
    numpy_state = np.random.get_state()
    state = {
        "python": list(random.getstate()[1]),
        "python_gauss": random.getstate()[2],
        "numpy": torch.from_numpy(numpy_state[1].astype(np.int64)),
        "numpy_pos": int(numpy_state[2]),
        "numpy_gauss": [int(numpy_state[3]), float(numpy_state[4])],
        "torch": torch.get_rng_state(),
        "generator": generator.get_state(),
    }
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def restore_rng(state: dict, generator: torch.Generator) -> None:
    random.setstate((3, tuple(state["python"]), state["python_gauss"]))
    has_gauss, gauss = state["numpy_gauss"]
    np.random.set_state(("MT19937", state["numpy"].numpy().astype(np.uint32), state["numpy_pos"], has_gauss, gauss))
    torch.set_rng_state(state["torch"])
    generator.set_state(state["generator"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])
