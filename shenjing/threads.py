"""How many threads the CPU math uses: ``sj.set_num_threads(n)`` and ``sj.get_num_threads()``.

shenjing's CPU work is NumPy's, and its threads are those of the BLAS library NumPy
loaded (OpenBLAS, MKL, ...). An environment variable such as ``OPENBLAS_NUM_THREADS`` only
counts before NumPy loads BLAS; these functions change the running BLAS through
threadpoolctl (in the ``full`` extra), as ``shenjing <command> --threads N`` does and as
``fit(..., threads=N)`` does for the length of one training. The names and meanings are
PyTorch's: ``set_num_threads`` sets the count for the process from now on,
``get_num_threads`` reads it.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator

__all__ = ["get_num_threads", "set_num_threads"]


def _check(n: object, caller: str) -> int:
    if isinstance(n, bool) or not isinstance(n, int):
        raise TypeError(f"{caller} expects an int. Received: {type(n).__name__}")
    if n < 1:
        raise ValueError(f"{caller}: the number of threads must be positive. Received: {n}")
    return n


def _threadpoolctl(caller: str):
    try:
        import threadpoolctl
    except ImportError:
        raise ImportError(f"{caller} needs threadpoolctl, which changes the running BLAS's "
                          "threads: pip install shenjing[full] (or threadpoolctl)") from None
    return threadpoolctl


def set_num_threads(n: int) -> None:
    """Use ``n`` threads (at least 1) for BLAS from now on, as ``torch.set_num_threads``."""
    _threadpoolctl("set_num_threads").threadpool_limits(
        limits=_check(n, "set_num_threads"), user_api="blas")


def get_num_threads() -> int:
    """The number of threads BLAS uses now, as ``torch.get_num_threads``. Without
    threadpoolctl (or BLAS it can see): the usable cores."""
    try:
        import threadpoolctl
    except ImportError:
        threadpoolctl = None
    if threadpoolctl is not None:
        counts = [pool["num_threads"] for pool in threadpoolctl.threadpool_info()
                  if pool.get("user_api") == "blas"]
        if counts:
            return max(counts)
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


@contextlib.contextmanager
def num_threads(n: int | None, caller: str = "num_threads") -> Iterator[None]:
    """Use ``n`` BLAS threads inside the ``with`` block, then what was in force before;
    ``None`` changes nothing."""
    if n is None:
        yield
        return
    limits = _threadpoolctl(caller).threadpool_limits(
        limits=_check(n, caller), user_api="blas")
    try:
        yield
    finally:
        limits.restore_original_limits()
