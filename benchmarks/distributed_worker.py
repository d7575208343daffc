"""One rank of the data-parallel benchmark (launched by bench_distributed under mpiexec).

Usage: mpiexec -n N python -m benchmarks.distributed_worker MODEL BATCH STEPS
Rank 0 prints one JSON line: samples/s over all ranks, and per step the time spent
waiting for the all-reduce at the end of backward (the part that did not overlap) and
the time one blocking all-reduce of every gradient takes on its own.
"""

from __future__ import annotations

import json
import sys
import time

from benchmarks.common import pin_one_thread

pin_one_thread()

import numpy as np  # noqa: E402 - after pinning BLAS to one thread

import shenjing as sj  # noqa: E402
import shenjing.distributed as dist  # noqa: E402
import shenjing.nn.functional as F  # noqa: E402
from shenjing.models import lenet5, mlp  # noqa: E402

MODELS = {"lenet5": (lenet5, (1, 28, 28)), "mlp": (mlp, (784,))}


def main() -> None:
    name, batch, steps = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    make, shape = MODELS[name]
    sj.manual_seed(0)
    model = dist.DistributedDataParallel(make())
    opt = sj.optim.Adam(model.parameters(), lr=1e-3)
    rng = np.random.default_rng(dist.rank())
    x = sj.from_numpy(rng.standard_normal((batch, *shape)).astype(np.float32))
    y = sj.from_numpy(rng.integers(0, 10, batch))

    def step() -> None:
        opt.zero_grad()
        F.cross_entropy(model(x), y).backward()
        opt.step()

    for _ in range(3):
        step()
    dist.barrier()
    waited = 0.0
    start = time.perf_counter()
    for _ in range(steps):
        step()
        waited += model.last_wait_s
    dist.barrier()
    seconds = time.perf_counter() - start

    # One blocking all-reduce of all the gradients at once, for comparison.
    grads = np.zeros(sum(p.numel() for p in model.parameters()), np.float32)
    dist.all_reduce(grads)
    allreduce_start = time.perf_counter()
    for _ in range(steps):
        dist.all_reduce(grads)
    allreduce = (time.perf_counter() - allreduce_start) / steps
    if dist.is_main():
        print(json.dumps({
            "samples_per_s": dist.world_size() * batch * steps / seconds,
            "wait_ms": 1e3 * waited / steps,
            "allreduce_ms": 1e3 * allreduce if dist.world_size() > 1 else 0.0,
            "buckets": len(model._buckets),
        }))


if __name__ == "__main__":
    main()
