"""The p-norm of a tensor over some dims: ``norm``, as PyTorch's ``torch.norm`` and
``Tensor.norm`` (which compute ``torch.linalg.vector_norm`` for every p but 'nuc')."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from shenjing.autograd.function import Function
from shenjing.backend import get_array_module
from shenjing.ops._util import normalize_axis
from shenjing.tensor import Tensor, as_tensor

__all__ = ["norm"]


class VectorNorm(Function):
    """y = (Σ |x|ᵖ)^(1/p) over ``axis`` (p = inf: max |x|; -inf: min |x|; 0: the count
    of nonzeros);  gx = gy · sign(x) |x|^(p−1) / y^(p−1), which is gy · x / y for p = 2
    and gy · sign(x) for p = 1; for ±inf gy · sign(x) shared equally among the elements
    where |x| = y; 0 for p = 0 and where y = 0."""

    def forward(self, x: Any, p: float, axis: tuple[int, ...], keepdims: bool) -> Any:
        xp = get_array_module(x)
        self.p, self.axis, self.keepdims = p, axis, keepdims
        a = xp.abs(x)
        if p == math.inf:
            y = a.max(axis=axis, keepdims=True)
        elif p == -math.inf:
            y = a.min(axis=axis, keepdims=True)
        elif p == 0:
            y = (x != 0).sum(axis=axis, keepdims=True).astype(x.dtype)
        elif p == 1:
            y = a.sum(axis=axis, keepdims=True)
        elif p == 2:
            y = xp.sqrt((x * x).sum(axis=axis, keepdims=True))
        else:
            with xp.errstate(divide="ignore"):  # 0 ** (p < 0) = inf, whose root is 0
                y = (a ** p).sum(axis=axis, keepdims=True) ** (1.0 / p)
        self.x, self.y = x, y
        return y if keepdims else y.reshape([n for i, n in enumerate(x.shape) if i not in axis])

    def backward(self, gy: Any) -> Any:
        xp = get_array_module(gy)
        x, y, p = self.x, self.y, self.p
        gy = gy.reshape(y.shape)
        if p == 0:
            return xp.zeros_like(x)
        if math.isinf(p):
            hit = xp.abs(x) == y
            share = hit / hit.sum(axis=self.axis, keepdims=True)
            return (gy * xp.sign(x) * share).astype(x.dtype)
        if p == 1:
            return gy * xp.sign(x)
        safe = xp.where(y == 0, 1.0, y).astype(x.dtype)
        if p == 2:
            gx = gy * x / safe
        else:
            with xp.errstate(divide="ignore", invalid="ignore"):
                gx = gy * xp.sign(x) * xp.abs(x) ** (p - 1.0) / safe ** (p - 1.0)
            gx = xp.where(xp.isfinite(gx), gx, 0.0).astype(x.dtype)
        return xp.where(y == 0, 0.0, gx).astype(x.dtype)


def norm(
    input: Tensor,
    p: float | str | None = "fro",
    dim: int | Sequence[int] | None = None,
    keepdim: bool = False,
    dtype: Any = None,
) -> Tensor:
    """The p-norm of ``input`` over ``dim`` (every element when None), as ``torch.norm``.

    ``p`` is a number (inf and -inf included; 0 counts nonzeros) or 'fro' (the 2-norm of
    the elements, whatever ``dim`` is); 'nuc' is not supported and raises. ``dtype``
    casts the input before the norm is taken.

    Example:
        >>> import shenjing as sj
        >>> sj.norm(sj.tensor([[3.0, 4.0]]), dim=1).tolist()
        [5.0]
    """
    x = as_tensor(input)
    if dtype is not None:
        x = x.type(dtype)
    if x.dtype.kind not in "fc":
        raise TypeError(f"norm: input must be floating point (cast it, or pass dtype=). "
                        f"Received: dtype={x.dtype}")
    if p is None or p == "fro":
        p = 2.0
    elif isinstance(p, str):
        raise NotImplementedError(f"norm: p={p!r} is not supported; give a number or 'fro'")
    elif isinstance(p, bool) or not isinstance(p, (int, float)) or math.isnan(p):
        raise TypeError(f"norm: p must be a number, 'fro' or None. Received: {p!r}")
    axes = normalize_axis("norm", dim, x.ndim)
    if math.isinf(p) and any(x.shape[a] == 0 for a in axes):
        raise ValueError(f"norm: p={p} over an empty dim has no value. Received: shape="
                         f"{x.shape}, dim={dim}")
    return VectorNorm.apply(x, p=float(p), axis=axes, keepdims=keepdim)
