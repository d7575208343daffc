"""What ``fit``, ``evaluate`` and ``predict`` need from data-parallel training.

Under an MPI launcher with more than one rank, training asks only these: which rank
am I (rank 0 prints and writes files), split the data, average this over ranks, and
keep the replicas' gradients and buffers in step. ``shenjing.distributed`` is imported
only when a job was launched by MPI, so single-process training never touches it.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from shenjing.data import DataLoader


def world_size() -> int:
    """The number of ranks training together (1 without an MPI launcher)."""
    from shenjing.distributed import comm

    return comm.world_size() if comm.launched_by_mpi() else 1


def is_main() -> bool:
    """Whether this rank prints progress and writes checkpoints, logs and pictures."""
    if world_size() == 1:
        return True
    from shenjing.distributed import comm

    return comm.is_main()


def average(logs: dict[str, float], count: int) -> dict[str, float]:
    """Each value averaged over ranks, weighted by the ``count`` of samples behind it."""
    from shenjing.distributed import comm

    keys = list(logs)
    values = np.array([logs[k] * count if count else 0.0 for k in keys] + [count], np.float64)
    comm.all_reduce(values, op="sum")
    total = values[-1]
    return {k: float(values[i] / total) if total else 0.0 for i, k in enumerate(keys)}


def any_rank(flag: bool) -> bool:
    """Whether ``flag`` is true on some rank (so every rank stops together)."""
    from shenjing.distributed import comm

    return bool(comm.all_reduce(np.array([int(flag)], np.int64), op="max")[0])


def train_loader(loader: DataLoader, shuffle: bool) -> tuple[DataLoader, Any]:
    """``loader`` reading only this rank's shard of each epoch, and the sampler that picks
    it (set its seed and epoch before each epoch): ``DistributedSampler`` semantics, with
    the shards padded so every rank runs the same number of steps."""
    from shenjing.distributed import DistributedSampler

    sampler = DistributedSampler(loader.dataset, shuffle=shuffle)
    sharded = DataLoader(
        loader.dataset, batch_size=loader.batch_size, sampler=sampler, drop_last=loader.drop_last
    )
    return sharded, sampler


def shared_seed(seed: int) -> int:
    """Rank 0's ``seed``, so every rank draws the same permutation of the data."""
    from shenjing.distributed import comm

    return int(comm.broadcast(np.array([seed], np.int64))[0])


def block(n: int) -> range:
    """This rank's contiguous block of ``range(n)`` (blocks differ by at most one)."""
    from shenjing.distributed import comm

    bounds = np.linspace(0, n, comm.world_size() + 1).round().astype(int)
    return range(int(bounds[comm.rank()]), int(bounds[comm.rank() + 1]))


def eval_loader(loader: DataLoader) -> DataLoader:
    """``loader`` reading only this rank's block of the data, each sample once."""
    return DataLoader(
        loader.dataset, batch_size=loader.batch_size, sampler=block(len(loader.dataset))
    )


def gather_rows(array: np.ndarray) -> np.ndarray:
    """Every rank's rows, concatenated in rank order (blocks from ``block`` come back in
    the data's order)."""
    from shenjing.distributed import comm

    return np.concatenate(comm.all_gather(np.ascontiguousarray(array)))


def data_parallel(model: Any) -> Any:
    """Average ``model``'s gradients over ranks in every backward (rank 0's weights are
    broadcast first); ``release(...)`` the result when training ends."""
    from shenjing.distributed import DistributedDataParallel

    return DistributedDataParallel(model)


def abort_on_system_exit(error: SystemExit) -> None:
    """End every rank's job if ``error`` leaving ``fit`` on this rank is a failure
    status (``sys.exit(3)`` in a callback); otherwise return, for the caller to re-raise."""
    from shenjing.distributed import failure

    failure.abort_on_system_exit(error, "fit")


def release(ddp: Any) -> None:
    """Stop averaging gradients. No collective: it also runs when training failed."""
    ddp.remove_hooks()


def sync_buffers(model: Any) -> None:
    """Copy rank 0's buffers (BatchNorm running statistics) to every rank."""
    from shenjing.distributed import comm

    for buffer in model.buffers():
        comm.broadcast(buffer, src=0)
