"""PyTorch's DistributedDataParallel on the same models, for bench_distributed.

Usage: python -m benchmarks.torch_ddp_worker MODEL BATCH STEPS RANKS
Spawns RANKS processes (gloo backend, one thread each); rank 0 prints one JSON line with
samples/s over all ranks.
"""

from __future__ import annotations

import json
import os
import socket
import sys
import time

from benchmarks.common import pin_one_thread

pin_one_thread()

import torch  # noqa: E402 - after pinning BLAS to one thread
import torch.distributed as tdist  # noqa: E402
import torch.multiprocessing as mp  # noqa: E402
from torch import nn  # noqa: E402


def make(name: str) -> tuple[nn.Module, tuple[int, ...]]:
    if name == "mlp":
        layers = [nn.Linear(784, 256), nn.ReLU(), nn.Linear(256, 128), nn.ReLU(),
                  nn.Linear(128, 10)]
        return nn.Sequential(*layers), (784,)
    return nn.Sequential(
        nn.Conv2d(1, 6, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(6, 16, 5), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
        nn.Linear(400, 120), nn.ReLU(), nn.Linear(120, 84), nn.ReLU(), nn.Linear(84, 10),
    ), (1, 28, 28)


def worker(rank: int, world: int, port: int, name: str, batch: int, steps: int) -> None:
    torch.set_num_threads(1)
    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port))
    tdist.init_process_group("gloo", rank=rank, world_size=world)
    torch.manual_seed(0)
    module, shape = make(name)
    model = nn.parallel.DistributedDataParallel(module)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    generator = torch.Generator().manual_seed(rank)
    x = torch.randn((batch, *shape), generator=generator)
    y = torch.randint(0, 10, (batch,), generator=generator)

    def step() -> None:
        opt.zero_grad()
        nn.functional.cross_entropy(model(x), y).backward()
        opt.step()

    for _ in range(3):
        step()
    tdist.barrier()
    start = time.perf_counter()
    for _ in range(steps):
        step()
    tdist.barrier()
    seconds = time.perf_counter() - start
    if rank == 0:
        print(json.dumps({"samples_per_s": world * batch * steps / seconds}), flush=True)
    tdist.destroy_process_group()


def main() -> None:
    name, batch, steps, world = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
    with socket.socket() as s:  # a free port for the rendezvous
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    mp.spawn(worker, args=(world, port, name, batch, steps), nprocs=world)


if __name__ == "__main__":
    main()
