"""All-reduce time against message size over MPI on this machine (loopback / shared memory).

Usage: mpiexec -n 2 python -m benchmarks.allreduce_sizes
Rank 0 prints a Markdown table: float32 elements, bytes, the median time of a blocking
``Allreduce`` on a contiguous buffer, and the bandwidth it implies with the ring
all-reduce's 2(N−1)/N·bytes of traffic per rank. docs/scaling.md quotes it.
"""

from __future__ import annotations

import statistics
import time

from benchmarks.common import pin_one_thread

pin_one_thread()

import numpy as np  # noqa: E402 - after pinning BLAS to one thread

import shenjing.distributed as dist  # noqa: E402

SIZES = [2**k for k in range(4, 25, 2)]  # 16 to 16M float32 values (64 B to 64 MiB)


def main() -> None:
    world = dist.world_size()
    if dist.is_main():
        print(f"ranks: {world}\n")
        print("| float32 values | bytes | median time | ring bandwidth |")
        print("|---:|---:|---:|---:|")
    for size in SIZES:
        buffer = np.ones(size, np.float32)
        repeats = max(5, min(200, 2**22 // size))
        times = []
        for _ in range(repeats):
            dist.barrier()
            start = time.perf_counter()
            dist.all_reduce(buffer)
            times.append(time.perf_counter() - start)
        seconds = statistics.median(times)
        traffic = 2 * (world - 1) / world * buffer.nbytes
        if dist.is_main():
            print(f"| {size:,} | {buffer.nbytes:,} | {seconds * 1e6:,.1f} µs | "
                  f"{traffic / seconds / 1e9:.2f} GB/s |")


if __name__ == "__main__":
    main()
