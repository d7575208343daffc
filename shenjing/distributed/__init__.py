"""Data-parallel training over MPI: the process group, DDP and the distributed sampler.

Launch a script with ``mpiexec -n 4 python train.py`` (or ``shenjing train --ranks 4``);
without a launcher everything here behaves as a world of one.
"""

from shenjing.distributed.comm import (
    all_gather,
    all_reduce,
    barrier,
    broadcast,
    init,
    is_initialized,
    is_main,
    rank,
    world_size,
)
from shenjing.distributed.ddp import DistributedDataParallel
from shenjing.distributed.sampler import DistributedSampler

__all__ = [
    "DistributedDataParallel",
    "DistributedSampler",
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
