"""Compiled training steps with the kernel tier on and off, against PyTorch, JAX and the
step's GEMMs alone: each library in its own process, one pinned core, rounds in turns.

    python -m benchmarks.tier_steps [--rounds 5] [--seconds 1.5]
                                    [--workloads tiny,mlp,lenet,lstm,gru]

Workloads: ``tiny`` 30-64-32-1 (sigmoid, ReLU, sigmoid; BCE) Adam batch 64; ``mlp``
784-256-128-10 (ReLU; cross-entropy) Adam batch 128; ``lenet`` LeNet-5 (ReLU, max
pooling; cross-entropy) SGD with momentum 0.9, batch 64; ``lstm`` and ``gru`` the
28x28→128 recurrent classifiers (last state → Linear 10; cross-entropy) with SGD, batch
64, as *eager* steps (the issue's targets for them are eager), against PyTorch only.
Variants: ``sj-on`` and
``sj-off`` (``sj.compile`` with ``SHENJING_KERNELS`` unset / ``0``), ``torch`` (eager),
``jax`` (the whole step under ``jax.jit`` with the parameters and optimizer state
donated, blocking once per timed chunk, as JAX users write it), and ``floor`` (the
step's GEMMs alone in NumPy, preallocated nothing: ``a @ b`` back to back).

Each round runs every variant once, in turn, as ``taskset -c 0`` child processes with
one BLAS/XLA/Numba thread; a child times its first 3 steps (tracing and compiling; the
part that shenjing's kernels spent compiling, or loading from Numba's disk cache, is
reported apart), then reports the median CPU time per step (``time.process_time``,
every thread of the process) over its chunks. The table gives
the median over rounds, and each ratio is the median of the per-round ratios.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Callable

import numpy as np

VARIANTS = ("sj-on", "sj-off", "torch", "jax", "floor")
RECURRENT = ("lstm", "gru")  # eager steps; timed against PyTorch alone
LENET_BATCH = 64


# ------------------------------------------------------------------ the steps


def _dense_gemms(sizes: tuple[int, ...], batch: int) -> Callable[[], None]:
    """A dense step's matrix products alone: forward, weight and input gradients (no
    input gradient for the first layer)."""
    rng = np.random.default_rng(0)
    products = []
    for k, (i, o) in enumerate(zip(sizes[:-1], sizes[1:], strict=True)):
        a = rng.standard_normal((batch, i), dtype=np.float32)
        w = rng.standard_normal((o, i), dtype=np.float32)
        g = rng.standard_normal((batch, o), dtype=np.float32)
        products += [(a, w.T), (g.T, a)] + ([(g, w)] if k else [])

    def step() -> None:
        for a, b in products:
            a @ b

    return step


def _lenet_shenjing() -> Callable[[], None]:
    import shenjing as sj
    import shenjing.nn.functional as F
    from shenjing.models import lenet5

    sj.manual_seed(0)
    model = lenet5()
    opt = sj.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    rng = np.random.default_rng(1)
    x = sj.tensor(rng.standard_normal((LENET_BATCH, 1, 28, 28), dtype=np.float32))
    y = sj.tensor(rng.integers(0, 10, LENET_BATCH))

    @sj.compile
    def step(x, y):
        loss = F.cross_entropy(model(x), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
        return loss

    return lambda: step(x, y)


def _lenet_torch(torch) -> Callable[[], None]:
    nn = torch.nn
    torch.manual_seed(0)
    model = nn.Sequential(
        nn.Conv2d(1, 6, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(6, 16, 5), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
        nn.Linear(400, 120), nn.ReLU(), nn.Linear(120, 84), nn.ReLU(), nn.Linear(84, 10))
    opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    rng = np.random.default_rng(1)
    x = torch.from_numpy(rng.standard_normal((LENET_BATCH, 1, 28, 28), dtype=np.float32))
    y = torch.from_numpy(rng.integers(0, 10, LENET_BATCH))

    def step() -> None:
        loss = torch.nn.functional.cross_entropy(model(x), y)
        opt.zero_grad()
        loss.backward()
        opt.step()

    return step


def _jax_chunk(workload: str) -> Callable[[int], None]:
    """``run(k)``: k steps of the workload in JAX, blocking once at the end."""
    import jax
    import optax

    from benchmarks.networks import jax_train_chunk

    jnp = jax.numpy
    rng = np.random.default_rng(1)
    if workload == "lenet":
        def init(shape: tuple[int, ...], fan_in: int) -> jax.Array:
            bound = 1 / np.sqrt(fan_in)
            return jnp.asarray(rng.uniform(-bound, bound, shape).astype(np.float32))

        params = [(init((6, 1, 5, 5), 25), init((6,), 25)),
                  (init((16, 6, 5, 5), 150), init((16,), 150)),
                  (init((120, 400), 400), init((120,), 400)),
                  (init((84, 120), 120), init((84,), 120)),
                  (init((10, 84), 84), init((10,), 84))]
        x = jnp.asarray(rng.standard_normal((LENET_BATCH, 1, 28, 28), dtype=np.float32))
        y = jnp.asarray(rng.integers(0, 10, LENET_BATCH))

        def pool(h: jax.Array) -> jax.Array:
            return jax.lax.reduce_window(h, -jnp.inf, jax.lax.max, (1, 1, 2, 2),
                                         (1, 1, 2, 2), "VALID")

        def loss_fn(params, x, y):
            (w1, b1), (w2, b2), *dense = params
            h = jax.lax.conv_general_dilated(x, w1, (1, 1), ((2, 2), (2, 2)))
            h = pool(jax.nn.relu(h + b1[None, :, None, None]))
            h = jax.lax.conv_general_dilated(h, w2, (1, 1), "VALID")
            h = pool(jax.nn.relu(h + b2[None, :, None, None])).reshape(x.shape[0], -1)
            for k, (w, b) in enumerate(dense):
                h = h @ w.T + b
                if k < 2:
                    h = jax.nn.relu(h)
            return optax.softmax_cross_entropy_with_integer_labels(h, y).mean()

        opt = optax.sgd(0.01, momentum=0.9)
    else:
        from benchmarks.networks import MLP, MLP_BATCH, SMALL, SMALL_BATCH, jax_mlp_problem

        sizes, batch = (SMALL, SMALL_BATCH) if workload == "tiny" else (MLP, MLP_BATCH)
        params, loss_fn, x, y = jax_mlp_problem(jax, sizes, batch)
        opt = optax.adam(1e-3)

    return jax_train_chunk(jax, opt, loss_fn, params, x, y)


def _chunk(workload: str, variant: str) -> Callable[[int], None]:
    """``run(k)``: k steps of a workload's variant."""
    if variant == "jax":
        return _jax_chunk(workload)
    from benchmarks.bench_cnn_rnn import _shenjing, _TorchRows
    from benchmarks.bench_lenet_kernels import _step_gemms_only
    from benchmarks.networks import MLP, MLP_BATCH, SMALL, SMALL_BATCH, shenjing_step, torch_step

    dense = {"tiny": (SMALL, SMALL_BATCH), "mlp": (MLP, MLP_BATCH)}.get(workload)
    if variant == "torch":
        import torch

        torch.set_num_threads(1)
    if workload in RECURRENT:
        one = _TorchRows(torch).step(workload) if variant == "torch" else _shenjing(workload)
    elif variant == "floor":
        one = _dense_gemms(*dense) if dense else _step_gemms_only()
    elif variant == "torch":
        one = torch_step(torch, *dense) if dense else _lenet_torch(torch)
    else:
        one = shenjing_step(*dense, compiled=True) if dense else _lenet_shenjing()

    def run(k: int) -> None:
        for _ in range(k):
            one()

    return run


def child(workload: str, variant: str, seconds: float) -> None:
    """Time one variant in this process; print the median µs per step over chunks."""
    run = _chunk(workload, variant)
    start = time.perf_counter()
    run(3)  # compiles (JAX, Numba) or loads the caches
    warm = time.perf_counter() - start
    k = 1
    # CPU time of the process (all its threads: JAX computes in its own), not wall
    # time: on a shared machine it leaves out the time other processes hold the core.
    clock = time.process_time
    while True:  # a chunk of about 50 ms
        t0 = clock()
        run(k)
        if clock() - t0 > 0.05:
            break
        k *= 2
    times = []
    end = clock() + seconds
    while clock() < end:
        t0 = clock()
        run(k)
        times.append((clock() - t0) / k)
    # Seconds of the first steps spent compiling kernels (or loading them from Numba's
    # disk cache: a second run of the bench pays only that), for shenjing's variants.
    kernels = sys.modules.get("shenjing.kernels")
    compiled = kernels.compile_seconds() if kernels is not None else 0.0
    print(f"{statistics.median(times) * 1e6:.1f} {warm:.2f} {compiled:.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--seconds", type=float, default=1.5)
    parser.add_argument("--workloads", default="tiny,mlp,lenet,lstm,gru")
    parser.add_argument("--child", nargs=2, metavar=("WORKLOAD", "VARIANT"))
    args = parser.parse_args()
    if args.child:
        child(*args.child, args.seconds)
        return
    env = {**os.environ, "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1",
           "MKL_NUM_THREADS": "1", "NUMBA_NUM_THREADS": "1", "JAX_PLATFORMS": "cpu",
           "XLA_FLAGS": "--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1"}
    print(f"load before: {os.getloadavg()}")
    for workload in args.workloads.split(","):
        variants = VARIANTS[:3] if workload in RECURRENT else VARIANTS
        results: dict[str, list[float]] = {v: [] for v in VARIANTS}
        warmups: dict[str, float] = {}
        compiles: dict[str, float] = {}
        for _ in range(args.rounds):
            for variant in variants:
                child_env = dict(env)
                if variant == "sj-off":
                    child_env["SHENJING_KERNELS"] = "0"
                out = subprocess.run(
                    ["taskset", "-c", "0", sys.executable, "-m", "benchmarks.tier_steps",
                     "--child", workload, variant, "--seconds", str(args.seconds)],
                    env=child_env, capture_output=True, text=True, check=False)
                if out.returncode:
                    print(f"{workload} {variant}: failed: {out.stderr.strip()[-300:]}")
                    continue
                micros, warm, compiled = out.stdout.split()[-3:]
                results[variant].append(float(micros))
                warmups[variant] = max(warmups.get(variant, 0.0), float(warm))
                compiles[variant] = max(compiles.get(variant, 0.0), float(compiled))
        _report(workload, results, warmups, compiles)
    print(f"load after: {os.getloadavg()}")


def _report(workload: str, results: dict[str, list[float]], warmups: dict[str, float],
            compiles: dict[str, float]) -> None:
    def ratio(a: str, b: str) -> str:  # how many times faster ``a`` is than ``b``
        pairs = list(zip(results[a], results[b], strict=False))
        return f"{statistics.median(y / x for x, y in pairs):.2f}x" if pairs else "-"

    cells = []
    for v in VARIANTS:
        if results[v]:
            compiled = f", compiling {compiles[v]:.2f} s" if compiles.get(v) else ""
            cells.append(f"{v} {statistics.median(results[v]):.0f} us "
                         f"(first 3 steps {warmups[v]:.2f} s{compiled})")
    print(f"{workload}: " + "; ".join(cells))
    print(f"  sj-on vs sj-off {ratio('sj-on', 'sj-off')}, vs torch {ratio('sj-on', 'torch')}, "
          f"vs jax {ratio('sj-on', 'jax')}; sj-off vs torch {ratio('sj-off', 'torch')}; "
          f"GEMM floor fraction: sj-on {_fraction(results, 'sj-on')}, "
          f"sj-off {_fraction(results, 'sj-off')}, torch {_fraction(results, 'torch')}, "
          f"jax {_fraction(results, 'jax')}")


def _fraction(results: dict[str, list[float]], variant: str) -> str:
    pairs = list(zip(results["floor"], results[variant], strict=False))
    return f"{statistics.median(f / t for f, t in pairs):.2f}" if pairs else "-"


if __name__ == "__main__":
    main()
