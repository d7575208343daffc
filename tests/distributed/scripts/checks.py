"""Small checks that need several ranks. Usage: mpiexec -n N python checks.py NAME.

Each check asserts on every rank; a failure aborts the job with the rank's traceback
(shenjing.distributed's excepthook), so the exit status tells the test what happened.
"""

from __future__ import annotations

import sys

import numpy as np

import shenjing as sj
import shenjing.distributed as dist
import shenjing.nn as nn
import shenjing.nn.functional as F


def collectives() -> None:
    rank, world = dist.rank(), dist.world_size()
    x = sj.tensor(np.full(3, rank + 1.0))
    assert dist.all_reduce(x) is x
    np.testing.assert_allclose(x.numpy(), world * (world + 1) / 2)
    a = np.full((2, 2), float(rank), np.float64)
    np.testing.assert_allclose(dist.all_reduce(a, op="mean"), (world - 1) / 2)
    np.testing.assert_array_equal(dist.all_reduce(np.array([rank]), op="max"), [world - 1])
    strided = np.arange(12.0).reshape(3, 4)[:, ::2] * (rank + 1)  # not contiguous
    dist.all_reduce(strided)
    want = np.arange(12.0).reshape(3, 4)[:, ::2] * world * (world + 1) / 2
    np.testing.assert_allclose(strided, want)
    b = sj.tensor(np.full(4, float(rank)))
    dist.broadcast(b, src=world - 1)
    np.testing.assert_array_equal(b.numpy(), world - 1.0)
    parts = dist.all_gather(np.full((rank + 1, 2), rank, np.int64))  # uneven rows
    assert [p.shape for p in parts] == [(r + 1, 2) for r in range(world)]
    assert all((p == r).all() for r, p in enumerate(parts))
    tensors = dist.all_gather(sj.tensor([float(rank)]))
    assert [t.item() for t in tensors] == [float(r) for r in range(world)]
    dist.barrier()


def sampler() -> None:
    """Every sample once per epoch (no padding when n divides), padding otherwise."""
    world = dist.world_size()
    for n, epoch in [(12, 0), (10, 3), (world, 1)]:
        s = dist.DistributedSampler(range(n), shuffle=True, seed=5)
        s.set_epoch(epoch)
        everyone = np.concatenate(dist.all_gather(s.indices()))
        assert len(everyone) == s.total_size == world * -(-n // world)
        assert set(everyone.tolist()) == set(range(n)), (n, everyone)
        if n % world == 0:
            assert sorted(everyone.tolist()) == list(range(n))
        assert len(s.indices()) == len(s) == -(-n // world)


def _grads(model: nn.Module) -> list[np.ndarray]:
    return [p.grad.numpy().copy() for p in model.parameters()]


def no_sync() -> None:
    """Two local backward passes under no_sync, then a synchronised one, equal one process
    accumulating the three passes over the whole batch."""
    rank, world = dist.rank(), dist.world_size()
    sj.manual_seed(0)
    model = _float64(nn.Sequential(nn.Linear(5, 7), nn.Tanh(), nn.Linear(7, 3)))
    reference = _float64(nn.Sequential(nn.Linear(5, 7), nn.Tanh(), nn.Linear(7, 3)))
    reference.load_state_dict(model.state_dict())
    ddp = dist.DistributedDataParallel(model, bucket_cap_mb=1e-4)  # several buckets
    rng = np.random.default_rng(1)
    batches = [
        (rng.standard_normal((2 * world, 5)), rng.integers(0, 3, 2 * world)) for _ in range(3)
    ]
    mine = slice(2 * rank, 2 * rank + 2)
    with ddp.no_sync():
        for x, y in batches[:2]:
            F.cross_entropy(ddp(sj.from_numpy(x[mine])), sj.from_numpy(y[mine])).backward()
    local = _grads(model)
    x, y = batches[2]
    F.cross_entropy(ddp(sj.from_numpy(x[mine])), sj.from_numpy(y[mine])).backward()
    for x, y in batches:
        F.cross_entropy(reference(sj.from_numpy(x)), sj.from_numpy(y)).backward()
    for got, want in zip(_grads(model), _grads(reference), strict=True):
        np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-14)
    if world > 1:  # the no_sync passes really were local
        assert any(not np.allclose(g, w) for g, w in zip(local, _grads(reference), strict=True))


class TwoHeads(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.body = nn.Linear(4, 4)
        self.left = nn.Linear(4, 2)
        self.right = nn.Linear(4, 2)

    def forward(self, x: sj.Tensor, use_right: bool) -> sj.Tensor:
        return (self.right if use_right else self.left)(self.body(x))


def unused() -> None:
    """A head only rank 0 uses: no deadlock, and the same nonzero gradient everywhere."""
    rank = dist.rank()
    sj.manual_seed(0)
    model = TwoHeads()
    ddp = dist.DistributedDataParallel(model)
    x = sj.from_numpy(np.ones((2, 4), np.float32))
    ddp(x, use_right=rank == 0).sum().backward()
    ddp(x, use_right=False).sum().backward()  # a second pass, everyone on the same head
    gathered = dist.all_gather(model.right.weight.grad)
    assert all(np.array_equal(g.numpy(), gathered[0].numpy()) for g in gathered)
    assert np.abs(model.right.weight.grad.numpy()).sum() > 0


def fails() -> None:
    """Rank 1 raises while the others wait in a barrier: the job must end, not hang."""
    if dist.rank() == 1:
        raise ValueError("rank one broke on purpose")
    dist.barrier()


def _float64(model: nn.Module) -> nn.Module:
    for p in model.parameters():
        p.array = p.array.astype(np.float64)
    return model


CHECKS = {f.__name__: f for f in (collectives, sampler, no_sync, unused, fails)}

if __name__ == "__main__":
    CHECKS[sys.argv[1]]()
    if dist.is_main():
        print(f"{sys.argv[1]} ok on {dist.world_size()} ranks")
