"""Order statistics: sort, argsort, topk, median and mode.

The values are gathered from the input with the indices found, so their gradient goes
back to the positions they came from (``Gather``); the indices carry none.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from shenjing.autograd.function import Function
from shenjing.backend import get_array_module
from shenjing.ops import _return_types
from shenjing.ops._util import normalize_axis
from shenjing.ops.indexing import Gather
from shenjing.tensor import Tensor, as_tensor

__all__ = ["argsort", "median", "mode", "sort", "topk"]


def _order(x: Any, axis: int, descending: bool) -> Any:
    """Stable sorting indices along ``axis``; NaN sorts as the largest value.

    Descending order sorts the reversed array ascending and reverses the result, so
    equal elements still keep their original order, as PyTorch's stable sort does.
    """
    xp = get_array_module(x)
    if not descending:
        return xp.argsort(x, axis=axis, kind="stable")
    n = x.shape[axis]
    reversed_order = xp.argsort(xp.flip(x, axis), axis=axis, kind="stable")
    return (n - 1) - xp.flip(reversed_order, axis)


def _dim(op: str, x: Tensor, dim: int) -> int:
    return normalize_axis(op, dim, max(x.ndim, 1))[0]


def _take(x: Tensor, indices: Any, axis: int) -> Tensor:
    """x's values at ``indices`` along ``axis``, differentiably."""
    return Gather.apply(x, index=indices, axis=axis)


def sort(input: Tensor, dim: int = -1, descending: bool = False, stable: bool = False  # noqa: A002
         ) -> Any:
    """(values, indices): x sorted along ``dim``; ties keep their order (always stable).

    Example:
        >>> import shenjing as sj
        >>> sj.sort(sj.tensor([3.0, 1.0, 2.0])).indices.tolist()
        [1, 2, 0]
    """
    x = as_tensor(input)
    axis = _dim("sort", x, dim)
    if x.ndim == 0:
        return _return_types.sort(x.reshape(()), Tensor._make(np.zeros((), np.int64), None))
    indices = _order(x.data, axis, descending).astype(np.int64)
    return _return_types.sort(_take(x, indices, axis), Tensor._make(indices, None))


def argsort(input: Tensor, dim: int = -1, descending: bool = False, stable: bool = False  # noqa: A002
            ) -> Tensor:
    """The indices that sort x along ``dim`` (stable)."""
    return sort(input, dim, descending, stable).indices


def topk(input: Tensor, k: int, dim: int = -1, largest: bool = True, sorted: bool = True  # noqa: A002
         ) -> Any:
    """(values, indices) of the k largest (or smallest) elements along ``dim``, in sorted
    order (also when ``sorted=False``, which lets PyTorch return any order)."""
    x = as_tensor(input)
    axis = _dim("topk", x, dim)
    n = x.shape[axis] if x.ndim else 1
    if not isinstance(k, int) or not 0 <= k <= n:
        raise ValueError(f"topk: k must be in [0, {n}] for dim {dim}. Received: k={k!r}")
    if x.ndim == 0:  # as one element; k = 1 gives 0-d results, as in PyTorch
        values, indices = topk(x.reshape(1), k)
        if k == 1:
            values, indices = values.reshape(()), Tensor._make(indices.data.reshape(()), None)
        return _return_types.topk(values, indices)
    lead = (slice(None),) * axis
    indices = _order(x.data, axis, largest)[(*lead, slice(0, k))].astype(np.int64)
    return _return_types.topk(_take(x, indices, axis), Tensor._make(indices, None))


class MedianAll(Function):
    """y = the lower median of all elements;  gx = gy shared evenly among the elements
    equal to y (PyTorch's choice)."""

    def forward(self, x: Any) -> Any:
        xp = get_array_module(x)
        flat = x.reshape(-1)
        y = xp.sort(flat)[(flat.size - 1) // 2]
        self.ties = x == y
        return xp.asarray(y)

    def backward(self, gy: Any) -> Any:
        ties = self.ties
        return gy * ties / ties.sum()


def median(input: Tensor, dim: int | None = None, keepdim: bool = False) -> Any:  # noqa: A002
    """Without ``dim``: the lower median of all elements (the ⌊(n−1)/2⌋-th smallest), a
    0-d tensor. With ``dim``: (values, indices) of the lower medians along it."""
    x = as_tensor(input)
    if dim is None:
        if x.size == 0:
            raise ValueError("median: the input is empty")
        return MedianAll.apply(x)
    axis = _dim("median", x, dim)
    n = x.shape[axis] if x.ndim else 1
    if n == 0:
        raise ValueError(f"median: dim {dim} of input {x.shape} is empty")
    if x.ndim == 0:
        return _return_types.median(*sort(x))
    lead = (slice(None),) * axis
    middle = (*lead, slice((n - 1) // 2, (n - 1) // 2 + 1))
    indices = _order(x.data, axis, False)[middle].astype(np.int64)
    return _extreme_result(_return_types.median, x, indices, axis, keepdim)


def _extreme_result(kind: Any, x: Tensor, indices: Any, axis: int, keepdim: bool) -> Any:
    values = _take(x, indices, axis)
    if not keepdim:
        values = values.squeeze(axis)
        indices = indices.squeeze(axis)
    return kind(values, Tensor._make(indices, None))


def mode(input: Tensor, dim: int = -1, keepdim: bool = False) -> Any:  # noqa: A002
    """(values, indices): the most frequent value along ``dim`` (the smallest of those
    tied for most frequent) and the last position where it occurs, as PyTorch."""
    x = as_tensor(input)
    axis = _dim("mode", x, dim)
    if x.ndim == 0:
        return _return_types.mode(*sort(x))
    if x.shape[axis] == 0:
        raise ValueError(f"mode: dim {dim} of input {x.shape} is empty")
    xp = get_array_module(x.data)
    s = xp.moveaxis(xp.sort(x.data, axis=axis), axis, -1)
    n = s.shape[-1]
    positions = xp.arange(n)
    starts = xp.ones(s.shape, dtype=bool)
    starts[..., 1:] = s[..., 1:] != s[..., :-1]
    ends = xp.ones(s.shape, dtype=bool)
    ends[..., :-1] = starts[..., 1:]
    run_start = xp.maximum.accumulate(xp.where(starts, positions, 0), axis=-1)
    run_end = xp.flip(xp.minimum.accumulate(xp.flip(xp.where(ends, positions, n), -1), -1), -1)
    best = xp.argmax(run_end - run_start, axis=-1)  # the first (smallest) longest run
    value = xp.take_along_axis(s, best[..., None], axis=-1)
    matches = xp.moveaxis(x.data, axis, -1) == value
    last = (n - 1) - xp.argmax(xp.flip(matches, -1), axis=-1)
    indices = xp.expand_dims(last.astype(np.int64), axis)
    return _extreme_result(_return_types.mode, x, indices, axis, keepdim)
