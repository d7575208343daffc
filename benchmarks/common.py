"""Timing helpers and the table every benchmark prints."""

from __future__ import annotations

import os
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass

ONE_THREAD = {"OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}


def pin_one_thread() -> None:
    """One BLAS thread for every library; must run before NumPy or PyTorch is imported."""
    for key, value in ONE_THREAD.items():
        os.environ.setdefault(key, value)


def torch_or_none():  # noqa: ANN201 - returns the module or None
    """PyTorch with one thread, or None when it is not installed."""
    try:
        import torch
    except ImportError:
        return None
    torch.set_num_threads(1)
    return torch


def rate(step: Callable[[], object], min_time: float = 1.0, repeats: int = 5,
         warmup: int = 3) -> float:
    """Calls per second of ``step``: the median of ``repeats`` runs of >= ``min_time``/repeats s."""
    return rates(step, min_time=min_time, repeats=repeats, warmup=warmup)[0]


def rates(*steps: Callable[[], object] | None, min_time: float = 2.0, repeats: int = 15,
          warmup: int = 3) -> list[float | None]:
    """Calls per second of each step (None stays None), measured in turns.

    Each round times every step once, in an order that reverses from round to round, so
    a slow spell on this shared machine hits all of them alike; each rate is the median
    over the rounds, of runs of >= min_time/repeats s.
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
    return [statistics.median(runs) if runs else None for runs in measured]


def _time(step: Callable[[], object], calls: int) -> float:
    start = time.perf_counter()
    for _ in range(calls):
        step()
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

    def ratio(self, other: float | None) -> str:
        """shenjing's advantage over ``other`` (> 1 means shenjing is better)."""
        if other is None:
            return "-"
        value = self.shenjing / other if self.higher_is_better else other / self.shenjing
        return f"{value:.2f}x"


def print_table(title: str, rows: list[Row]) -> None:
    """Rows as a Markdown table: values, then shenjing's ratio to NumPy and to PyTorch."""
    print(f"\n### {title}\n")
    print("| benchmark | unit | shenjing | NumPy | PyTorch | vs NumPy | vs PyTorch | target |")
    print("|---|---|---:|---:|---:|---:|---:|---|")

    def fmt(v: float | None) -> str:
        return "-" if v is None else f"{v:,.1f}"

    for r in rows:
        print(f"| {r.name} | {r.unit} | {fmt(r.shenjing)} | {fmt(r.numpy)} | {fmt(r.torch)} | "
              f"{r.ratio(r.numpy)} | {r.ratio(r.torch)} | {r.target} |")
