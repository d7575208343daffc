"""The CPU kernel tier (``shenjing.kernels``, Numba): what it costs and what it buys.

- First-call compile time: a fresh process runs one LSTM, GRU and softmax-cross-entropy
  training step with Adam, SGD-momentum and RMSprop updates, once with an empty Numba
  cache (cold: every kernel is compiled) and once more with the cache it left (warm:
  the machine code is loaded from disk). ``kernels.compile_seconds()`` is the time spent
  in kernels' first calls; the wall time of the whole process is beside it.
- The LSTM and GRU eager training steps (28×28→128, batch 64, last state → Linear 10,
  cross-entropy, SGD), with the tier on (the "shenjing" column) and off (the "NumPy"
  column, shenjing's NumPy reference path), and PyTorch, timed in turns in one process.

Pin it to one core for numbers worth comparing:
``taskset -c 0 ./dev.sh bench kernels`` (one BLAS thread is already set).
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

from benchmarks.bench_cnn_rnn import _shenjing, _TorchRows
from benchmarks.common import Row, rates, torch_or_none

_FIRST_STEPS = """
import time
start = time.perf_counter()
import numpy as np
import shenjing as sj
import shenjing.nn.functional as F
from shenjing import kernels
from shenjing.models import rnn_classifier
assert kernels.enabled(), "the kernel tier is off"
x = sj.tensor(np.random.default_rng(0).random((64, 28, 28), dtype=np.float32))
y = sj.tensor(np.random.default_rng(1).integers(0, 10, 64))
for kind, opt in (("lstm", sj.optim.Adam), ("gru", sj.optim.SGD), ("lstm", sj.optim.RMSprop)):
    model = rnn_classifier(kind, hidden_size=128)
    options = {"momentum": 0.9} if opt is sj.optim.SGD else {}
    optimizer = opt(model.parameters(), lr=0.01, **options)
    loss = F.cross_entropy(model(x), y)
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
print(kernels.compile_seconds(), time.perf_counter() - start, time.process_time())
"""


def _first_call(cache: str) -> tuple[float, float, float]:
    """(seconds in kernels' first calls, the process's wall seconds and CPU seconds):
    the CPU time says more than the wall time on a loaded machine."""
    env = {**os.environ, "NUMBA_CACHE_DIR": cache,
           "PYTHONPATH": str(Path(__file__).resolve().parents[1])}
    out = subprocess.run([sys.executable, "-c", _FIRST_STEPS], env=env, check=True,
                         capture_output=True, text=True).stdout.split()
    return float(out[0]), float(out[1]), float(out[2])


def _tier(on: bool, step: Callable[[], None]) -> Callable[[], None]:
    from shenjing import kernels

    def run() -> None:
        with kernels.use(on):
            step()

    return run


def run() -> tuple[str, list[Row]]:
    """Compile times, then the recurrent steps with the tier on and off."""
    from shenjing import kernels

    if not kernels.available():
        print("bench_kernels: Numba is not installed (pip install shenjing[fast]); skipped")
        return "CPU kernel tier (not installed)", []
    rows = []
    with tempfile.TemporaryDirectory() as cache:
        cold = _first_call(cache)
        warm = _first_call(cache)
    for label, (jit, wall, cpu) in (("cold cache", cold), ("warm cache", warm)):
        rows.append(Row(f"first steps' kernel time, {label} (process: wall {wall:.2f} s, "
                        f"CPU {cpu:.2f} s)", "s",
                        jit, higher_is_better=False, target="warm <= 2 s" if "warm" in label
                        else ""))
    torch = torch_or_none()
    theirs = _TorchRows(torch) if torch else None
    for kind, target in (("lstm", ">= 1.3x PyTorch"), ("gru", ">= 1.5x PyTorch")):
        on, off, reference = rates(_tier(True, _shenjing(kind)), _tier(False, _shenjing(kind)),
                                   theirs.step(kind) if theirs else None)
        rows.append(Row(f"{kind.upper()} 28x28→128 training step, batch 64 (tier on; "
                        "NumPy column: tier off)", "steps/s", on, numpy=off, torch=reference,
                        target=target))
    return "CPU kernel tier (issue 23): compile time, and tier on vs off vs PyTorch", rows
