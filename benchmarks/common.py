"""Timing helpers and the table every benchmark prints."""

from __future__ import annotations

import os
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass

ONE_THREAD = {"OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}


# XLA's CPU backend, one thread: must be set before JAX is first imported.
JAX_ONE_THREAD = "--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1"


def pin_one_thread() -> None:
    """One BLAS thread for every library; must run before NumPy, PyTorch or JAX is
    imported."""
    for key, value in ONE_THREAD.items():
        os.environ.setdefault(key, value)
    os.environ.setdefault("XLA_FLAGS", JAX_ONE_THREAD)


def jax_or_none():
    """JAX (with optax) on one CPU thread, or None when either is not installed: the
    ``bench`` extra, kept out of the library's dependencies."""
    pin_one_thread()
    try:
        import jax
        import optax  # noqa: F401 - the anchors' optimizers
    except ImportError:
        return None
    jax.config.update("jax_platforms", "cpu")
    return jax


def torch_or_none():
    """PyTorch with one thread, or None when it is not installed."""
    try:
        import torch
    except ImportError:
        return None
    torch.set_num_threads(1)
    return torch


class Rate(float):
    """A median rate that also carries its ``spread``: (max - min) / median over the
    rounds, so a table shows how much the shared machine swung while it was measured."""

    spread: float

    def __new__(cls, median: float, spread: float) -> Rate:
        value = super().__new__(cls, median)
        value.spread = spread
        return value


def rate(step: Callable[[], object], min_time: float = 1.0, repeats: int = 5,
         warmup: int = 3) -> Rate:
    """Calls per second of ``step``: the median of ``repeats`` runs of >= ``min_time``/repeats s."""
    return rates(step, min_time=min_time, repeats=repeats, warmup=warmup)[0]


def rates(*steps: Callable[[], object] | None, min_time: float = 2.0, repeats: int = 15,
          warmup: int = 3) -> list[Rate | None]:
    """Calls per second of each step (None stays None), measured in turns.

    Each round times every step once, in an order that reverses from round to round, so
    a slow spell on this shared machine hits all of them alike; each rate is the median
    over the rounds, of runs of >= min_time/repeats s, with its spread.
    """
    calls = []
    for step in steps:
        if step is None:
            calls.append(0)
            continue
        for _ in range(warmup):
            step()
        n = 1
        while _time(step, n) < min_time / repeats:  # a call count that times well
            n *= 2
        calls.append(n)
    measured: list[list[float]] = [[] for _ in steps]
    order = [i for i, step in enumerate(steps) if step is not None]
    for _ in range(repeats):
        for i in order:
            measured[i].append(calls[i] / _time(steps[i], calls[i]))
        order.reverse()
    return [_summary(runs) if runs else None for runs in measured]


def _summary(runs: list[float]) -> Rate:
    median = statistics.median(runs)
    return Rate(median, (max(runs) - min(runs)) / median)


def _time(step: Callable[[], object], calls: int) -> float:
    # A step that runs asynchronously (a JAX step) waits once, at the end of the run.
    sync = getattr(step, "sync", None)
    start = time.perf_counter()
    for _ in range(calls):
        step()
    if sync is not None:
        sync()
    return time.perf_counter() - start


@dataclass
class Row:
    """One measured quantity for each library (None where not measured)."""

    name: str
    unit: str
    shenjing: float
    numpy: float | None = None
    torch: float | None = None
    higher_is_better: bool = True
    target: str = ""
    jax: float | None = None

    def ratio(self, other: float | None) -> str:
        """shenjing's advantage over ``other`` (> 1 means shenjing is better)."""
        if other is None:
            return "-"
        value = self.shenjing / other if self.higher_is_better else other / self.shenjing
        return f"{value:.2f}x"


def print_table(title: str, rows: list[Row]) -> None:
    """Rows as a Markdown table: values (with the spread over the rounds where measured
    in turns), then shenjing's ratio to NumPy, PyTorch and JAX; the machine's load above
    it, since the numbers move with it."""
    load = ", ".join(f"{v:.1f}" for v in os.getloadavg())
    print(f"\n### {title}\n")
    print(f"load average (1, 5, 15 min): {load} on {os.cpu_count()} CPUs; "
          "values are medians of rounds in turns, ±: (max - min) / median\n")
    print("| benchmark | unit | shenjing | NumPy | PyTorch | JAX jit | vs NumPy | vs PyTorch "
          "| vs JAX | target |")
    print("|---|---|---:|---:|---:|---:|---:|---:|---:|---|")

    def fmt(v: float | None) -> str:
        if v is None:
            return "-"
        spread = f" ±{v.spread:.0%}" if isinstance(v, Rate) else ""
        return f"{v:,.1f}{spread}"

    for r in rows:
        print(f"| {r.name} | {r.unit} | {fmt(r.shenjing)} | {fmt(r.numpy)} | {fmt(r.torch)} | "
              f"{fmt(r.jax)} | {r.ratio(r.numpy)} | {r.ratio(r.torch)} | {r.ratio(r.jax)} | "
              f"{r.target} |")
