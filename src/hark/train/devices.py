"""The torch device a command runs on (`hark train`, `evaluate`, `predict`), checked in one place."""

from __future__ import annotations

import torch

from hark.errors import UsageError


def torch_device(name: str = "auto") -> torch.device:
    """`auto` (CUDA when torch can use it, else the CPU), `cpu`, `cuda` or `cuda:N`; asking for
    CUDA on a machine without it is a usage error."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name.startswith("cuda") and not torch.cuda.is_available():
        raise UsageError(f"--device {name}: this machine has no CUDA GPU that torch can use (try --device cpu)")
    return torch.device(name)
