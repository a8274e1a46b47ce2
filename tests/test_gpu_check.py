"""benchmarks/gpu_check.sh parses; its `--dry` mode (the same steps on the CPU, minutes) is
run by hand, see README.md "GPU check", since tests never need a GPU or minutes of training."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[1] / "benchmarks" / "gpu_check.sh"


@pytest.mark.skipif(shutil.which("bash") is None, reason="bash not installed")
def test_gpu_check_script_parses():
    assert subprocess.run(["bash", "-n", str(SCRIPT)], capture_output=True, text=True).returncode == 0
