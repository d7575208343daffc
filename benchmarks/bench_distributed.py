"""Data-parallel training over MPI: 2 ranks against 1, and against PyTorch's DDP.

Weak scaling, one BLAS thread per rank: every rank trains on its own batch (LeNet-5
batch 64, the 784-256-128-10 MLP batch 128, Adam), so 2 ranks process twice the samples
per step; the speed-up is samples/s of 2 ranks over 1. PyTorch runs DDP with the gloo
backend, 2 processes of one thread each (``torch.set_num_threads(1)``), same models.

Per step it also reports the time a blocking all-reduce of all the gradients takes on
its own, and the time backward still waited for the all-reduces at its end: what did
not overlap the rest of backward. The wait also holds any lag between the two ranks,
which on a busy machine can exceed the all-reduce itself.

Targets: LeNet-5 >= 1.8x and MLP >= 1.6x of 1 rank; >= 1.0x PyTorch DDP. Needs two free
cores to mean anything; each rank is a separate process started by ``mpiexec``.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from benchmarks.common import Row, torch_or_none
from shenjing.distributed.launch import find_mpiexec, mpiexec_command, mpiexec_env

ROOT = Path(__file__).resolve().parents[1]
CASES = (  # name, label, per-rank batch, timed steps, target for 2 ranks over 1
    ("lenet5", "LeNet-5", 64, 40, 1.8),
    ("mlp", "MLP 784-256-128-10", 128, 150, 1.6),
)


def _env() -> dict[str, str]:
    env = mpiexec_env()
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    return env


def _json(command: list[str]) -> dict[str, float]:
    done = subprocess.run(command, env=_env(), cwd=ROOT, capture_output=True, text=True,
                          timeout=600)
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} failed:\n{done.stderr[-2000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def shenjing_run(ranks: int, name: str, batch: int, steps: int) -> dict[str, float]:
    """The worker's measurements on ``ranks`` MPI ranks."""
    argv = [sys.executable, "-m", "benchmarks.distributed_worker", name, str(batch), str(steps)]
    return _json(mpiexec_command(ranks, argv))


def torch_run(ranks: int, name: str, batch: int, steps: int) -> dict[str, float]:
    """PyTorch DDP's samples/s on ``ranks`` processes."""
    return _json([sys.executable, "-m", "benchmarks.torch_ddp_worker", name, str(batch),
                  str(steps), str(ranks)])


def run() -> tuple[str, list[Row]]:
    """Measure every case; returns the table title and rows."""
    title = "Data-parallel training over MPI (issue 14), samples/s"
    if find_mpiexec() is None:
        print("bench_distributed: no mpiexec (pip install shenjing[mpi]); skipped")
        return title, []
    torch = torch_or_none()
    rows = []
    for name, label, batch, steps, target in CASES:
        one = shenjing_run(1, name, batch, steps)
        two = shenjing_run(2, name, batch, steps)
        theirs_one = torch_run(1, name, batch, steps) if torch else None
        theirs_two = torch_run(2, name, batch, steps) if torch else None
        speedup = two["samples_per_s"] / one["samples_per_s"]
        versus = "" if theirs_two is None else (
            f"; >= 1.0x PyTorch DDP: {two['samples_per_s'] / theirs_two['samples_per_s']:.2f}x")
        rows.append(Row(f"{label}, 1 rank x batch {batch}", "samples/s", one["samples_per_s"],
                        torch=None if theirs_one is None else theirs_one["samples_per_s"]))
        rows.append(Row(f"{label}, 2 ranks x batch {batch}", "samples/s", two["samples_per_s"],
                        torch=None if theirs_two is None else theirs_two["samples_per_s"],
                        target=f">= {target}x 1 rank: {speedup:.2f}x{versus}"))
        overlapped = max(0.0, 1.0 - two["wait_ms"] / two["allreduce_ms"])
        rows.append(Row(f"{label}: blocking all-reduce of all gradients, per step", "ms",
                        two["allreduce_ms"], higher_is_better=False,
                        target=f"{int(two['buckets'])} bucket(s)"))
        rows.append(Row(f"{label}: wait left at the end of backward, per step", "ms",
                        two["wait_ms"], higher_is_better=False,
                        target=f"overlapped: {100 * overlapped:.0f}% of the all-reduce"))
    return title, rows
