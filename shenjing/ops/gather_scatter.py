"""Indexing by index tensors: gather and the scatters, index_select, take, masked
selection and filling, and nonzero.

Reading at indices (gather, index_select, take) has a backward that *adds* the gradient
back at the same indices, so an index read twice gets both contributions. Writing at
indices (scatter) has a backward that reads the gradient there.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from shenjing import _bfloat16
from shenjing.autograd.function import Function
from shenjing.backend import get_array_module
from shenjing.ops._nograd import without_gradient
from shenjing.ops._util import normalize_axis, open_grid
from shenjing.ops.elementwise import where
from shenjing.ops.indexing import getitem
from shenjing.ops.shape import broadcast_to, reshape
from shenjing.tensor import Tensor, as_tensor

__all__ = [
    "gather", "index_select", "masked_fill", "masked_select", "nonzero", "scatter",
    "scatter_add", "scatter_reduce", "take",
]


def along(index: Any, axis: int) -> tuple[Any, ...]:
    """The advanced index that picks, at each position p of ``index``, the element whose
    coordinate on ``axis`` is index[p] and whose other coordinates are p's own."""
    xp = get_array_module(index)
    grid = open_grid(xp, index.shape)
    grid[axis] = index
    return tuple(grid)


def add_at(shape: tuple[int, ...], where: tuple[Any, ...], values: Any) -> Any:
    """zeros(shape) with ``values`` added at the advanced index ``where`` (repeats add up).

    The same as ``xp.add.at`` on zeros, through one ``bincount`` of the flat positions,
    which NumPy runs several times faster; it sums in float64, then casts back.
    """
    xp = get_array_module(values)
    flat = 0
    stride = 1
    for n, index in zip(reversed(shape), reversed(where), strict=True):
        flat = flat + index * stride
        stride *= n
    flat = xp.broadcast_to(flat, values.shape)
    summed = xp.bincount(flat.reshape(-1), weights=values.reshape(-1), minlength=stride)
    return summed.reshape(shape).astype(values.dtype)


class Gather(Function):
    """y[p] = x[p with its ``axis`` coordinate replaced by index[p]];
    gx = zeros with gy added at those positions (repeats add up)."""

    def forward(self, x: Any, index: Any, axis: int) -> Any:
        self.x_shape, self.where_ = x.shape, along(index, axis)
        return x[self.where_]

    def backward(self, gy: Any) -> Any:
        return add_at(self.x_shape, self.where_, gy)


class ScatterReduce(Function):
    """y = x with src[p] combined into y[p with its ``axis`` coordinate = index[p]]:
    replaced ("none", PyTorch's scatter), or reduced by sum, prod, mean, amax, amin,
    starting from x (``include_self``) or from the reduction's identity.

    gx = gy at positions nothing was scattered to; at the others, and for gsrc:
    none: gx = 0, gsrc = gy[p'];  sum: gy;  mean: gy / count;
    prod: gy · y / (the contributor), with exact products of the others at zeros;
    amax/amin: gy shared evenly among the contributors equal to y.
    """

    def forward(self, x: Any, src: Any, index: Any, axis: int, reduce: str,
                include_self: bool) -> Any:
        xp = get_array_module(x)
        self.reduce, self.include_self = reduce, include_self
        self.to = to = along(index, axis)
        # src may be larger than index: only its leading index.shape block is scattered.
        self.src_shape, self.src_part = src.shape, tuple(slice(0, n) for n in index.shape)
        self.src = src = src[self.src_part]
        self.hit = xp.zeros(x.shape, dtype=bool)
        self.hit[to] = True
        self.x = x
        if reduce == "none":
            y = x.copy()
            y[to] = src
            return y
        identity = {"sum": 0, "mean": 0, "prod": 1, "amax": -np.inf, "amin": np.inf}[reduce]
        y = x.copy() if include_self else xp.where(self.hit, x.dtype.type(identity), x)
        if reduce in ("sum", "mean") and _bfloat16.kind(src.dtype) == "f":
            y += add_at(x.shape, to, src)  # the fast path of ufunc.at for sums
        else:
            ufunc = {"sum": xp.add, "mean": xp.add, "prod": xp.multiply, "amax": xp.maximum,
                     "amin": xp.minimum}[reduce]
            ufunc.at(y, to, src)
        if reduce == "mean":
            self.count = count = xp.ones(x.shape, dtype=x.dtype)
            if not include_self:
                count[self.hit] = 0
            xp.add.at(count, to, 1)
            y = y / count if _bfloat16.kind(y.dtype) == "f" else y // count
        self.y = y
        return y

    def backward(self, gy: Any) -> tuple[Any, Any]:
        xp = get_array_module(gy)
        to, x, src, reduce = self.to, self.x, self.src, self.reduce
        zero = gy.dtype.type(0)
        # Where x's own element is one of the contributors to y.
        self_in = ~self.hit if reduce == "none" or not self.include_self else None
        if reduce in ("none", "sum", "mean"):
            if reduce == "mean":
                gy = gy / self.count
            gx = gy if self_in is None else xp.where(self_in, gy, zero)
            gsrc = gy[to]
        elif reduce == "prod":
            gx, gsrc = self._prod_grads(gy, self_in)
        else:  # amax, amin: shared evenly among the contributors equal to y
            y = self.y
            self_ties = x == y if self_in is None else self_in & (x == y)
            src_ties = src == y[to]
            count = self_ties.astype(gy.dtype)
            xp.add.at(count, to, src_ties.astype(gy.dtype))
            share = gy / xp.maximum(count, 1)
            gx = xp.where(self_ties, share, zero)
            gsrc = xp.where(src_ties, share[to], zero)
        gsrc_full = None
        if self.needs_input_grad[1]:
            gsrc_full = xp.zeros(self.src_shape, dtype=gy.dtype)
            gsrc_full[self.src_part] = gsrc
        return gx, gsrc_full

    def _prod_grads(self, gy: Any, self_in: Any) -> tuple[Any, Any]:
        """Π of the other contributors, exactly, through nonzero products and zero counts."""
        xp = get_array_module(gy)
        x, src, to = self.x, self.src, self.to
        if self_in is None:
            self_in = xp.ones(x.shape, dtype=bool)
        nonzero_product = xp.where(self_in & (x != 0), x, 1).astype(gy.dtype)
        xp.multiply.at(nonzero_product, to, xp.where(src != 0, src, 1))
        zeros = (self_in & (x == 0)).astype(np.int64)
        xp.add.at(zeros, to, (src == 0).astype(np.int64))

        def others(value: Any, product: Any, count: Any) -> Any:
            safe = xp.where(value != 0, value, 1)
            at_zero = xp.where((count == 1) & (value == 0), product, 0)
            return xp.where(count == 0, product / safe, at_zero)

        gx = xp.where(self_in, gy * others(x, nonzero_product, zeros), 0)
        gsrc = gy[to] * others(src, nonzero_product[to], zeros[to])
        return gx, gsrc


class IndexSelect(Function):
    """y = x[..., index, ...] with ``index`` (1-D) on ``axis``;
    gx = zeros with gy added back at the selected positions (repeats add up)."""

    def forward(self, x: Any, index: Any, axis: int) -> Any:
        self.x_shape, self.where_ = x.shape, (slice(None),) * axis + (index,)
        return get_array_module(x).take(x, index, axis=axis)

    def backward(self, gy: Any) -> Any:
        xp = get_array_module(gy)
        gx = xp.zeros(self.x_shape, dtype=gy.dtype)
        xp.add.at(gx, self.where_, gy)
        return gx


# ----------------------------------------------------------------- the functions


def _index_tensor(op: str, index: Any) -> Tensor:
    index = as_tensor(index)
    if _bfloat16.kind(index.dtype) not in "iu":
        raise TypeError(f"{op}: index must be an integer tensor. Received: dtype={index.dtype}")
    return index


def _check_along(op: str, x: Tensor, index: Tensor, dim: int, src: Tensor | None) -> int:
    """PyTorch's rules: one rank for all; index no larger than x off ``dim`` (and than
    src everywhere); every index within x's size on ``dim``."""
    axis = normalize_axis(op, dim, max(x.ndim, 1))[0]
    if index.ndim != x.ndim or (src is not None and src.ndim != x.ndim):
        shapes = f"input {x.shape}, index {index.shape}" + (
            f", src {src.shape}" if src is not None else "")
        raise ValueError(f"{op}: input, index and src must have the same rank. Received: {shapes}")
    for d, n in enumerate(index.shape):
        if (d != axis and n > x.shape[d]) or (src is not None and n > src.shape[d]):
            raise ValueError(
                f"{op}: index shape {index.shape} is larger than input {x.shape}"
                + (f" or src {src.shape}" if src is not None else "") + f" off dim {dim}"
            )
    _check_range(op, index, x.shape[axis] if x.ndim else 1, f"size {{}} of dim {dim}")
    return axis


def _check_range(op: str, index: Tensor, size: int, what: str) -> None:
    """Every index in [−size, size), as PyTorch requires (negatives count from the end)."""
    xp = get_array_module(index.array)
    if index.numel() and not (xp.all(index.array >= -size) and xp.all(index.array < size)):
        low, high = int(index.array.min()), int(index.array.max())
        raise IndexError(
            f"{op}: index out of range for {what.format(size)}. Received: indices from "
            f"{low} to {high}"
        )


def gather(input: Tensor, dim: int, index: Tensor) -> Tensor:
    """``y[i][j][k] = x[index[i][j][k]][j][k]`` for dim=0 (likewise for other dims).

    Example:
        >>> import shenjing as sj
        >>> sj.gather(sj.tensor([[1.0, 2.0], [3.0, 4.0]]), 1, sj.tensor([[1], [0]])).tolist()
        [[2.0], [3.0]]
    """
    x, index = as_tensor(input), _index_tensor("gather", index)
    if x.ndim == 0 and index.ndim == 0:  # one element, as in PyTorch
        return gather(x.reshape(1), dim, index.reshape(1)).reshape(())
    axis = _check_along("gather", x, index, dim, None)
    return Gather.apply(x, index=index.array % max(x.shape[axis], 1), axis=axis)


def _scatter(op: str, input: Any, dim: int, index: Any, src: Any, reduce: str,
             include_self: bool = True) -> Tensor:
    x, index = as_tensor(input), _index_tensor(op, index)
    if not isinstance(src, Tensor):  # a number: scattered at every index
        src = Tensor._make(get_array_module(x.array).full(index.shape, src, dtype=x.dtype), None)
    if src.dtype != x.dtype:
        raise TypeError(f"{op}: src must have input's dtype {x.dtype}. Received: {src.dtype}")
    if x.ndim == 0 and index.ndim == 0:  # one element, as in PyTorch
        one = _scatter(op, x.reshape(1), dim, index.reshape(1), src.reshape(1), reduce,
                       include_self)
        return one.reshape(())
    axis = _check_along(op, x, index, dim, src)
    return ScatterReduce.apply(x, src, index=index.array % max(x.shape[axis], 1), axis=axis,
                               reduce=reduce, include_self=include_self)


def scatter(input: Tensor, dim: int, index: Tensor, src: Any = None, *, value: Any = None,
            reduce: str | None = None) -> Tensor:
    """A copy of x with ``y[index[i][j]][j] = src[i][j]`` for dim=0 (src a tensor, or
    ``value`` a number); with repeated indices, which write wins is unspecified.
    ``reduce='add'`` or ``'multiply'`` instead adds src into (multiplies it into) x's
    values there, repeats included, as ``scatter_reduce`` with 'sum' or 'prod'."""
    if (src is None) == (value is None):
        raise TypeError("scatter: give exactly one of src (a tensor) and value (a number)")
    modes = {None: "none", "add": "sum", "multiply": "prod"}
    if reduce not in modes:
        raise ValueError(f"scatter: reduce must be 'add' or 'multiply'. Received: {reduce!r}")
    if reduce == "multiply" and get_array_module(input.array).__name__ == "cupy":
        raise NotImplementedError("scatter: reduce='multiply' is not available on a GPU yet "
                                  "(see scatter_reduce); move the tensors to the CPU")
    return _scatter("scatter", input, dim, index, value if src is None else src, modes[reduce])


def scatter_add(input: Tensor, dim: int, index: Tensor, src: Tensor) -> Tensor:
    """A copy of x with ``src[i][j]`` added to ``y[index[i][j]][j]`` for dim=0; repeats add up."""
    return _scatter("scatter_add", input, dim, index, src, "sum")


def scatter_reduce(input: Tensor, dim: int, index: Tensor, src: Tensor, reduce: str, *,
                   include_self: bool = True) -> Tensor:
    """x with every ``src[i][j]`` reduced into ``y[index[i][j]][j]`` (dim=0) by ``reduce``:
    "sum", "prod", "mean", "amax" or "amin"; ``include_self`` says whether x's own
    values at the positions scattered to take part."""
    if reduce not in ("sum", "prod", "mean", "amax", "amin"):
        raise ValueError(
            f"scatter_reduce: reduce must be 'sum', 'prod', 'mean', 'amax' or 'amin'. "
            f"Received: {reduce!r}"
        )
    if reduce in ("prod", "amax", "amin") and get_array_module(input.array).__name__ == "cupy":
        # NOTE: on the H200, CuPy's multiply/maximum/minimum ``ufunc.at`` gave numbers
        # that differ from the CPU's in the parity suite: refuse rather than differ.
        raise NotImplementedError(
            f"scatter_reduce: reduce={reduce!r} is not available on a GPU yet; use 'sum' or "
            f"'mean', or move the tensors to the CPU. Received: device={input.device}"
        )
    return _scatter("scatter_reduce", input, dim, index, src, reduce, include_self)


def index_select(input: Tensor, dim: int, index: Tensor) -> Tensor:
    """The entries of x at the (1-D) ``index`` along ``dim``."""
    x, index = as_tensor(input), _index_tensor("index_select", index)
    if index.ndim > 1:
        raise ValueError(f"index_select: index must be 0-d or 1-D. Received: shape={index.shape}")
    axis = normalize_axis("index_select", dim, max(x.ndim, 1))[0]
    if x.ndim == 0:
        return getitem(x.reshape(1), index.array.reshape(-1)).reshape(())
    size = x.shape[axis]
    _check_range("index_select", index, size, f"size {{}} of dim {dim}")
    return IndexSelect.apply(x, index=index.array.reshape(-1) % max(size, 1), axis=axis)


def take(input: Tensor, index: Tensor) -> Tensor:
    """The elements of x, read as 1-D, at ``index``; the result has index's shape."""
    x, index = as_tensor(input), _index_tensor("take", index)
    flat = reshape(x, (-1,))
    _check_range("take", index, x.numel(), "a tensor of {} elements")
    return getitem(flat, index)


def _mask(op: str, x: Tensor, mask: Any) -> Tensor:
    mask = as_tensor(mask)
    if _bfloat16.kind(mask.dtype) != "b":
        raise TypeError(f"{op}: mask must be boolean. Received: dtype={mask.dtype}")
    return mask


def masked_fill(input: Tensor, mask: Tensor, value: Any) -> Tensor:
    """x with ``value`` (a number or 0-d tensor) wherever ``mask`` is true; mask must
    broadcast to x's shape."""
    x = as_tensor(input)
    mask = _mask("masked_fill", x, mask)
    value = as_tensor(value, x)
    if value.ndim != 0:
        raise ValueError(f"masked_fill: value must be a number or 0-d. Received: {value.shape}")
    try:
        shape = np.broadcast_shapes(mask.shape, x.shape)
    except ValueError:
        shape = None
    if shape != x.shape:
        raise ValueError(f"masked_fill: mask {mask.shape} does not broadcast to input {x.shape}")
    return where(mask, value, x)


def masked_select(input: Tensor, mask: Tensor) -> Tensor:
    """The elements of x (broadcast with mask) where mask is true, as a 1-D tensor."""
    x = as_tensor(input)
    mask = _mask("masked_select", x, mask)
    try:
        shape = np.broadcast_shapes(mask.shape, x.shape)
    except ValueError:
        raise ValueError(f"masked_select: mask {mask.shape} and input {x.shape} do not "
                         "broadcast together") from None
    if x.shape != shape:
        x = broadcast_to(x, shape)
    if mask.shape != shape:
        mask = broadcast_to(mask, shape)
    return getitem(x, mask)


def nonzero(input: Tensor, *, as_tuple: bool = False) -> Any:
    """The indices of the nonzero elements: an (n, ndim) int64 tensor, or with
    ``as_tuple`` one 1-D tensor per dimension (a 0-d tensor counts as 1-D then)."""
    x = as_tensor(input)
    if as_tuple:
        found = without_gradient(_positions, x.reshape(1) if x.ndim == 0 else x)
        return tuple(found[:, d] for d in range(max(x.ndim, 1)))
    return without_gradient(_positions, x)


def _positions(x: Any) -> Any:
    """The (n, ndim) indices of the nonzero elements of x; (n, 0) for a 0-d x."""
    xp = get_array_module(x)
    if x.ndim == 0:
        return xp.zeros((int(x != 0), 0), dtype=np.int64)
    return xp.argwhere(x).astype(np.int64)
