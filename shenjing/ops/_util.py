"""Helpers shared by the ops: reducing over broadcast axes, checking axes and shapes, and
σ and tanh through one exp."""

from __future__ import annotations

import functools
from collections.abc import Sequence
from types import ModuleType
from typing import Any

import numpy as np

from shenjing.backend import get_array_module


def unbroadcast(g: Any, shape: tuple[int, ...]) -> Any:
    """Sum ``g`` over the axes that broadcasting added or stretched, back to ``shape``.

    Every binary op's backward ends here: if ``a`` of shape (3, 1) met ``b`` of shape
    (4,), the output was (3, 4) and ``a``'s gradient is the (3, 4) gradient summed over
    axis 1, kept as (3, 1).
    """
    if g.shape == shape:
        return g
    extra = g.ndim - len(shape)
    stretched = tuple(
        extra + i for i, n in enumerate(shape) if n == 1 and g.shape[extra + i] != 1
    )
    g = g.sum(axis=tuple(range(extra)) + stretched, keepdims=True)
    return g.reshape(shape)


def column_sums(g: Any) -> Any:
    """Σ over the rows of a 2-D ``g`` (a bias gradient), as one matrix-vector product:
    BLAS does it in about half the time of ``g.sum(axis=0)`` on the small batches of
    a training step."""
    return _ones(g.shape[0], g.dtype, get_array_module(g)) @ g


@functools.cache
def _ones(n: int, dtype: Any, xp: ModuleType) -> Any:
    ones = xp.ones(n, dtype=dtype)
    if xp is np:
        ones.flags.writeable = False  # shared by every call
    return ones


def broadcast_error(op: str, *shapes: tuple[int, ...]) -> ValueError:
    """The error for operands whose shapes cannot be broadcast together."""
    listed = " and ".join(str(tuple(s)) for s in shapes)
    return ValueError(f"{op}: shapes {listed} cannot be broadcast together")


class AxisError(IndexError, ValueError):
    """A dim out of range for a tensor's rank: an ``IndexError`` as in PyTorch, and a
    ``ValueError`` as shenjing raised before (NumPy's ``AxisError`` is both too)."""


def resolve_dim(
    op: str, dim: Any, keepdim: bool, axis: Any = None, keepdims: bool | None = None
) -> tuple[Any, bool]:
    """PyTorch's ``dim``/``keepdim`` with NumPy's ``axis``/``keepdims`` as aliases.

    Raises:
        TypeError: when an alias and its PyTorch name are both given, differently.
    """
    if axis is not None:
        if dim is not None and dim != axis:
            raise TypeError(f"{op}: got dim={dim!r} and axis={axis!r}; give one of them")
        dim = axis
    if keepdims is not None:
        if keepdim and not keepdims:
            raise TypeError(f"{op}: got keepdim=True and keepdims=False; give one of them")
        keepdim = keepdims
    return dim, keepdim


def normalize_axis(op: str, axis: int | Sequence[int] | None, ndim: int) -> tuple[int, ...]:
    """``axis`` as a sorted tuple of non-negative axes; None means every axis.

    As in PyTorch, a 0-d tensor accepts axis 0 and -1, which name no axis: ().

    Raises:
        AxisError: naming the op, the axis and the rank when an axis is out of range.
    """
    if axis is None:
        return tuple(range(ndim))
    axes = (axis,) if isinstance(axis, int) else tuple(axis)
    normalized = []
    low = -max(ndim, 1)
    for a in axes:
        if not isinstance(a, int) or isinstance(a, bool) or not low <= a < max(ndim, 1):
            raise AxisError(f"{op}: axis {a} is out of range for a tensor of rank {ndim}")
        if ndim:
            normalized.append(a % ndim)
    if not ndim:
        return ()
    if len(set(normalized)) != len(normalized):
        raise ValueError(f"{op}: repeated axis in {axis}")
    return tuple(sorted(normalized))


# NOTE: as a decorator, np.errstate costs about half what a ``with`` block does per call
# (~0.7 against ~1.4 µs here), which shows on the small arrays of a small network.
@np.errstate(over="ignore")
def sigmoid_of_negated_(u: Any, out: Any = None) -> None:
    """out ← 1 / (1 + exp(u)) (in place when ``out`` is None): σ(z) for u = −z.

    Its error is relative, so small σ keep their precision (the sigmoid op uses it).
    For u > 88.7, exp overflows float32 to inf and 1 / (1 + inf) = 0 is then σ(z) to
    float32 precision (PyTorch's value too), so the overflow is expected and silenced:
    clamping u first measured as a quarter of the cost of the whole σ.
    """
    xp = get_array_module(u)
    out = u if out is None else out
    xp.exp(u, out=out)
    out += 1.0
    xp.divide(1.0, out, out=out)


def sigmoid_of_halved_(u: Any, out: Any = None) -> None:
    """out ← ½·tanh(u) + ½ (in place when ``out`` is None): σ(z) for u = z/2.

    The recurrent gates use it: with NumPy 2.4's SIMD tanh, one float32 tanh costs less
    than one exp, so this beats ``sigmoid_of_negated_`` (exp, add, divide) on a gate
    block. Its error is absolute (within float32 rounding of ½), which the gates, bounded
    in (0, 1), are fine with; the sigmoid op keeps the relative precision of the exp form.
    """
    xp = get_array_module(u)
    out = u if out is None else out
    xp.tanh(u, out=out)
    out *= 0.5
    out += 0.5


def accumulate(xp: ModuleType, op_name: str, x: Any, axis: int) -> Any:
    """The inclusive scan of the binary ufunc ``op_name`` along ``axis``: y_k = x_0 ∘ … ∘ x_k.

    NumPy's ``ufunc.accumulate``; on an array module without it (CuPy has none for
    maximum, minimum or logaddexp) a Hillis–Steele scan, ⌈log₂ n⌉ whole-array passes
    of y_k ← y_k ∘ y_{k−s} for s = 1, 2, 4, ….
    """
    op = getattr(xp, op_name)
    if xp is np:
        return op.accumulate(x, axis=axis)
    y = xp.moveaxis(x, axis, -1).copy()
    shift, n = 1, y.shape[-1]
    while shift < n:
        y[..., shift:] = op(y[..., shift:], y[..., :-shift])  # both read before the write
        shift *= 2
    return xp.moveaxis(y, -1, axis)


def open_grid(xp: ModuleType, shape: tuple[int, ...]) -> list[Any]:
    """``np.indices(shape, sparse=True)`` for any array module: one arange per dim,
    shaped to broadcast along that dim alone."""
    ndim = len(shape)
    return [xp.arange(n).reshape([n if d == k else 1 for d in range(ndim)])
            for k, n in enumerate(shape)]
