"""N ranks with batch b against one process with batch N·b: 20 Adam steps, same result.

Usage: mpiexec -n N python equivalence.py MODEL DTYPE. Rank 0 also trains the reference
(the unwrapped model on the whole batch) and prints the largest relative difference;
the exit status is 1 when it is over the tolerance.
"""

from __future__ import annotations

import copy
import sys

import numpy as np

import shenjing as sj
import shenjing.distributed as dist
import shenjing.nn as nn
import shenjing.nn.functional as F
from shenjing.models import mlp, rnn_classifier

PER_RANK_BATCH = 4
STEPS = 20
TOLERANCE = {"float32": 1e-5, "float64": 1e-12}


def lenet5_bn() -> nn.Module:
    """LeNet-5 on 12x12 input with BatchNorm after each convolution.

    The convolutions have no bias: BatchNorm cancels it, so its gradient is rounding
    noise, which Adam would blow up to full-size steps that differ between the runs.
    """
    return nn.Sequential(
        nn.Conv2d(1, 6, 5, padding=2, bias=False), nn.BatchNorm2d(6), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(6, 16, 5, padding=2, bias=False), nn.BatchNorm2d(16), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(), nn.Linear(16 * 3 * 3, 120), nn.ReLU(), nn.Linear(120, 84), nn.ReLU(),
        nn.Linear(84, 10),
    )


MODELS = {
    "mlp": (lambda: mlp(in_features=20, hidden=(32, 16), num_classes=10), (20,)),
    "lenet5": (lenet5_bn, (1, 12, 12)),
    "lstm": (lambda: rnn_classifier("lstm", input_size=6, hidden_size=8), (5, 6)),
}


def cast(model: nn.Module, dtype: str) -> nn.Module:
    for t in [*model.parameters(), *model.buffers()]:
        if t.array.dtype.kind == "f":
            t.array = t.array.astype(dtype)
    return model


def train(model: nn.Module, batches: list[tuple[np.ndarray, np.ndarray]]) -> None:
    opt = sj.optim.Adam(model.parameters(), lr=1e-3)
    for x, y in batches:
        opt.zero_grad()
        F.cross_entropy(model(sj.from_numpy(x)), sj.from_numpy(y)).backward()
        opt.step()


def main() -> int:
    name, dtype = sys.argv[1], sys.argv[2]
    make, shape = MODELS[name]
    world, rank = dist.world_size(), dist.rank()
    sj.manual_seed(rank)  # different starting weights per rank: DDP must broadcast rank 0's
    model = cast(make(), dtype)
    rng = np.random.default_rng(0)
    full = [
        (rng.standard_normal((world * PER_RANK_BATCH, *shape)).astype(dtype),
         rng.integers(0, 10, world * PER_RANK_BATCH))
        for _ in range(STEPS)
    ]
    reference = copy.deepcopy(model) if rank == 0 else None
    ddp = dist.DistributedDataParallel(nn.SyncBatchNorm.convert_sync_batchnorm(model))
    mine = slice(rank * PER_RANK_BATCH, (rank + 1) * PER_RANK_BATCH)
    train(ddp, [(x[mine], y[mine]) for x, y in full])
    if rank != 0:
        return 0
    train(reference, full)
    got = dict(ddp.module.state_dict())
    worst = 0.0
    for key, want in reference.state_dict().items():
        want_a, got_a = np.asarray(want), np.asarray(got[key])
        if want_a.dtype.kind != "f":
            assert np.array_equal(want_a, got_a), key
            continue
        scale = max(float(np.abs(want_a).max()), 1e-3)
        worst = max(worst, float(np.abs(want_a - got_a).max()) / scale)
    print(f"{name} {dtype} world={world} max relative difference {worst:.3e}")
    return 0 if worst <= TOLERANCE[dtype] else 1


if __name__ == "__main__":
    sys.exit(main())
