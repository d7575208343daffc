"""PyTorch's process-group names, in a world of one (no MPI launcher)."""

from __future__ import annotations

import pytest

import shenjing as sj


def test_ddp_is_importable_from_nn_parallel_as_in_pytorch() -> None:
    from shenjing.nn.parallel import DistributedDataParallel

    assert DistributedDataParallel is sj.distributed.DistributedDataParallel


def test_init_process_group_joins_a_world_of_one_without_a_launcher() -> None:
    from shenjing.distributed import destroy_process_group, init_process_group

    init_process_group(backend="gloo")
    assert sj.distributed.get_rank() == 0
    assert sj.distributed.get_world_size() == 1
    init_process_group(backend="nccl", world_size=1, rank=0)
    destroy_process_group()


def test_init_process_group_rejects_what_mpi_does_not_give() -> None:
    with pytest.raises(ValueError, match="world_size=4"):
        sj.distributed.init_process_group("gloo", world_size=4, rank=0)
    with pytest.raises(ValueError, match="rank=2"):
        sj.distributed.init_process_group("gloo", rank=2)
    with pytest.raises(ValueError, match="unknown backend"):
        sj.distributed.init_process_group("tcp")
