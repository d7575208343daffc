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
from shenjing.ops._nograd import without_gradient
from shenjing.ops._util import accumulate, normalize_axis
from shenjing.ops.gather_scatter import Gather
from shenjing.tensor import Tensor, as_tensor

__all__ = ["argsort", "median", "mode", "sort", "topk"]


def _order(x: Any, axis: int, descending: bool) -> Any:
    """Stable sorting indices along ``axis``; NaN sorts as the largest value.

    Descending order sorts the reversed array ascending and reverses the result, so
    equal elements still keep their original order, as PyTorch's stable sort does.
    """
    xp = get_array_module(x)
    if not descending:
        return xp.argsort(x, axis=axis, kind="stable").astype(np.int64)
    n = x.shape[axis]
    reversed_order = xp.argsort(xp.flip(x, axis), axis=axis, kind="stable")
    return ((n - 1) - xp.flip(reversed_order, axis)).astype(np.int64)


def _first(x: Any, axis: int, k: int, descending: bool) -> Any:
    """The indices of the first k elements of x sorted along ``axis``: the k are found by
    a partition (linear time), then only they are sorted."""
    xp = get_array_module(x)
    n = x.shape[axis]
    lead = (slice(None),) * axis
    if 0 < k < n:
        kth = n - k if descending else k - 1
        part = xp.argpartition(x, kth, axis=axis)
        chosen = part[(*lead, slice(n - k, n))] if descending else part[(*lead, slice(0, k))]
        order = _order(xp.take_along_axis(x, chosen, axis=axis), axis, descending)
        return xp.take_along_axis(chosen, order, axis=axis).astype(np.int64)
    return _order(x, axis, descending)[(*lead, slice(0, k))]


def _lower_median_index(x: Any, axis: int) -> Any:
    """The index of the lower median along ``axis``, the axis kept with size 1."""
    middle = (x.shape[axis] - 1) // 2
    return _order(x, axis, False)[(slice(None),) * axis + (slice(middle, middle + 1),)]


def _dim(op: str, x: Tensor, dim: int) -> int:
    return normalize_axis(op, dim, max(x.ndim, 1))[0]


def _take(x: Tensor, indices: Tensor, axis: int) -> Tensor:
    """x's values at ``indices`` along ``axis``, differentiably."""
    return Gather.apply(x, index=indices.array, axis=axis)


def sort(input: Tensor, dim: int = -1, descending: bool = False, stable: bool = False
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
    indices = without_gradient(_order, x, axis=axis, descending=descending)
    return _return_types.sort(_take(x, indices, axis), indices)


def argsort(input: Tensor, dim: int = -1, descending: bool = False, stable: bool = False
            ) -> Tensor:
    """The indices that sort x along ``dim`` (stable)."""
    return sort(input, dim, descending, stable).indices


def topk(input: Tensor, k: int, dim: int = -1, largest: bool = True, sorted: bool = True
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
            values, indices = values.reshape(()), indices.reshape(())
        return _return_types.topk(values, indices)
    indices = without_gradient(_first, x, axis=axis, k=k, descending=largest)
    return _return_types.topk(_take(x, indices, axis), indices)


class MedianAll(Function):
    """y = the lower median of all elements;  gx = gy shared evenly among the elements
    equal to y (PyTorch's choice)."""

    def forward(self, x: Any) -> Any:
        xp = get_array_module(x)
        flat = x.reshape(-1)
        k = (flat.size - 1) // 2
        y = xp.partition(flat, k)[k]  # the k-th smallest, without a full sort
        self.ties = x == y
        return xp.asarray(y)

    def backward(self, gy: Any) -> Any:
        ties = self.ties
        return gy * ties / ties.sum()


def median(input: Tensor, dim: int | None = None, keepdim: bool = False) -> Any:
    """Without ``dim``: the lower median of all elements (the ⌊(n−1)/2⌋-th smallest), a
    0-d tensor. With ``dim``: (values, indices) of the lower medians along it."""
    x = as_tensor(input)
    if dim is None:
        if x.numel() == 0:
            raise ValueError("median: the input is empty")
        return MedianAll.apply(x)
    axis = _dim("median", x, dim)
    n = x.shape[axis] if x.ndim else 1
    if n == 0:
        raise ValueError(f"median: dim {dim} of input {x.shape} is empty")
    if x.ndim == 0:
        return _return_types.median(*sort(x))
    indices = without_gradient(_lower_median_index, x, axis=axis)
    return _extreme_result(_return_types.median, x, indices, axis, keepdim)


def _extreme_result(kind: Any, x: Tensor, indices: Tensor, axis: int, keepdim: bool) -> Any:
    values = _take(x, indices, axis)
    if not keepdim:
        values, indices = values.squeeze(axis), indices.squeeze(axis)
    return kind(values, indices)


def mode(input: Tensor, dim: int = -1, keepdim: bool = False) -> Any:
    """(values, indices): the most frequent value along ``dim`` (the smallest of those
    tied for most frequent) and the last position where it occurs, as PyTorch."""
    x = as_tensor(input)
    axis = _dim("mode", x, dim)
    if x.ndim == 0:
        return _return_types.mode(*sort(x))
    if x.shape[axis] == 0:
        raise ValueError(f"mode: dim {dim} of input {x.shape} is empty")
    indices = without_gradient(_mode_index, x, axis=axis)
    return _extreme_result(_return_types.mode, x, indices, axis, keepdim)


def _mode_index(x: Any, axis: int) -> Any:
    """The last index of the most frequent value along ``axis`` (the smallest such value
    on ties), the axis kept with size 1: runs of equal values in the sorted x, measured
    by where each run starts and ends."""
    xp = get_array_module(x)
    s = xp.moveaxis(xp.sort(x, axis=axis), axis, -1)
    n = s.shape[-1]
    positions = xp.arange(n)
    starts = xp.ones(s.shape, dtype=bool)
    starts[..., 1:] = s[..., 1:] != s[..., :-1]
    ends = xp.ones(s.shape, dtype=bool)
    ends[..., :-1] = starts[..., 1:]
    run_start = accumulate(xp, "maximum", xp.where(starts, positions, 0), -1)
    run_end = xp.flip(accumulate(xp, "minimum", xp.flip(xp.where(ends, positions, n), -1), -1), -1)
    best = xp.argmax(run_end - run_start, axis=-1)  # the first (smallest) longest run
    value = xp.take_along_axis(s, best[..., None], axis=-1)
    matches = xp.moveaxis(x, axis, -1) == value
    last = (n - 1) - xp.argmax(xp.flip(matches, -1), axis=-1)
    return xp.expand_dims(last.astype(np.int64), axis)
