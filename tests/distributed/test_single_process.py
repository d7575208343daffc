"""shenjing.distributed in a world of one (no launcher): what runs without mpiexec."""

from __future__ import annotations

import copy

import numpy as np
import pytest

import shenjing as sj
import shenjing.distributed as dist
import shenjing.nn as nn
import shenjing.nn.functional as F
from shenjing.data import DataLoader, TensorDataset
from shenjing.distributed.launch import mpiexec_command, mpiexec_env


def test_a_world_of_one_returns_its_inputs() -> None:
    assert (dist.rank(), dist.world_size(), dist.is_main()) == (0, 1, True)
    dist.init()
    dist.barrier()
    x = sj.tensor([1.0, 2.0])
    assert dist.all_reduce(x, op="mean") is x
    np.testing.assert_array_equal(x.numpy(), [1.0, 2.0])
    a = np.arange(3.0)
    assert dist.broadcast(a) is a
    parts = dist.all_gather(a)
    assert len(parts) == 1 and parts[0] is not a
    np.testing.assert_array_equal(parts[0], a)


def test_collectives_reject_bad_arguments() -> None:
    with pytest.raises(ValueError, match="all_reduce: op must be one of"):
        dist.all_reduce(np.zeros(2), op="min")
    with pytest.raises(TypeError, match="all_reduce expects a Tensor or a NumPy array"):
        dist.all_reduce([1.0, 2.0])
    with pytest.raises(ValueError, match="broadcast: src must be a rank below 1"):
        dist.broadcast(np.zeros(2), src=1)


@pytest.mark.parametrize("shuffle", [False, True], ids=["ordered", "shuffled"])
@pytest.mark.parametrize("drop_last", [False, True], ids=["padded", "drop_last"])
@pytest.mark.parametrize("n, replicas", [(10, 3), (12, 4), (2, 3), (7, 1)])
def test_sampler_shards_like_torch(n: int, replicas: int, drop_last: bool, shuffle: bool) -> None:
    torch_data = pytest.importorskip("torch.utils.data")
    shards = [
        dist.DistributedSampler(range(n), replicas, r, shuffle=shuffle, drop_last=drop_last)
        for r in range(replicas)
    ]
    theirs = [
        torch_data.DistributedSampler(range(n), replicas, r, shuffle=False, drop_last=drop_last)
        for r in range(replicas)
    ]
    assert [len(s) for s in shards] == [len(t) for t in theirs]
    if not shuffle:  # the permutations come from different generators; the rest agrees
        assert [list(s) for s in shards] == [list(t) for t in theirs]
    everyone = sorted(i for s in shards for i in s)
    if drop_last:
        assert len(set(everyone)) == len(everyone) == n - n % replicas
    else:
        assert set(everyone) == set(range(n))


def test_sampler_epochs_reshuffle_and_repeat_with_the_seed() -> None:
    s = dist.DistributedSampler(range(50), num_replicas=2, rank=0, seed=3)
    first = list(s)
    s.set_epoch(1)
    assert list(s) != first
    s.set_epoch(0)
    assert list(s) == first


def test_sampler_rejects_a_rank_outside_the_world() -> None:
    with pytest.raises(ValueError, match=r"invalid rank 2, rank should be in the interval \[0, 1\]"):
        dist.DistributedSampler(range(4), num_replicas=2, rank=2)


def test_dataloader_reads_the_sampler_each_epoch() -> None:
    data = TensorDataset(np.arange(10.0).reshape(10, 1), np.arange(10))
    sampler = dist.DistributedSampler(data, num_replicas=3, rank=1, shuffle=False)
    loader = DataLoader(data, batch_size=2, sampler=sampler)
    assert len(loader) == 2
    assert [y.numpy().tolist() for _, y in loader] == [[1, 4], [7, 0]]
    with pytest.raises(ValueError, match="mutually exclusive with shuffle"):
        DataLoader(data, sampler=sampler, shuffle=True)


def test_ddp_in_a_world_of_one_is_the_module() -> None:
    sj.manual_seed(0)
    model = nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 2))
    ddp = dist.DistributedDataParallel(model)
    assert ddp.module is model
    assert list(ddp.state_dict()) == [f"module.{k}" for k in model.state_dict()]
    x = sj.randn(5, 3)
    np.testing.assert_array_equal(ddp(x).numpy(), model(x).numpy())
    F.cross_entropy(ddp(x), sj.tensor([0, 1, 0, 1, 1])).backward()
    assert all(p.grad is not None for p in model.parameters())
    with pytest.raises(ValueError, match="bucket_cap_mb must be positive. Received: 0"):
        dist.DistributedDataParallel(model, bucket_cap_mb=0)
    with pytest.raises(TypeError, match="wraps a Module. Received: list"):
        dist.DistributedDataParallel([model])


def test_sync_batchnorm_alone_is_batchnorm() -> None:
    sj.manual_seed(0)
    plain = nn.BatchNorm2d(3)
    sync = nn.SyncBatchNorm(3)
    x = sj.randn(4, 3, 2, 2)
    np.testing.assert_allclose(sync(x).numpy(), plain(x).numpy(), rtol=1e-6)
    np.testing.assert_allclose(sync.running_var.numpy(), plain.running_var.numpy(), rtol=1e-6)
    with pytest.raises(ValueError, match=r"SyncBatchNorm expects input of shape \(N, C, \*\)"):
        sync(sj.randn(4))


def test_convert_sync_batchnorm_keeps_order_parameters_and_state() -> None:
    sj.manual_seed(0)
    model = nn.Sequential(nn.Linear(4, 3), nn.BatchNorm1d(3, momentum=None), nn.ReLU())
    model(sj.randn(6, 4))
    before = copy.deepcopy(model.state_dict())
    weight = model[1].weight
    model.eval()
    converted = nn.SyncBatchNorm.convert_sync_batchnorm(model)
    assert converted is model
    assert [type(m).__name__ for m in model] == ["Linear", "SyncBatchNorm", "ReLU"]
    assert model[1].weight is weight and model[1].momentum is None and not model[1].training
    assert list(model.state_dict()) == list(before)
    for key, value in model.state_dict().items():
        np.testing.assert_array_equal(value, before[key])
    root = nn.SyncBatchNorm.convert_sync_batchnorm(nn.BatchNorm2d(2))
    assert type(root) is nn.SyncBatchNorm


def test_sync_batch_norm_op_in_a_world_of_one_passes_gradcheck() -> None:
    from shenjing.distributed.sync_batchnorm import sync_batch_norm

    rng = np.random.default_rng(0)
    x = sj.tensor(rng.standard_normal((4, 3, 2)), dtype="float64", requires_grad=True)
    w = sj.tensor(rng.standard_normal(3) + 2.0, dtype="float64", requires_grad=True)
    b = sj.tensor(rng.standard_normal(3), dtype="float64", requires_grad=True)

    def fn(x, w, b):
        return sync_batch_norm(x, None, None, w, b, momentum=0.1, eps=1e-5) ** 2

    assert sj.gradcheck(fn, (x, w, b)) is True
    expected = F.batch_norm(x, None, None, w, b, training=True, eps=1e-5)
    got = sync_batch_norm(x, None, None, w, b, momentum=0.1, eps=1e-5)
    np.testing.assert_allclose(got.numpy(), expected.numpy(), rtol=1e-12, atol=1e-12)


def test_mpiexec_command_and_environment() -> None:
    assert mpiexec_command(3, ["python", "x.py"], mpiexec="/bin/mpiexec") == [
        "/bin/mpiexec", "-n", "3", "python", "x.py"
    ]
    with pytest.raises(ValueError, match="ranks must be a positive integer. Received: 0"):
        mpiexec_command(0, ["x"], mpiexec="/bin/mpiexec")
    env = mpiexec_env({"OPENBLAS_NUM_THREADS": "4"})
    assert env["OPENBLAS_NUM_THREADS"] == "4" and env["OMP_NUM_THREADS"] == "1"
    assert env["HYDRA_LAUNCHER"] == "fork"
