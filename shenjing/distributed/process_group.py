"""PyTorch's process-group calls over shenjing's MPI world.

``torch.distributed.init_process_group(backend)`` joins the default group; here the
group is the MPI world the launcher started (``mpiexec -n N``), so the call joins it and
checks that the ``world_size``/``rank`` it was given, if any, are that world's. The
backend names a transport (``"nccl"``, ``"gloo"``, ``"mpi"``); every one runs over MPI.
"""

from __future__ import annotations

from typing import Any

from shenjing.distributed import comm

__all__ = ["destroy_process_group", "get_rank", "get_world_size", "init_process_group"]

_BACKENDS = (None, "nccl", "gloo", "mpi", "cpu:gloo,cuda:nccl")


def init_process_group(backend: str | None = None, init_method: str | None = None,
                       timeout: Any = None, world_size: int = -1, rank: int = -1,
                       **kwargs: Any) -> None:
    """Join the MPI world as the default process group (PyTorch's signature).

    Raises ValueError for an unknown backend, or a ``world_size``/``rank`` that is not
    the launcher's (MPI decides both; they cannot be chosen here).
    """
    if backend not in _BACKENDS:
        raise ValueError(
            f"init_process_group: unknown backend {backend!r}; expected one of "
            f"{[b for b in _BACKENDS if b]} (all run over MPI)")
    comm.init()
    if world_size not in (-1, comm.world_size()):
        raise ValueError(
            f"init_process_group: world_size={world_size} but the MPI launcher started "
            f"{comm.world_size()} process(es); launch with mpiexec -n {world_size}")
    if rank not in (-1, comm.rank()):
        raise ValueError(
            f"init_process_group: rank={rank} but MPI gave this process rank {comm.rank()}")


def destroy_process_group(group: Any = None) -> None:
    """Leave the default group: a no-op, as MPI finalizes when the process exits."""
    if group is not None:
        raise ValueError("destroy_process_group: only the default group (None) exists")


def get_rank(group: Any = None) -> int:
    """This process's rank in the world (0 without a launcher)."""
    return comm.rank()


def get_world_size(group: Any = None) -> int:
    """How many processes the launcher started (1 without one)."""
    return comm.world_size()
