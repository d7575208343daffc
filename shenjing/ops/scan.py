"""Scans: running sums, maxima, minima and log-sum-exps along one dimension.

A 0-d tensor is scanned as a single element, as in PyTorch. (The running product is in
``product.py`` with ``prod``.)
"""

from __future__ import annotations

from typing import Any

import numpy as np

from shenjing import _bfloat16
from shenjing.autograd.function import Function
from shenjing.backend import get_array_module
from shenjing.ops import _return_types
from shenjing.ops._nograd import without_gradient
from shenjing.ops._util import accumulate, normalize_axis
from shenjing.ops.gather_scatter import Gather
from shenjing.ops.product import _integers_to_int64
from shenjing.tensor import Tensor, as_tensor

__all__ = ["cummax", "cummin", "cumsum", "logcumsumexp"]


def _reverse_cumsum(g: Any, axis: int) -> Any:
    """Σ_{j≥i} gⱼ along ``axis``: the adjoint of a running sum."""
    xp = get_array_module(g)
    return xp.flip(xp.cumsum(xp.flip(g, axis), axis), axis)


class CumSum(Function):
    """yᵢ = Σ_{k≤i} xₖ along ``axis``;  gxᵢ = Σ_{j≥i} gyⱼ."""

    def forward(self, x: Any, axis: int) -> Any:
        self.axis = axis
        return get_array_module(x).cumsum(x, axis=axis)

    def backward(self, gy: Any) -> Any:
        return _reverse_cumsum(gy, self.axis)


def running_extreme_indices(x: Any, axis: int, largest: bool) -> Any:
    """For each position i along ``axis``, the index of the latest k ≤ i holding the
    running maximum (or minimum) of x₀…xᵢ, as PyTorch's cummax/cummin choose on ties."""
    xp = get_array_module(x)
    y = accumulate(xp, "maximum" if largest else "minimum", x, axis)
    shape = [1] * x.ndim
    shape[axis] = x.shape[axis]
    positions = xp.arange(x.shape[axis]).reshape(shape)
    # The latest j ≤ i with xⱼ = yⱼ has yⱼ = yᵢ: nothing after it moved the extreme.
    return accumulate(xp, "maximum", xp.where(x == y, positions, 0), axis).astype(np.int64)


class LogCumSumExp(Function):
    """yᵢ = log Σ_{k≤i} exp(xₖ) along ``axis``;  gxₖ = Σ_{i≥k} gyᵢ · exp(xₖ − yᵢ).

    The gradient's sum is taken in log space, for the positive and the negative parts of
    gy apart, so that neither exp(xₖ) nor exp(−yᵢ) is ever formed on its own.
    """

    def forward(self, x: Any, axis: int) -> Any:
        self.x, self.axis = x, axis
        self.y = accumulate(get_array_module(x), "logaddexp", x, axis)
        return self.y

    @np.errstate(divide="ignore")  # log(0) = −inf stands for an empty part of gy
    def backward(self, gy: Any) -> Any:
        xp = get_array_module(gy)
        x, y, axis = self.x, self.y, self.axis

        def part(g: Any) -> Any:  # Σ_{i≥k} g_i·exp(x_k − y_i), for g ≥ 0
            log_terms = xp.flip(xp.log(g) - y, axis)
            return xp.exp(x + xp.flip(accumulate(xp, "logaddexp", log_terms, axis), axis))

        return part(xp.maximum(gy, 0)) - part(xp.maximum(-gy, 0))


# ----------------------------------------------------------------- the functions


def _scan(op: str, fn: type[Function], x: Tensor, dim: int, **params: Any) -> Any:
    axis = normalize_axis(op, dim, max(x.ndim, 1))[0]  # a 0-d tensor takes dim 0 or -1
    if x.ndim == 0:  # a 0-d tensor is scanned as one element
        return fn.apply(x.reshape(1), axis=0, **params).reshape(())
    return fn.apply(x, axis=axis, **params)


def cumsum(input: Tensor, dim: int, *, dtype: Any = None) -> Tensor:
    """The running sum along ``dim``; integers and booleans sum in int64 as in PyTorch.

    Example:
        >>> import shenjing as sj
        >>> sj.cumsum(sj.tensor([1, 2, 3]), dim=0).tolist()
        [1, 3, 6]
    """
    return _scan("cumsum", CumSum, _integers_to_int64(as_tensor(input), dtype), dim)


def _cum_extreme(op: str, input: Any, dim: int, largest: bool) -> tuple[Tensor, Tensor]:
    x = as_tensor(input)
    axis = normalize_axis(op, dim, max(x.ndim, 1))[0]
    flat = x.reshape(1) if x.ndim == 0 else x  # a 0-d tensor is scanned as one element
    indices = without_gradient(running_extreme_indices, flat, axis=axis, largest=largest)
    values = Gather.apply(flat, index=indices.array, axis=axis)
    if x.ndim == 0:
        values, indices = values.reshape(()), indices.reshape(())
    return values, indices


def cummax(input: Tensor, dim: int) -> Any:
    """(values, indices): the running maximum along ``dim`` and where it was reached
    (the latest position on ties, as PyTorch)."""
    return _return_types.cummax(*_cum_extreme("cummax", input, dim, largest=True))


def cummin(input: Tensor, dim: int) -> Any:
    """(values, indices): the running minimum along ``dim`` and where it was reached."""
    return _return_types.cummin(*_cum_extreme("cummin", input, dim, largest=False))


def logcumsumexp(input: Tensor, dim: int) -> Tensor:
    """log(cumsum(exp(x))) along ``dim``, computed without overflow."""
    x = as_tensor(input)
    if _bfloat16.kind(x.dtype) != "f":
        raise TypeError(f"logcumsumexp: expects a floating-point tensor. Received: {x.dtype}")
    return _scan("logcumsumexp", LogCumSumExp, x, dim)
