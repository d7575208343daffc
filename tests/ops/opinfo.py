"""The op table: one row per op, read by the generic tests in ``test_op_table.py``.

A row gives the shenjing function, a NumPy reference of the same math, the input shapes
to try (broadcasting combinations included) and a domain where the op is smooth. Rows
live in ``rows_*.py`` files beside this one, one file per group of ops; every
``ROWS`` list found there joins the table.
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

Shape = tuple[int, ...]


@dataclass
class OpInfo:
    """One op under test.

    Attributes:
        name: the test id.
        op: shenjing function taking tensors (then ``kwargs``).
        ref: NumPy function taking float64 arrays (then ``kwargs``).
        shapes: each entry is one tuple of input shapes.
        domain: inputs are drawn uniformly from here, away from kinks and poles.
        kwargs: extra keyword arguments for both ``op`` and ``ref``.
        make_inputs: custom input maker ``(shapes, rng) -> list of arrays``; the default
            draws every input from ``domain``. Integer arrays are passed as int64 tensors
            and are never differentiated.
        grad: whether the op is differentiable (gradcheck runs only then).
        torch_ref: optional PyTorch function on torch tensors, for the PyTorch check.
        atol: forward tolerance in float32.
    """

    name: str
    op: Callable[..., Any]
    ref: Callable[..., Any]
    shapes: list[tuple[Shape, ...]]
    domain: tuple[float, float] = (-2.0, 2.0)
    kwargs: dict[str, Any] = field(default_factory=dict)
    make_inputs: Callable[[tuple[Shape, ...], np.random.Generator], list[np.ndarray]] | None = (
        None
    )
    grad: bool = True
    torch_ref: Callable[..., Any] | None = None
    atol: float = 1e-5

    def inputs(self, shapes: tuple[Shape, ...], seed: int = 0) -> list[np.ndarray]:
        """Float64 (or integer) input arrays for one shape combination."""
        rng = np.random.default_rng(seed)
        if self.make_inputs is not None:
            return self.make_inputs(shapes, rng)
        low, high = self.domain
        return [rng.uniform(low, high, size=s) for s in shapes]


def all_rows() -> list[OpInfo]:
    """Every row of every ``rows_*.py`` module in this package."""
    package = importlib.import_module(__package__)
    rows: list[OpInfo] = []
    for module in pkgutil.iter_modules(package.__path__):
        if module.name.startswith("rows_"):
            rows.extend(importlib.import_module(f"{__package__}.{module.name}").ROWS)
    return rows
