"""Products: ``prod`` over a dimension and the running product ``cumprod``.

Both backward passes divide the output by an input when no input is zero (the cheap
form), and otherwise form the products of the other elements exactly, so a zero input
gets the gradient PyTorch gives it, not 0/0.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from shenjing import _bfloat16
from shenjing.autograd.function import Function
from shenjing.backend import get_array_module
from shenjing.ops._util import normalize_axis
from shenjing.ops.elementwise import astype
from shenjing.tensor import Tensor, as_tensor

__all__ = ["cumprod", "prod"]


class Prod(Function):
    """y = Πᵢ xᵢ over ``axis`` (all axes when None);  gxᵢ = gy · Π_{j≠i} xⱼ.

    Π_{j≠i} xⱼ is y / xᵢ when no factor is zero; with one zero it is the product of the
    others at the zero and 0 elsewhere; with two or more zeros it is 0 everywhere.
    """

    def forward(self, x: Any, axis: int | None, keepdims: bool) -> Any:
        self.x, self.axis, self.keepdims = x, axis, keepdims
        return x.prod(axis=axis, keepdims=keepdims)

    def backward(self, gy: Any) -> Any:
        xp = get_array_module(gy)
        x, axis = self.x, self.axis
        if not self.keepdims and axis is not None:
            gy = xp.expand_dims(gy, axis)
        is_zero = x == 0
        nonzero = xp.where(is_zero, 1, x)
        others_nonzero = nonzero.prod(axis=axis, keepdims=True)  # Π of the nonzero factors
        zeros = is_zero.sum(axis=axis, keepdims=True)
        at_the_zero = xp.where((zeros == 1) & is_zero, others_nonzero, 0)
        others = xp.where(zeros == 0, others_nonzero / nonzero, at_the_zero)
        return gy * others.astype(x.dtype)


class CumProd(Function):
    """yᵢ = Π_{k≤i} xₖ along ``axis``;  gxᵢ = Σ_{j≥i} gyⱼ · Π_{k≤j, k≠i} xₖ.

    Without zeros that is revcumsum(gy·y)ᵢ / xᵢ. With zeros, write the sum as
    (Π_{k<i} xₖ) · Sᵢ where Sᵢ = gyᵢ + x_{i+1}·S_{i+1}: a backward recurrence, run as one
    vectorised step per position along ``axis``.
    """

    def forward(self, x: Any, axis: int) -> Any:
        self.x, self.axis = x, axis
        self.y = get_array_module(x).cumprod(x, axis=axis)
        return self.y

    def backward(self, gy: Any) -> Any:
        xp = get_array_module(gy)
        x, y, axis = self.x, self.y, self.axis
        if not (x == 0).any():
            return xp.flip(xp.cumsum(xp.flip(gy * y, axis), axis), axis) / x
        xm = xp.moveaxis(x, axis, 0)
        gm = xp.moveaxis(gy, axis, 0)
        before = xp.ones_like(xm)  # Π_{k<i} xₖ
        before[1:] = xp.cumprod(xm[:-1], axis=0)
        s = xp.empty_like(gm)
        s[-1] = gm[-1]
        for i in range(len(gm) - 2, -1, -1):
            s[i] = gm[i] + xm[i + 1] * s[i + 1]
        return xp.moveaxis(before * s, 0, axis)


def _integers_to_int64(x: Tensor, dtype: Any) -> Tensor:
    """PyTorch sums and multiplies integers and booleans in int64; ``dtype`` overrides."""
    if dtype is not None:
        return astype(x, dtype)
    if _bfloat16.kind(x.dtype) in "biu" and x.dtype != np.int64:
        return astype(x, np.int64)
    return x


def prod(
    input: Tensor, dim: int | None = None, keepdim: bool = False, *, dtype: Any = None
) -> Tensor:
    """The product of the elements over ``dim`` (one dimension, or all when None).

    Example:
        >>> import shenjing as sj
        >>> sj.prod(sj.tensor([[1.0, 2.0], [3.0, 4.0]]), dim=1).tolist()
        [2.0, 12.0]
    """
    x = _integers_to_int64(as_tensor(input), dtype)
    if dim is None:
        return Prod.apply(x, axis=None, keepdims=False)
    if not isinstance(dim, int):
        raise TypeError(f"prod: dim must be one int or None. Received: {dim!r}")
    axis = normalize_axis("prod", dim, max(x.ndim, 1))[0] if x.ndim else None
    return Prod.apply(x, axis=axis, keepdims=keepdim and axis is not None)


def cumprod(input: Tensor, dim: int, *, dtype: Any = None) -> Tensor:
    """The running product along ``dim``: yᵢ = x₀·x₁·…·xᵢ."""
    x = _integers_to_int64(as_tensor(input), dtype)
    axis = normalize_axis("cumprod", dim, max(x.ndim, 1))[0]
    if x.ndim == 0:  # a 0-d tensor is scanned as one element
        return CumProd.apply(x.reshape(1), axis=0).reshape(())
    return CumProd.apply(x, axis=axis)
