"""Starting an MPI job on this machine: find ``mpiexec`` and build its command line."""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

__all__ = ["find_mpiexec", "mpiexec_command", "mpiexec_env"]


def find_mpiexec() -> str | None:
    """``mpiexec`` next to this Python (a virtualenv with mpich's wheel), else on PATH."""
    beside = Path(sys.executable).parent / "mpiexec"
    if beside.is_file() and os.access(beside, os.X_OK):
        return str(beside)
    return shutil.which("mpiexec")


def mpiexec_command(ranks: int, argv: list[str], mpiexec: str | None = None) -> list[str]:
    """The command that runs ``argv`` as ``ranks`` processes on this machine."""
    if not isinstance(ranks, int) or ranks < 1:
        raise ValueError(f"mpiexec_command: ranks must be a positive integer. Received: {ranks!r}")
    mpiexec = mpiexec or find_mpiexec()
    if mpiexec is None:
        raise RuntimeError(
            "mpiexec not found next to Python or on PATH: install shenjing[mpi] (mpi4py, mpich)"
        )
    return [mpiexec, "-n", str(ranks), *argv]


def mpiexec_env(base: dict[str, str] | None = None) -> dict[str, str]:
    """The environment for a local job: one BLAS thread per rank (ranks share the cores)
    and, for MPICH's Hydra, processes forked directly rather than through ssh, which
    containers often lack."""
    env = dict(os.environ if base is None else base)
    for name in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        env.setdefault(name, "1")
    env.setdefault("HYDRA_LAUNCHER", "fork")
    return env
