"""Checkpoints that survive a kill at any moment and load with `weights_only=True`."""

from __future__ import annotations

import io
import os
import pickle
import random
from pathlib import Path

import numpy as np
import torch

from hark import fileio
from hark.errors import HarkError, OutputError
from hark.schema import CHECKPOINT_DIR

# Longest piece of a library's error message that a one-line report quotes.
QUOTED_CHARS = 160


def save_atomic(payload: dict, *paths: Path) -> None:
    """Serialise once in memory, then for each path in order: write a temporary file beside it,
    fsync it, rename it over the path and fsync the folder, so readers see the old file or the
    new one, never a torn one, and a later path is never newer than an earlier one. The files
    are written by Python rather than by torch's zip writer, so that a full disk is an OSError
    that names the file (torch's is a RuntimeError that does not)."""
    buffer = io.BytesIO()
    torch.save(payload, buffer)
    data = buffer.getbuffer()
    for path in map(Path, paths):
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            with fileio.atomic_path(path) as temporary, open(temporary, "wb") as handle:
                handle.write(data)
                handle.flush()
                os.fsync(handle.fileno())
        except (OSError, OutputError) as err:
            problem = fileio.output_error(path, err) if isinstance(err, OSError) else err
            raise OutputError(
                f"{problem}; the checkpoint needs {len(data) / 1e6:.1f} MB ({path.name} keeps its previous content)"
            ) from None
        _sync_folder(path.parent)


def _sync_folder(folder: Path) -> None:
    """Make a rename in `folder` durable: a crash of the machine could otherwise undo it."""
    try:
        descriptor = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(descriptor)
        finally:
            os.close(descriptor)
    except OSError as err:
        raise fileio.output_error(folder, err) from None


def clean_temporaries(run_dir: Path) -> None:
    """Remove the half-written files a killed run left in its folder and its checkpoints."""
    for folder in (Path(run_dir), Path(run_dir) / CHECKPOINT_DIR):
        if folder.is_dir():
            fileio.clean_temporaries(folder)


def load_checkpoint(path: Path) -> dict:
    path = Path(path)
    if not path.is_file():
        raise HarkError(f"{path}: checkpoint not found")
    try:
        payload = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError:  # weights_only refused an object: torch's hint must not be followed
        raise HarkError(
            f"{path}: not loaded: it holds Python objects besides tensors and plain data, which "
            "could run code; hark checkpoints never do (was it written by something else?)"
        ) from None
    except Exception as err:  # torch raises many types for truncated/foreign files
        detail = (str(err).strip().splitlines() or [""])[0][:QUOTED_CHARS]
        raise HarkError(f"{path}: not a readable hark checkpoint ({type(err).__name__}: {detail})") from None
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
