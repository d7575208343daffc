"""Diagonals and triangles of matrices: diagonal, diag, tril, triu.

Each selects or places elements without arithmetic, so each backward moves the gradient
back to where its element came from.
"""

from __future__ import annotations

from typing import Any

from shenjing.autograd.function import Function
from shenjing.backend import get_array_module
from shenjing.ops._util import normalize_axis
from shenjing.tensor import Tensor, as_tensor

__all__ = ["diag", "diagonal", "tril", "triu"]


def _diagonal_positions(n: int, m: int, offset: int, xp: Any) -> tuple[Any, Any]:
    """Row and column indices of diagonal ``offset`` of an n×m matrix."""
    length = max(0, min(n + min(offset, 0), m - max(offset, 0)))
    steps = xp.arange(length)
    return steps + max(-offset, 0), steps + max(offset, 0)


class Diagonal(Function):
    """y[..., k] = x[..., i_k, j_k] for the diagonal ``offset`` of the matrices spanned
    by axes (axis1, axis2), those axes removed and the diagonal put last;
    gx = zeros with gy written back on that diagonal."""

    def forward(self, x: Any, offset: int, axis1: int, axis2: int) -> Any:
        xp = get_array_module(x)
        self.x_shape, self.axes = x.shape, (axis1, axis2)
        self.rows, self.cols = _diagonal_positions(x.shape[axis1], x.shape[axis2], offset, xp)
        return xp.moveaxis(x, (axis1, axis2), (-2, -1))[..., self.rows, self.cols]

    def backward(self, gy: Any) -> Any:
        xp = get_array_module(gy)
        gx = xp.zeros(self.x_shape, dtype=gy.dtype)
        xp.moveaxis(gx, self.axes, (-2, -1))[..., self.rows, self.cols] = gy  # a view of gx
        return gx


class DiagEmbed(Function):
    """y = the square matrix with x (1-D) on its diagonal ``offset`` and zeros elsewhere;
    gx = that diagonal of gy."""

    def forward(self, x: Any, offset: int) -> Any:
        xp = get_array_module(x)
        n = x.shape[0] + abs(offset)
        self.rows, self.cols = _diagonal_positions(n, n, offset, xp)
        y = xp.zeros((n, n), dtype=x.dtype)
        y[self.rows, self.cols] = x
        return y

    def backward(self, gy: Any) -> Any:
        return gy[self.rows, self.cols]


class Triangle(Function):
    """y = x where ``keep`` (the lower or upper triangle of the last two axes), else 0;
    gx = gy where ``keep``, else 0."""

    def forward(self, x: Any, keep: Any) -> Any:
        self.keep = keep
        return get_array_module(x).where(keep, x, x.dtype.type(0))

    def backward(self, gy: Any) -> Any:
        return get_array_module(gy).where(self.keep, gy, gy.dtype.type(0))


def diagonal(input: Tensor, offset: int = 0, dim1: int = 0, dim2: int = 1) -> Tensor:
    """The diagonal ``offset`` (above the main one when positive) of the matrices over
    dims (dim1, dim2), as a new last dimension.

    Example:
        >>> import shenjing as sj
        >>> sj.diagonal(sj.tensor([[1.0, 2.0], [3.0, 4.0]])).tolist()
        [1.0, 4.0]
    """
    x = as_tensor(input)
    if x.ndim < 2:
        raise ValueError(f"diagonal: expects at least 2 dimensions. Received: shape={x.shape}")
    axis1 = normalize_axis("diagonal", dim1, x.ndim)[0]
    axis2 = normalize_axis("diagonal", dim2, x.ndim)[0]
    if axis1 == axis2:
        raise ValueError(f"diagonal: dim1 and dim2 must differ. Received: {dim1} and {dim2}")
    return Diagonal.apply(x, offset=offset, axis1=axis1, axis2=axis2)


def diag(input: Tensor, diagonal: int = 0) -> Tensor:
    """A 1-D x becomes a square matrix with x on diagonal ``diagonal``; a 2-D x gives
    that diagonal as a 1-D tensor."""
    x = as_tensor(input)
    if x.ndim == 1:
        return DiagEmbed.apply(x, offset=diagonal)
    if x.ndim == 2:
        return Diagonal.apply(x, offset=diagonal, axis1=0, axis2=1)
    raise ValueError(f"diag: expects a 1-D or 2-D tensor. Received: shape={x.shape}")


def _triangle(op: str, input: Any, diagonal: int, lower: bool) -> Tensor:
    x = as_tensor(input)
    if x.ndim < 2:
        raise ValueError(f"{op}: expects at least 2 dimensions. Received: shape={x.shape}")
    n, m = x.shape[-2:]
    xp = get_array_module(x.array)
    below = xp.tri(n, m, diagonal if lower else diagonal - 1, dtype=bool)
    return Triangle.apply(x, keep=below if lower else ~below)


def tril(input: Tensor, diagonal: int = 0) -> Tensor:
    """The lower triangle of the last two dims: elements on and below diagonal
    ``diagonal`` kept, the rest zero."""
    return _triangle("tril", input, diagonal, lower=True)


def triu(input: Tensor, diagonal: int = 0) -> Tensor:
    """The upper triangle: elements on and above diagonal ``diagonal`` kept."""
    return _triangle("triu", input, diagonal, lower=False)
