"""Running the scripts in tests/distributed/scripts under ``mpiexec`` (skips without MPI)."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path

import pytest

from shenjing.distributed.launch import find_mpiexec, mpiexec_command, mpiexec_env

SCRIPTS = Path(__file__).parent / "scripts"
REPO = Path(__file__).resolve().parents[2]

needs_mpi = pytest.mark.skipif(
    importlib.util.find_spec("mpi4py") is None or find_mpiexec() is None,
    reason="needs mpi4py and mpiexec (pip install shenjing[mpi])",
)


def run_mpi(
    ranks: int, script: str, *args: str, timeout: float = 60.0
) -> subprocess.CompletedProcess[str]:
    """Run ``scripts/<script>`` on ``ranks`` ranks; the completed process (text output)."""
    env = mpiexec_env()
    env["PYTHONPATH"] = str(REPO)
    command = mpiexec_command(ranks, [sys.executable, str(SCRIPTS / script), *args])
    return subprocess.run(
        command, env=env, capture_output=True, text=True, timeout=timeout, cwd=REPO
    )
