"""A model of data-parallel step time on N = 2..64 nodes, for docs/scaling.md.

Usage: python -m benchmarks.scaling_model
Measures one rank's training step (forward, backward, Adam; one BLAS thread) for the zoo's
models here, then models a step on N nodes, each with the same per-node batch (weak
scaling), exchanging gradients with a ring all-reduce over a network of bandwidth B and
per-message latency α:

    t_allreduce = 2(N − 1)/N · bytes / B + 2(N − 1) · α
    t_step(N)   = t_compute + t_allreduce        (no overlap: an upper bound)

and prints t_allreduce and the efficiency t_compute / t_step(N) as Markdown tables.
"""

from __future__ import annotations

import time

from benchmarks.common import pin_one_thread

pin_one_thread()

import numpy as np  # noqa: E402 - after pinning BLAS to one thread

import shenjing as sj  # noqa: E402
import shenjing.nn.functional as F  # noqa: E402
from shenjing.models import lenet5, mlp, rnn_classifier  # noqa: E402

MODELS = {  # name -> (builder, input shape, per-node batch)
    "MLP 784-256-128-10": (mlp, (784,), 128),
    "LeNet-5": (lenet5, (1, 28, 28), 64),
    "LSTM classifier (28x28 rows, hidden 128)": (rnn_classifier, (28, 28), 64),
}
NETWORKS = {  # name -> (bytes/s, latency per message in s)
    "10 Gbit/s Ethernet (TCP, α = 25 µs)": (10e9 / 8, 25e-6),
    "100 Gbit/s (RDMA, α = 3 µs)": (100e9 / 8, 3e-6),
}
NODES = (2, 4, 8, 16, 32, 64)


def compute_seconds(build, shape: tuple[int, ...], batch: int, steps: int = 10) -> float:
    """Median seconds of one training step of the model on one process."""
    sj.manual_seed(0)
    model = build()
    opt = sj.optim.Adam(model.parameters())
    x = sj.randn(batch, *shape)
    y = sj.from_numpy(np.zeros(batch, np.int64))
    times = []
    for _ in range(steps + 2):
        start = time.perf_counter()
        opt.zero_grad()
        F.cross_entropy(model(x), y).backward()
        opt.step()
        times.append(time.perf_counter() - start)
    return float(np.median(times[2:])), sum(p.numel() for p in model.parameters())


def allreduce_seconds(nbytes: int, nodes: int, bandwidth: float, latency: float) -> float:
    """The ring all-reduce's time: bandwidth term plus latency term."""
    return 2 * (nodes - 1) / nodes * nbytes / bandwidth + 2 * (nodes - 1) * latency


def main() -> None:
    for name, (build, shape, batch) in MODELS.items():
        compute, params = compute_seconds(build, shape, batch)
        nbytes = 4 * params
        print(f"\n#### {name}: {params:,} parameters ({nbytes / 1e6:.2f} MB of float32 "
              f"gradients), batch {batch} per node, compute {compute * 1e3:.1f} ms/step\n")
        print("| network | " + " | ".join(f"N={n}" for n in NODES) + " |")
        print("|---|" + "---:|" * len(NODES))
        for net, (bandwidth, latency) in NETWORKS.items():
            cells = []
            for n in NODES:
                comm = allreduce_seconds(nbytes, n, bandwidth, latency)
                cells.append(f"{comm * 1e3:.2f} ms, {100 * compute / (compute + comm):.0f}%")
            print(f"| {net} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
