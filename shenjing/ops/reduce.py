"""Reductions: each output element summarises the input along one or more axes.

Every reduction takes ``axis`` (an int, a tuple of ints, or None for all axes) and
``keepdims``. The public functions turn ``axis`` into a sorted tuple of non-negative axes
with ``normalize_axis``, so the ops below only see that form. Backward puts the reduced
axes back as size-1 dimensions (``_kept``) and repeats the gradient over them.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from shenjing.autograd.function import Function
from shenjing.backend import get_array_module
from shenjing.ops._util import normalize_axis
from shenjing.tensor import Tensor

__all__ = ["logsumexp", "max", "mean", "min", "sum", "var"]

Axis = int | Sequence[int] | None


def _kept(g: Any, x_shape: tuple[int, ...], axis: tuple[int, ...]) -> Any:
    """``g`` reduced without keepdims, reshaped as if it had been kept: size 1 on ``axis``."""
    return g.reshape([1 if i in axis else n for i, n in enumerate(x_shape)])


def _spread(g: Any, x_shape: tuple[int, ...], axis: tuple[int, ...], keepdims: bool) -> Any:
    """The reduced gradient ``g`` repeated over the reduced axes, back to ``x_shape``.

    A filled array rather than a zero-stride ``broadcast_to`` view: on NumPy the view
    costs more to make than a small fill, every later op reads it more slowly than a
    contiguous array, and the engine copies it anyway before storing it as a ``.grad``.
    """
    # Broadcasting lines up trailing axes: when only leading axes were reduced, ``g``
    # already fits without its size-1 axes.
    if not keepdims and axis and axis[-1] != len(axis) - 1:
        g = _kept(g, x_shape, axis)
    gx = get_array_module(g).empty(x_shape, dtype=g.dtype)
    gx[...] = g
    return gx


class Sum(Function):
    """y = Σ_axis x;  gx = gy repeated over the summed axes."""

    def forward(self, x: Any, axis: tuple[int, ...], keepdims: bool) -> Any:
        self.x_shape, self.axis, self.keepdims = x.shape, axis, keepdims
        return x.sum(axis=axis, keepdims=keepdims)

    def backward(self, gy: Any) -> Any:
        return _spread(gy, self.x_shape, self.axis, self.keepdims)


class Mean(Function):
    """y = (1/N) Σ_axis x, N the number of elements reduced;  gx = gy / N on every element."""

    def forward(self, x: Any, axis: tuple[int, ...], keepdims: bool, count: int) -> Any:
        self.x_shape, self.axis, self.keepdims, self.count = x.shape, axis, keepdims, count
        # NOTE: sum / N rather than x.mean(), whose Python-level wrapper costs more than
        # the arithmetic on small tensors.
        return x.sum(axis=axis, keepdims=keepdims) / count

    def backward(self, gy: Any) -> Any:
        return _spread(gy / self.count, self.x_shape, self.axis, self.keepdims)


def _to_extremes(x: Any, y: Any, gy: Any, axis: tuple[int, ...], keepdims: bool) -> Any:
    """Route ``gy`` to the elements of ``x`` equal to their slice's extreme ``y``, split
    evenly among ties (PyTorch's amax/amin rule)."""
    if not keepdims:
        kept = [1 if i in axis else n for i, n in enumerate(x.shape)]
        y, gy = y.reshape(kept), gy.reshape(kept)
    share = (x == y).astype(gy.dtype)
    share *= gy / share.sum(axis=axis, keepdims=True)  # 1 / ties, times gy
    return share


class Max(Function):
    """y = max_axis x;  gx = gy / k at the k elements that equal the maximum, 0 elsewhere."""

    def forward(self, x: Any, axis: tuple[int, ...], keepdims: bool) -> Any:
        self.x, self.axis, self.keepdims = x, axis, keepdims
        self.y = x.max(axis=axis, keepdims=keepdims)
        return self.y

    def backward(self, gy: Any) -> Any:
        return _to_extremes(self.x, self.y, gy, self.axis, self.keepdims)


class Min(Function):
    """y = min_axis x;  gx = gy / k at the k elements that equal the minimum, 0 elsewhere."""

    def forward(self, x: Any, axis: tuple[int, ...], keepdims: bool) -> Any:
        self.x, self.axis, self.keepdims = x, axis, keepdims
        self.y = x.min(axis=axis, keepdims=keepdims)
        return self.y

    def backward(self, gy: Any) -> Any:
        return _to_extremes(self.x, self.y, gy, self.axis, self.keepdims)


class Var(Function):
    """y = Σ_axis (x - μ)² / (N - c), μ the mean over axis, N the number of elements
    reduced, c the correction;  gx = gy · 2 (x - μ) / (N - c).

    The path through μ adds nothing: ∂y/∂μ = -2 Σ (x - μ) / (N - c) = 0.
    """

    def forward(
        self, x: Any, axis: tuple[int, ...], keepdims: bool, count: int, correction: int
    ) -> Any:
        self.axis, self.keepdims, self.divisor = axis, keepdims, count - correction
        self.centered = x - x.sum(axis=axis, keepdims=True) / count
        squared = self.centered * self.centered
        return squared.sum(axis=axis, keepdims=keepdims) / self.divisor

    def backward(self, gy: Any) -> Any:
        centered = self.centered
        if not self.keepdims:
            gy = _kept(gy, centered.shape, self.axis)
        return centered * (gy * (2.0 / self.divisor))


class LogSumExp(Function):
    """y = m + log Σ_axis exp(x - m), m the maximum over axis;  gx = gy · exp(x - y).

    Subtracting m keeps every exponent <= 0, so nothing overflows at x = 1000.
    """

    def forward(self, x: Any, axis: tuple[int, ...], keepdims: bool) -> Any:
        xp = get_array_module(x)
        shift = x.max(axis=axis, keepdims=True)
        finite = xp.isfinite(shift)
        if not finite.all():  # a slice of all -inf: exp(x - m) would be nan, not 0
            shift = xp.where(finite, shift, 0.0).astype(x.dtype)
        self.exp_shifted = xp.exp(x - shift)
        self.total = self.exp_shifted.sum(axis=axis, keepdims=True)
        y = xp.log(self.total)
        y += shift
        if keepdims:
            return y
        return y.reshape([n for i, n in enumerate(x.shape) if i not in axis])

    def backward(self, gy: Any) -> Any:
        # NOTE: exp(x - y) = exp(x - m) / Σ exp(x - m), reusing forward's arrays.
        gy = gy.reshape(self.total.shape)  # the reduced axes back, if keepdims dropped them
        return self.exp_shifted * (gy / self.total)


# ----------------------------------------------------------------- the functions


def sum(x: Tensor, axis: Axis = None, keepdims: bool = False) -> Tensor:  # noqa: A001
    """Σ of the elements over ``axis`` (every axis when None).

    Example:
        >>> import shenjing as sj
        >>> sj.sum(sj.tensor([[1.0, 2.0], [3.0, 4.0]]), axis=0).tolist()
        [4.0, 6.0]
    """
    return Sum.apply(x, axis=normalize_axis("sum", axis, x.ndim), keepdims=keepdims)


def mean(x: Tensor, axis: Axis = None, keepdims: bool = False) -> Tensor:
    """Arithmetic mean over ``axis`` (every axis when None)."""
    axes = normalize_axis("mean", axis, x.ndim)
    count = math.prod([x._sizes[a] for a in axes])
    return Mean.apply(x, axis=axes, keepdims=keepdims, count=count)


def max(x: Tensor, axis: Axis = None, keepdims: bool = False) -> Tensor:  # noqa: A001
    """Largest element over ``axis``; tied maxima share the gradient equally."""
    return Max.apply(x, axis=normalize_axis("max", axis, x.ndim), keepdims=keepdims)


def min(x: Tensor, axis: Axis = None, keepdims: bool = False) -> Tensor:  # noqa: A001
    """Smallest element over ``axis``; tied minima share the gradient equally."""
    return Min.apply(x, axis=normalize_axis("min", axis, x.ndim), keepdims=keepdims)


def var(x: Tensor, axis: Axis = None, keepdims: bool = False, correction: int = 0) -> Tensor:
    """Variance over ``axis``: Σ (x - mean)² / (N - correction).

    ``correction=0`` is the biased (population) variance, ``correction=1`` the unbiased
    sample variance, as in PyTorch's ``var(correction=...)``.

    Example:
        >>> import shenjing as sj
        >>> sj.var(sj.tensor([1.0, 2.0, 3.0, 4.0]), correction=1).item()
        1.6666666269302368
    """
    axes = normalize_axis("var", axis, x.ndim)
    count = math.prod([x._sizes[a] for a in axes])
    if count - correction <= 0:
        raise ValueError(
            f"var: correction={correction} leaves no degrees of freedom for {count} "
            f"element(s) per reduction. Received: shape={x.shape}, axis={axis}"
        )
    return Var.apply(x, axis=axes, keepdims=keepdims, count=count, correction=correction)


def logsumexp(x: Tensor, axis: Axis = None, keepdims: bool = False) -> Tensor:
    """log Σ exp(x) over ``axis``, computed without overflow.

    Example:
        >>> import shenjing as sj
        >>> round(sj.logsumexp(sj.tensor([1000.0, 1000.0])).item(), 4)  # 1000 + log 2
        1000.6932
    """
    return LogSumExp.apply(x, axis=normalize_axis("logsumexp", axis, x.ndim), keepdims=keepdims)
