"""MPI scaling at 1, 2, 4, 8 ranks (one thread each), against PyTorch DDP (gloo).

Weak scaling with ``bench_distributed``'s workers: every rank trains on its own batch
(LeNet-5 batch 64, the 784-256-128-10 MLP batch 128, Adam), so N ranks process N times
the samples per step. Efficiency at N ranks is samples/s(N) / (N · samples/s(1)), for
each library against its own one-rank speed. Targets (issue 24): shenjing's efficiency
>= 0.9 / 0.8 / 0.7 at 2 / 4 / 8 ranks, and shenjing's samples/s ahead of PyTorch DDP at
every count. Needs as many free cores as ranks.

Run: ``python -m benchmarks.bench_scaling [--ranks 1 2 4 8] [--steps-scale 1.0]
[--out FILE.md]``; the markdown table is for docs/scaling.md.
"""

from __future__ import annotations

import argparse
import os

from benchmarks.bench_distributed import CASES, shenjing_run, torch_run
from benchmarks.common import torch_or_none
from shenjing.distributed.launch import find_mpiexec

TARGETS = {2: 0.9, 4: 0.8, 8: 0.7}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ranks", type=int, nargs="+", default=[1, 2, 4, 8])
    parser.add_argument("--steps-scale", type=float, default=0.5,
                        help="fraction of bench_distributed's timed steps to run")
    parser.add_argument("--out", help="also write the markdown table here")
    args = parser.parse_args()
    if find_mpiexec() is None:
        print("bench_scaling: no mpiexec (pip install shenjing[mpi]); skipped")
        return
    torch = torch_or_none()
    counts = sorted(set(args.ranks) | {1})
    lines = [
        f"{os.cpu_count()} CPU cores; one thread per rank; samples/s over all ranks "
        "(efficiency: samples/s over N times one rank's).\n",
        "| network | ranks | shenjing samples/s | efficiency | target | "
        "PyTorch DDP samples/s | efficiency | shenjing / DDP |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for name, label, batch, steps, _ in CASES:
        steps = max(5, int(steps * args.steps_scale))
        ours: dict[int, float] = {}
        theirs: dict[int, float] = {}
        for n in counts:
            ours[n] = shenjing_run(n, name, batch, steps)["samples_per_s"]
            if torch is not None:
                theirs[n] = torch_run(n, name, batch, steps)["samples_per_s"]
            mine = ours[n] / (n * ours[1])
            target = f">= {TARGETS[n]}" if n in TARGETS else ""
            if n in theirs:
                ddp = (f"{theirs[n]:.0f} | {theirs[n] / (n * theirs[1]):.2f} | "
                       f"{ours[n] / theirs[n]:.2f}x")
            else:
                ddp = "- | - | -"
            lines.append(f"| {label}, batch {batch}/rank | {n} | {ours[n]:.0f} | {mine:.2f} | "
                         f"{target} | {ddp} |")
            print(lines[-1], flush=True)
            _write(args.out, lines)  # row by row: a timeout keeps the rows measured so far
    print("\n".join(lines))


def _write(path: str | None, lines: list[str]) -> None:
    if path:
        with open(path, "w") as f:
            f.write("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
