"""Reductions: each output element summarises the input along one or more axes.

Every reduction takes PyTorch's ``dim`` (an int, a tuple of ints, or None for all axes)
and ``keepdim``, with NumPy's ``axis`` and ``keepdims`` as aliases. The public functions
turn ``dim`` into a sorted tuple of non-negative axes with ``normalize_axis``, so the ops
below only see that form. Backward puts the reduced
axes back as size-1 dimensions (``_kept``) and repeats the gradient over them.
"""

from __future__ import annotations

import math
import warnings
from collections import namedtuple
from collections.abc import Sequence
from typing import Any

import numpy as np

from shenjing import _bfloat16
from shenjing.autograd.function import Function
from shenjing.autograd.grad_mode import no_grad
from shenjing.backend import get_array_module
from shenjing.ops._util import normalize_axis, resolve_dim
from shenjing.ops.elementwise import maximum, minimum, sqrt
from shenjing.tensor import Tensor

__all__ = [
    "amax", "amin", "argmax", "argmin", "logsumexp", "max", "mean", "min", "std", "std_mean",
    "sum", "var", "var_mean",
]

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
        if not count:  # an empty mean is nan, as in PyTorch, without NumPy's warning
            return get_array_module(x).full(_reduced_shape(x.shape, axis, keepdims), math.nan,
                                            dtype=x.dtype)
        # NOTE: sum / N rather than x.mean(), whose Python-level wrapper costs more than
        # the arithmetic on small tensors.
        return x.sum(axis=axis, keepdims=keepdims) / count

    def backward(self, gy: Any) -> Any:
        if not self.count:  # no element of x reached the output
            return get_array_module(gy).zeros(self.x_shape, dtype=gy.dtype)
        return _spread(gy / self.count, self.x_shape, self.axis, self.keepdims)


def _reduced_shape(shape: tuple[int, ...], axis: tuple[int, ...], keepdims: bool) -> list[int]:
    if keepdims:
        return [1 if i in axis else n for i, n in enumerate(shape)]
    return [n for i, n in enumerate(shape) if i not in axis]


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


class MaxDim(Function):
    """y = x at ``indices`` along ``axis`` (the arg-max or arg-min, found by the caller);
    gx = gy at those indices, 0 elsewhere (PyTorch's rule for ``max(dim)``: one element
    per slice gets the gradient, even among ties). ``indices`` gets no gradient."""

    def forward(self, x: Any, indices: Any, axis: int, keepdims: bool) -> Any:
        self.x_shape, self.axis, self.keepdims = x.shape, axis, keepdims
        self.kept_indices = indices if keepdims else get_array_module(x).expand_dims(indices, axis)
        y = get_array_module(x).take_along_axis(x, self.kept_indices, axis)
        return y if keepdims else y.squeeze(axis)

    def backward(self, gy: Any) -> tuple[Any, None]:
        xp = get_array_module(gy)
        if not self.keepdims:
            gy = xp.expand_dims(gy, self.axis)
        # NOTE: a one-hot mask along the axis rather than put_along_axis, which not every
        # CuPy version has.
        ndim = len(self.x_shape)
        positions = xp.arange(self.x_shape[self.axis]).reshape(
            [-1 if i == self.axis else 1 for i in range(ndim)])
        return (positions == self.kept_indices) * gy, None


class ArgExtreme(Function):
    """y = the index of the largest (or smallest) element along ``axis`` (of the flattened
    tensor when None), the first among ties, as int64. Not differentiable: the public
    functions apply it under ``no_grad``, so it has no backward."""

    def forward(self, x: Any, largest: bool, axis: int | None, keepdims: bool) -> Any:
        find = x.argmax if largest else x.argmin
        if axis is None:
            index = find()
            if keepdims:
                index = index.reshape((1,) * x.ndim)
        else:
            index = find(axis=axis, keepdims=keepdims)
        return get_array_module(x).asarray(index, dtype=np.int64)


class Var(Function):
    """y = Σ_axis (x - μ)² / max(N - c, 0), μ the mean over axis, N the number of
    elements reduced, c the correction;  gx = gy · 2 (x - μ) / max(N - c, 0).

    The path through μ adds nothing: ∂y/∂μ = -2 Σ (x - μ) / (N - c) = 0. With no degrees
    of freedom left the division gives nan or inf, as in PyTorch.
    """

    @np.errstate(divide="ignore", invalid="ignore")
    def forward(
        self, x: Any, axis: tuple[int, ...], keepdims: bool, count: int, correction: float
    ) -> Any:
        self.axis, self.keepdims = axis, keepdims
        self.divisor = count - correction if count > correction else 0
        self.centered = x - x.sum(axis=axis, keepdims=True) / count
        squared = self.centered * self.centered
        return squared.sum(axis=axis, keepdims=keepdims) / x.dtype.type(self.divisor)

    @np.errstate(divide="ignore", invalid="ignore")
    def backward(self, gy: Any) -> Any:
        centered = self.centered
        if not self.keepdims:
            gy = _kept(gy, centered.shape, self.axis)
        return centered * (gy * (2.0 / centered.dtype.type(self.divisor)))


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

# PyTorch's torch.return_types.max / min: a named tuple of (values, indices).
MaxResult = namedtuple("max", ["values", "indices"])
MinResult = namedtuple("min", ["values", "indices"])


def sum(
    x: Tensor, dim: Axis = None, keepdim: bool = False, *, dtype: Any = None,
    axis: Axis = None, keepdims: bool | None = None,
) -> Tensor:
    """Σ of the elements over ``dim`` (every axis when None); ``dtype`` casts the input
    first, as PyTorch's (e.g. ``dtype=sj.float64`` to sum float32 data in double).

    Example:
        >>> import shenjing as sj
        >>> sj.sum(sj.tensor([[1.0, 2.0], [3.0, 4.0]]), dim=0).tolist()
        [4.0, 6.0]
    """
    if axis is not None or keepdims is not None:
        dim, keepdim = resolve_dim("sum", dim, keepdim, axis, keepdims)
    if dtype is not None:
        x = x.type(dtype)
    return Sum.apply(x, axis=normalize_axis("sum", dim, x.ndim), keepdims=keepdim)


def mean(
    x: Tensor, dim: Axis = None, keepdim: bool = False, *, axis: Axis = None,
    keepdims: bool | None = None,
) -> Tensor:
    """Arithmetic mean over ``dim`` (every axis when None); nan over no elements."""
    if axis is not None or keepdims is not None:
        dim, keepdim = resolve_dim("mean", dim, keepdim, axis, keepdims)
    _check_floating("mean", x)
    axes = normalize_axis("mean", dim, x.ndim)
    count = math.prod([x._sizes[a] for a in axes])
    return Mean.apply(x, axis=axes, keepdims=keepdim, count=count)


def _check_floating(op: str, x: Tensor) -> None:
    """PyTorch refuses to guess a mean's or a variance's dtype for integer input."""
    if _bfloat16.kind(x.array.dtype) not in "fc":
        raise TypeError(f"{op}: input dtype must be floating point (cast with .float()). "
                        f"Received: dtype={x.dtype}")


def amax(
    x: Tensor, dim: Axis = None, keepdim: bool = False, *, axis: Axis = None,
    keepdims: bool | None = None,
) -> Tensor:
    """Largest element over ``dim`` (one or more axes; every axis when None); tied maxima
    share the gradient equally, as PyTorch's ``amax``."""
    if axis is not None or keepdims is not None:
        dim, keepdim = resolve_dim("amax", dim, keepdim, axis, keepdims)
    return Max.apply(x, axis=_nonempty("amax", x, dim), keepdims=keepdim)


def amin(
    x: Tensor, dim: Axis = None, keepdim: bool = False, *, axis: Axis = None,
    keepdims: bool | None = None,
) -> Tensor:
    """Smallest element over ``dim``; tied minima share the gradient equally."""
    if axis is not None or keepdims is not None:
        dim, keepdim = resolve_dim("amin", dim, keepdim, axis, keepdims)
    return Min.apply(x, axis=_nonempty("amin", x, dim), keepdims=keepdim)


def _nonempty(op: str, x: Tensor, dim: Axis) -> tuple[int, ...]:
    axes = normalize_axis(op, dim, x.ndim)
    if any(x.shape[a] == 0 for a in axes):
        raise IndexError(f"{op}: cannot reduce over an empty dimension. Received: "
                         f"shape={x.shape}, dim={dim}")
    return axes


def max(
    x: Tensor, dim: Any = None, keepdim: bool = False, *, axis: int | None = None,
    keepdims: bool | None = None,
) -> Any:
    """PyTorch's ``max``, in its three forms.

    - ``max(x)``: the largest element, a 0-d tensor (tied maxima share the gradient).
    - ``max(x, dim, keepdim=False)``: a named tuple ``(values, indices)`` over one axis;
      the gradient goes to the element at ``indices``.
    - ``max(x, other)``: the elementwise maximum of two tensors.

    Example:
        >>> import shenjing as sj
        >>> values, indices = sj.max(sj.tensor([[1.0, 3.0], [2.0, 0.0]]), dim=1)
        >>> values.tolist(), indices.tolist()
        ([3.0, 2.0], [1, 0])
    """
    return _extreme("max", MaxDim, MaxResult, x, dim, keepdim, axis, keepdims)


def min(
    x: Tensor, dim: Any = None, keepdim: bool = False, *, axis: int | None = None,
    keepdims: bool | None = None,
) -> Any:
    """PyTorch's ``min``: ``min(x)`` the smallest element, ``min(x, dim)`` a named tuple
    ``(values, indices)``, ``min(x, other)`` the elementwise minimum (see ``max``)."""
    return _extreme("min", MaxDim, MinResult, x, dim, keepdim, axis, keepdims)


def _extreme(
    op: str, fn: type[Function], result: Any, x: Tensor, dim: Any, keepdim: bool,
    axis: Any, keepdims: bool | None,
) -> Any:
    if axis is not None or keepdims is not None:
        dim, keepdim = resolve_dim(op, dim, keepdim, axis, keepdims)
    if dim is None:  # the whole tensor: checked inline, as the common case
        if keepdim:
            raise TypeError(f"{op}: keepdim=True needs a dim. Received: dim=None")
        if not x.array.size:
            raise IndexError(f"{op}: cannot reduce an empty tensor. Received: shape={x.shape}")
        whole = Max if op == "max" else Min
        return whole.apply(x, axis=tuple(range(x.array.ndim)), keepdims=False)
    if isinstance(dim, Tensor):
        return maximum(x, dim) if op == "max" else minimum(x, dim)
    if not isinstance(dim, (int, np.integer)) or isinstance(dim, bool):
        raise TypeError(f"{op}: dim must be an int (use amax/amin for several). "
                        f"Received: dim={dim!r}")
    indices = _arg(op, x, int(dim), keepdim)
    if not x.ndim:
        return result(x * 1, indices)  # a copy, as PyTorch returns for a 0-d tensor
    position = _nonempty(op, x, int(dim))[0]
    values = fn.apply(x, indices, axis=position, keepdims=keepdim)
    return result(values, indices)


def _arg(op: str, x: Tensor, dim: int | None, keepdim: bool) -> Tensor:
    """The arg-max (or arg-min) over ``dim`` (the flattened tensor when None), int64."""
    axes = _nonempty(op, x, dim)
    # NOTE: under no_grad, so the int64 result never joins the autograd graph; a graph
    # being built still records it, so the indices follow the fed values.
    with no_grad():
        return ArgExtreme.apply(x, largest=op in ("max", "argmax"),
                                axis=None if dim is None or not x.ndim else axes[0],
                                keepdims=keepdim)


def argmax(
    x: Tensor, dim: int | None = None, keepdim: bool = False, *, axis: int | None = None,
    keepdims: bool | None = None,
) -> Tensor:
    """Index of the largest element over ``dim``; with no dim, into the flattened tensor.
    Ties give the first index. No gradient."""
    if axis is not None or keepdims is not None:
        dim, keepdim = resolve_dim("argmax", dim, keepdim, axis, keepdims)
    return _arg("argmax", x, dim, keepdim)


def argmin(
    x: Tensor, dim: int | None = None, keepdim: bool = False, *, axis: int | None = None,
    keepdims: bool | None = None,
) -> Tensor:
    """Index of the smallest element over ``dim`` (see ``argmax``)."""
    if axis is not None or keepdims is not None:
        dim, keepdim = resolve_dim("argmin", dim, keepdim, axis, keepdims)
    return _arg("argmin", x, dim, keepdim)


def _correction(op: str, dim: Any, unbiased: bool | None, correction: float | None) -> tuple:
    """(dim, correction) from PyTorch's two spellings: ``unbiased`` (True: 1, False: 0)
    or ``correction``; both default to the unbiased estimate. ``var(x, True)`` is the old
    form where the second argument is ``unbiased``."""
    if isinstance(dim, bool):
        if unbiased is not None:
            raise TypeError(f"{op}: got a bool dim={dim} and unbiased={unbiased}")
        dim, unbiased = None, dim
    if unbiased is not None:
        if correction is not None:
            raise TypeError(f"{op}: give unbiased or correction, not both. Received: "
                            f"unbiased={unbiased}, correction={correction}")
        return dim, 1 if unbiased else 0
    return dim, 1 if correction is None else correction


def var(
    x: Tensor, dim: Axis | bool = None, unbiased: bool | None = None, keepdim: bool = False,
    *, correction: float | None = None, axis: Axis = None, keepdims: bool | None = None,
) -> Tensor:
    """Variance over ``dim``: Σ (x - mean)² / (N - correction), as PyTorch's ``var``.

    ``correction=1`` (the default, or ``unbiased=True``) is the unbiased sample variance;
    ``correction=0`` (``unbiased=False``) the biased (population) variance. When
    N - correction <= 0 the result is nan or inf, with PyTorch's warning.

    Example:
        >>> import shenjing as sj
        >>> sj.var(sj.tensor([1.0, 2.0, 3.0, 4.0])).item()
        1.6666666269302368
    """
    return _var("var", x, dim, unbiased, keepdim, correction, axis, keepdims)


def _var(
    op: str, x: Tensor, dim: Any, unbiased: bool | None, keepdim: bool,
    correction: float | None, axis: Axis, keepdims: bool | None,
) -> Tensor:
    if axis is not None or keepdims is not None:
        dim, keepdim = resolve_dim(op, dim, keepdim, axis, keepdims)
    dim, correction = _correction(op, dim, unbiased, correction)
    _check_floating(op, x)
    axes = normalize_axis(op, dim, x.ndim)
    count = math.prod([x._sizes[a] for a in axes])
    if count - correction <= 0:
        warnings.warn(
            f"{op}(): degrees of freedom is <= 0. Correction should be strictly less than "
            f"the reduction factor (input numel divided by output numel).",
            UserWarning, stacklevel=3,
        )
    return Var.apply(x, axis=axes, keepdims=keepdim, count=count, correction=correction)


def std(
    x: Tensor, dim: Axis | bool = None, unbiased: bool | None = None, keepdim: bool = False,
    *, correction: float | None = None, axis: Axis = None, keepdims: bool | None = None,
) -> Tensor:
    """Standard deviation over ``dim``: √var, with ``var``'s arguments and defaults
    (unbiased unless ``correction=0`` or ``unbiased=False``)."""
    return sqrt(_var("std", x, dim, unbiased, keepdim, correction, axis, keepdims))


def var_mean(
    x: Tensor, dim: Axis | bool = None, unbiased: bool | None = None, keepdim: bool = False,
    *, correction: float | None = None, axis: Axis = None, keepdims: bool | None = None,
) -> tuple[Tensor, Tensor]:
    """``(var, mean)`` over ``dim``, as PyTorch's ``var_mean``."""
    if axis is not None or keepdims is not None:
        dim, keepdim = resolve_dim("var_mean", dim, keepdim, axis, keepdims)
    variance = _var("var_mean", x, dim, unbiased, keepdim, correction, None, None)
    return variance, mean(x, None if isinstance(dim, bool) else dim, keepdim)


def std_mean(
    x: Tensor, dim: Axis | bool = None, unbiased: bool | None = None, keepdim: bool = False,
    *, correction: float | None = None, axis: Axis = None, keepdims: bool | None = None,
) -> tuple[Tensor, Tensor]:
    """``(std, mean)`` over ``dim``, as PyTorch's ``std_mean``."""
    if axis is not None or keepdims is not None:
        dim, keepdim = resolve_dim("std_mean", dim, keepdim, axis, keepdims)
    variance = _var("std_mean", x, dim, unbiased, keepdim, correction, None, None)
    return sqrt(variance), mean(x, None if isinstance(dim, bool) else dim, keepdim)


def logsumexp(
    x: Tensor, dim: Axis = None, keepdim: bool = False, *, axis: Axis = None,
    keepdims: bool | None = None,
) -> Tensor:
    """log Σ exp(x) over ``dim`` (every axis when None), computed without overflow.

    Example:
        >>> import shenjing as sj
        >>> round(sj.logsumexp(sj.tensor([1000.0, 1000.0])).item(), 4)  # 1000 + log 2
        1000.6932
    """
    if axis is not None or keepdims is not None:
        dim, keepdim = resolve_dim("logsumexp", dim, keepdim, axis, keepdims)
    if _bfloat16.kind(x.array.dtype) not in "fc":  # integers give the default float, as in PyTorch
        x = x.float()
    return LogSumExp.apply(x, axis=normalize_axis("logsumexp", dim, x.ndim), keepdims=keepdim)
