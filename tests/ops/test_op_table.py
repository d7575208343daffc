"""Generic tests driven by the op table: forward against NumPy, backward against
central differences in float64, and (when installed) forward and backward against PyTorch.

Each test runs with the CPU kernel tier on (where Numba is installed) and, if the op ran
a kernel, again with the tier off: the NumPy reference and its kernel both answer to
the same checks, and ops without a kernel are not run twice for nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

import shenjing as sj
from shenjing import kernels
from tests.ops.opinfo import OpInfo, all_rows

CASES = [
    pytest.param(row, shapes, id=f"{row.name}-{'-'.join(map(str, shapes))}")
    for row in all_rows()
    for shapes in row.shapes
]


def _both_tiers(check: Callable[[], None]) -> None:
    """Run ``check`` with the kernel tier on and, if it ran any kernel, with it off."""
    if not kernels.available():
        check()
        return
    before = kernels.calls()
    with kernels.use(True):
        check()
    if kernels.calls() != before:
        with kernels.use(False):
            check()


def _tensors(arrays: list[np.ndarray], dtype: str, requires_grad: bool) -> list[sj.Tensor]:
    out = []
    for a in arrays:
        if a.dtype.kind == "f":
            out.append(sj.tensor(a, dtype=dtype, requires_grad=requires_grad))
        else:
            out.append(sj.tensor(a))
    return out


@pytest.mark.parametrize(("row", "shapes"), CASES)
def test_forward_matches_numpy(row: OpInfo, shapes: tuple) -> None:
    _both_tiers(lambda: _forward_matches_numpy(row, shapes))


def _forward_matches_numpy(row: OpInfo, shapes: tuple) -> None:
    arrays = row.inputs(shapes)
    expected = row.ref(*arrays, **row.kwargs)
    got = row.op(*_tensors(arrays, "float32", False), **row.kwargs)
    assert got.dtype == np.float32 or got.dtype.kind != "f", "float32 in, float32 out"
    np.testing.assert_allclose(got.numpy(), expected, rtol=1e-4, atol=row.atol)


@pytest.mark.parametrize(("row", "shapes"), [c for c in CASES if c.values[0].grad])
def test_backward_matches_central_differences(row: OpInfo, shapes: tuple) -> None:
    _both_tiers(lambda: _backward_matches_central_differences(row, shapes))


def _backward_matches_central_differences(row: OpInfo, shapes: tuple) -> None:
    inputs = _tensors(row.inputs(shapes), "float64", True)
    assert sj.gradcheck(lambda *xs: row.op(*xs, **row.kwargs), inputs)


@pytest.mark.torch
@pytest.mark.parametrize(("row", "shapes"), [c for c in CASES if c.values[0].torch_ref])
def test_matches_pytorch(row: OpInfo, shapes: tuple) -> None:
    torch = pytest.importorskip("torch")
    _both_tiers(lambda: _matches_pytorch(torch, row, shapes))


def _matches_pytorch(torch: Any, row: OpInfo, shapes: tuple) -> None:
    arrays = row.inputs(shapes)
    ours = _tensors(arrays, "float64", True)
    theirs = [
        torch.tensor(a, requires_grad=a.dtype.kind == "f") if a.dtype.kind == "f"
        else torch.tensor(a)
        for a in arrays
    ]
    y = row.op(*ours, **row.kwargs)
    ty = row.torch_ref(*theirs, **row.kwargs)
    np.testing.assert_allclose(y.numpy(), ty.detach().numpy(), rtol=1e-6, atol=1e-8)
    weights = np.random.default_rng(1).uniform(0.5, 1.5, size=y.shape)
    (y * sj.tensor(weights, dtype="float64")).sum().backward()
    (ty * torch.tensor(weights)).sum().backward()
    for ours_x, theirs_x in zip(ours, theirs, strict=True):
        if ours_x.requires_grad:
            np.testing.assert_allclose(
                ours_x.grad.numpy(), theirs_x.grad.numpy(), rtol=1e-6, atol=1e-8
            )
