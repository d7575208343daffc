"""Data-parallel training over MPI: the process group, DDP and the distributed sampler.

Launch a script with ``mpiexec -n 4 python train.py`` (or ``shenjing train --ranks 4``);
without a launcher everything here behaves as a world of one. Importing this package
under a launcher joins the MPI world at once, so that a rank failing later, even before
its first collective, aborts the job instead of leaving the others waiting.
"""

from shenjing.distributed import comm, sync_batchnorm  # sync_batchnorm: see register_collective
from shenjing.distributed.comm import *
from shenjing.distributed.ddp import DistributedDataParallel
from shenjing.distributed.process_group import (
    destroy_process_group,
    get_rank,
    get_world_size,
    init_process_group,
)
from shenjing.distributed.sampler import DistributedSampler
from shenjing.nn import parallel as _nn_parallel

comm.init()
# PyTorch programs import DDP as ``from torch.nn.parallel import DistributedDataParallel``;
# nn sits below distributed, so this floor registers it there.
_nn_parallel.DistributedDataParallel = DistributedDataParallel  # type: ignore[attr-defined]

__all__ = ["DistributedDataParallel", "DistributedSampler", "destroy_process_group", "get_rank",
           "get_world_size", "init_process_group", *comm.__all__]
