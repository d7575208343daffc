"""The process group: which rank this is, and collectives on Tensors and arrays over MPI.

A world of one needs nothing: without an MPI launcher (``mpiexec``, ``srun``) or without
mpi4py installed, ``init()`` leaves this process alone as rank 0 of 1 and every
collective returns its input. mpi4py is imported only here, and only when launched, so
the rest of shenjing never needs it.

Collectives work on array buffers (``Allreduce`` on contiguous memory), never on pickled
objects: that is what makes them fast enough for the training hot path.
"""

from __future__ import annotations

import os
from typing import Any

import numpy as np

from shenjing.backend import get_array_module, is_array
from shenjing.creation import from_numpy
from shenjing.distributed import failure
from shenjing.tensor import Tensor

__all__ = [
    "all_gather",
    "all_reduce",
    "barrier",
    "broadcast",
    "init",
    "is_initialized",
    "is_main",
    "rank",
    "world_size",
]

# Environment variables that MPI launchers set in every process they start: Hydra (MPICH),
# Open MPI, and PMIx (SLURM's srun --mpi=pmix).
_LAUNCHER_VARIABLES = ("PMI_RANK", "PMI_SIZE", "OMPI_COMM_WORLD_SIZE", "PMIX_RANK")

_initialized = False
_comm: Any = None  # mpi4py's COMM_WORLD when the world has more than one rank
_MPI: Any = None  # the mpi4py.MPI module, once imported


def launched_by_mpi() -> bool:
    """Whether an MPI launcher started this process."""
    return any(name in os.environ for name in _LAUNCHER_VARIABLES)


def init() -> None:
    """Join the MPI world if launched by MPI (idempotent); otherwise be a world of one.

    In a world of more than one, a failure on any rank (an uncaught exception, or
    ``sys.exit`` with a failure status) prints the rank's message and aborts every rank,
    so a failure never leaves the others hanging (``shenjing.distributed.failure``).
    """
    global _initialized, _comm, _MPI
    if _initialized:
        return
    _initialized = True
    if not launched_by_mpi():
        return
    try:
        from mpi4py import MPI
    except ImportError:
        return
    if MPI.COMM_WORLD.Get_size() > 1:
        _MPI, _comm = MPI, MPI.COMM_WORLD
        failure.install(_comm)


def is_initialized() -> bool:
    """Whether ``init()`` has run (in a world of any size)."""
    return _initialized


def rank() -> int:
    """This process's rank, 0 in a world of one."""
    init()
    return 0 if _comm is None else _comm.Get_rank()


def world_size() -> int:
    """The number of ranks (1 when not launched by MPI)."""
    init()
    return 1 if _comm is None else _comm.Get_size()


def is_main() -> bool:
    """Whether this is rank 0, the one that prints and writes files."""
    return rank() == 0


def barrier() -> None:
    """Wait until every rank has reached this call."""
    init()
    if _comm is not None:
        _comm.Barrier()


def mpi() -> tuple[Any, Any]:
    """(mpi4py.MPI, COMM_WORLD) in a world of more than one; (None, None) otherwise."""
    init()
    return _MPI, _comm


def _host_buffer(x: Any, name: str) -> tuple[np.ndarray, Any]:
    """The contiguous NumPy buffer to communicate, and the array it belongs to."""
    array = x.array if isinstance(x, Tensor) else x
    if get_array_module(array) is not np:
        raise TypeError(f"{name}: only NumPy-backed data can be sent over MPI for now")
    if not isinstance(array, np.ndarray):
        raise TypeError(f"{name} expects a Tensor or a NumPy array. Received: {type(x).__name__}")
    return (array if array.flags.c_contiguous else np.ascontiguousarray(array)), array


_OPS = ("sum", "mean", "max")


def all_reduce(x: Any, op: str = "sum") -> Any:
    """Reduce ``x`` elementwise over all ranks, in place, and return it.

    Args:
        x: a Tensor or NumPy array, the same shape and dtype on every rank.
        op: ``"sum"``, ``"mean"`` (the sum divided by the number of ranks) or ``"max"``.

    Unlike ``torch.distributed.all_reduce`` (which returns None), the reduced input is
    also returned, so ``total = all_reduce(np.array([n]))`` reads naturally.
    """
    if op not in _OPS:
        raise ValueError(f"all_reduce: op must be one of {_OPS}. Received: {op!r}")
    if not (isinstance(x, Tensor) or is_array(x)):
        raise TypeError(f"all_reduce expects a Tensor or a NumPy array. Received: "
                        f"{type(x).__name__}")
    init()
    if _comm is None:  # a world of one: nothing to send, on any device
        return x
    buffer, array = _host_buffer(x, "all_reduce")
    _comm.Allreduce(_MPI.IN_PLACE, buffer, op=_MPI.MAX if op == "max" else _MPI.SUM)
    if op == "mean":
        if buffer.dtype.kind in "fc":
            buffer /= world_size()
        else:
            buffer //= world_size()
    if buffer is not array:
        array[...] = buffer
    return x


def broadcast(x: Any, src: int = 0) -> Any:
    """Overwrite ``x`` (Tensor or array) on every rank with rank ``src``'s; returns it."""
    buffer, array = _host_buffer(x, "broadcast")
    if not 0 <= src < world_size():
        raise ValueError(f"broadcast: src must be a rank below {world_size()}. Received: {src}")
    if _comm is None:
        return x
    _comm.Bcast(buffer, root=src)
    if buffer is not array:
        array[...] = buffer
    return x


def all_gather(x: Any) -> list[Any]:
    """Every rank's ``x``, in rank order, as a list of the same kind (Tensor or array).

    The arrays may differ along axis 0 (uneven shards of a dataset); the other axes and
    the dtype must agree.
    """
    buffer, _ = _host_buffer(x, "all_gather")
    wrap = isinstance(x, Tensor)
    init()
    if _comm is None:
        return [from_numpy(buffer.copy()) if wrap else buffer.copy()]
    rows = np.array(_comm.allgather(buffer.shape[0] if buffer.ndim else 1), dtype=np.int64)
    row_size = int(np.prod(buffer.shape[1:], dtype=np.int64)) if buffer.ndim else 1
    counts = rows * row_size
    gathered = np.empty(int(counts.sum()), dtype=buffer.dtype)
    displacements = np.concatenate([[0], np.cumsum(counts)[:-1]])
    _comm.Allgatherv(buffer, [gathered, counts, displacements, _MPI._typedict[buffer.dtype.char]])
    parts = np.split(gathered, np.cumsum(counts)[:-1])
    shapes = [(int(r), *buffer.shape[1:]) if buffer.ndim else () for r in rows]
    arrays = [p.reshape(s) for p, s in zip(parts, shapes, strict=True)]
    return [from_numpy(a) for a in arrays] if wrap else arrays
