"""Truth-valued ops: logical and/or/xor/not, NaN and infinity tests, isclose/allclose,
and the reductions all, any and count_nonzero.

Every result is boolean (count_nonzero: int64), so none carries a gradient; like
comparisons they are graph nodes without a gradient (see ``_nograd.py``). Nonzero counts
as true, as in PyTorch.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from shenjing.backend import get_array_module
from shenjing.ops._nograd import without_gradient
from shenjing.ops._util import broadcast_error, normalize_axis
from shenjing.ops.elementwise import _lift
from shenjing.tensor import Tensor, as_tensor

__all__ = [
    "all", "allclose", "any", "count_nonzero", "isclose", "isfinite", "isinf", "isnan",
    "logical_and", "logical_not", "logical_or", "logical_xor",
]


def _logical(op: str, a: Any, b: Any) -> Tensor:
    a, b = _lift(a, b)
    try:
        return without_gradient(getattr(get_array_module(a.array), op), a, b)
    except ValueError:
        raise broadcast_error(op, a.shape, b.shape) from None


def logical_and(input: Any, other: Any) -> Tensor:
    """True where both are nonzero."""
    return _logical("logical_and", input, other)


def logical_or(input: Any, other: Any) -> Tensor:
    """True where either is nonzero."""
    return _logical("logical_or", input, other)


def logical_xor(input: Any, other: Any) -> Tensor:
    """True where exactly one is nonzero."""
    return _logical("logical_xor", input, other)


def logical_not(input: Tensor) -> Tensor:
    """True where x is zero."""
    x = as_tensor(input)
    return without_gradient(get_array_module(x.array).logical_not, x)


def _test(ufunc: str, input: Any) -> Tensor:
    x = as_tensor(input)
    return without_gradient(getattr(get_array_module(x.array), ufunc), x)


def isnan(input: Tensor) -> Tensor:
    """True where x is NaN (never for integers)."""
    return _test("isnan", input)


def isinf(input: Tensor) -> Tensor:
    """True where x is +inf or −inf."""
    return _test("isinf", input)


def isfinite(input: Tensor) -> Tensor:
    """True where x is neither infinite nor NaN."""
    return _test("isfinite", input)


def isclose(
    input: Any, other: Any, rtol: float = 1e-05, atol: float = 1e-08, equal_nan: bool = False
) -> Tensor:
    """|a − b| ≤ atol + rtol·|b| elementwise (PyTorch's defaults); NaNs are equal only
    with ``equal_nan``."""
    if rtol < 0 or atol < 0:
        raise ValueError(f"isclose: rtol and atol must be non-negative. Received: {rtol}, {atol}")
    a, b = _lift(input, other)
    xp = get_array_module(a.array)
    try:
        return without_gradient(xp.isclose, a, b, rtol=rtol, atol=atol, equal_nan=equal_nan)
    except ValueError:
        raise broadcast_error("isclose", a.shape, b.shape) from None


def allclose(
    input: Any, other: Any, rtol: float = 1e-05, atol: float = 1e-08, equal_nan: bool = False
) -> bool:
    """Whether ``isclose`` holds for every element, as a Python bool."""
    return bool(isclose(input, other, rtol, atol, equal_nan).array.all())


def _reduce_truth(op: str, input: Any, dim: Any, keepdim: bool) -> Tensor:
    x = as_tensor(input)
    axes = normalize_axis(op, dim, x.ndim) if dim is not None else None
    if dim is None and keepdim:
        axes = tuple(range(x.ndim))
    return without_gradient(getattr(get_array_module(x.array), op), x, axis=axes,
                            keepdims=keepdim)


def all(input: Tensor, dim: int | Sequence[int] | None = None, keepdim: bool = False) -> Tensor:
    """Whether every element (over ``dim``, or all) is nonzero, as a boolean tensor."""
    return _reduce_truth("all", input, dim, keepdim)


def any(input: Tensor, dim: int | Sequence[int] | None = None, keepdim: bool = False) -> Tensor:
    """Whether some element (over ``dim``, or all) is nonzero, as a boolean tensor."""
    return _reduce_truth("any", input, dim, keepdim)


def count_nonzero(input: Tensor, dim: int | Sequence[int] | None = None) -> Tensor:
    """The number of nonzero elements over ``dim`` (all when None), as int64."""
    x = as_tensor(input)
    axes = normalize_axis("count_nonzero", dim, x.ndim) if dim is not None else None
    return without_gradient(_count_nonzero, x, axis=axes)


def _count_nonzero(x: Any, axis: tuple[int, ...] | None) -> Any:
    return get_array_module(x).count_nonzero(x, axis=axis).astype(np.int64)
