"""How many threads BLAS uses for the commands and examples.

OpenBLAS starts one thread per core. For shenjing's small matrix products that is a loss:
the threads spin and wait on each other, and on a loaded 2-core machine one thread ran
``shenjing train`` 4-10x faster than OpenBLAS's default. So the commands choose half the
usable cores (1 to 4) unless told otherwise: ``--threads N`` wins, then a thread variable
the user set (``OPENBLAS_NUM_THREADS`` and friends), then that default. The limit is set
through ``sj.set_num_threads`` (threadpoolctl), which changes the running BLAS (an
environment variable set after NumPy has loaded BLAS does nothing).
"""

from __future__ import annotations

import os
from dataclasses import dataclass

MAX_DEFAULT_THREADS = 4
THREAD_VARIABLES = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS",
                    "VECLIB_MAXIMUM_THREADS", "NUMEXPR_NUM_THREADS")


@dataclass
class ThreadChoice:
    """The BLAS thread count in force (None when unknown) and why."""

    threads: int | None
    reason: str


CHOICE = ThreadChoice(None, "not set by shenjing")
"""What ``choose_threads`` last decided; ``shenjing info`` reports it."""


def usable_cores() -> int:
    """CPU cores this process may run on."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


def default_threads() -> int:
    """Half the usable cores, at least 1 and at most ``MAX_DEFAULT_THREADS``."""
    return max(1, min(MAX_DEFAULT_THREADS, usable_cores() // 2))


def choose_threads(requested: int | None) -> ThreadChoice:
    """Limit BLAS to ``requested`` threads, or to the default when the user set no thread
    variable; returns (and keeps in ``CHOICE``) what is in force and why."""
    global CHOICE
    variable = next((name for name in THREAD_VARIABLES if os.environ.get(name)), None)
    if requested is None and variable is not None:
        CHOICE = ThreadChoice(None, f"left to {variable}={os.environ[variable]}")
        return CHOICE
    threads, reason = ((requested, "--threads") if requested is not None
                       else (default_threads(), f"default: half of {usable_cores()} cores"))
    from shenjing.threads import set_num_threads  # the library's sj.set_num_threads

    try:
        set_num_threads(threads)
    except ImportError:  # threadpoolctl is an optional extra: BLAS keeps its own default
        CHOICE = ThreadChoice(None, "BLAS's default (install threadpoolctl to choose)")
        return CHOICE
    CHOICE = ThreadChoice(threads, reason)
    return CHOICE
