"""Linear algebra: the matrix product, and the fully connected layer's fused x·Wᵀ + b.

These are where a network spends its time, so each does one GEMM per product: leading
(batch) axes are folded into the matrix rows wherever the weight is shared across them.
"""

from __future__ import annotations

import math
from typing import Any

from shenjing.autograd.function import Function
from shenjing.backend import get_array_module
from shenjing.ops._util import column_sums, unbroadcast
from shenjing.tensor import Tensor, as_tensor

__all__ = ["bmm", "dot", "linear", "matmul", "mm", "mv", "outer"]


class MatMul(Function):
    """y = a @ b with NumPy's rules: 1-D a is a row (k,) → (1, k), 1-D b a column
    (k,) → (k, 1), the added axis is dropped from y, and batch axes broadcast;
    ga = gy @ bᵀ, gb = aᵀ @ gy (each summed over the batch axes its input was broadcast
    along, and with the added axis dropped again).
    """

    def forward(self, a: Any, b: Any) -> Any:
        self.a, self.b = a, b
        try:
            return a @ b
        except ValueError:
            raise _matmul_error(a.shape, b.shape) from None

    def backward(self, gy: Any) -> tuple[Any, Any]:
        a, b = self.a, self.b
        if a.ndim == 2 and b.ndim == 2:
            ga = gy @ b.T if self.needs_input_grad[0] else None
            gb = a.T @ gy if self.needs_input_grad[1] else None
            return ga, gb
        # Put back the axes that 1-D operands lost, so every product below is a matrix one.
        if a.ndim == 1:
            a = a.reshape(1, -1)
            gy = gy.reshape(*gy.shape[:-1], 1, gy.shape[-1]) if b.ndim > 1 else gy.reshape(1)
        if b.ndim == 1:
            b = b.reshape(-1, 1)
            gy = gy.reshape(*gy.shape, 1)
        ga = gb = None
        if self.needs_input_grad[0]:
            ga = unbroadcast(gy @ b.swapaxes(-1, -2), a.shape).reshape(self.a.shape)
        if self.needs_input_grad[1]:
            if b.ndim == 2:  # b shared by every batch: one GEMM over the batch-folded rows
                # NOTE: explicit sizes, not -1, which NumPy cannot infer when k = 0.
                folded = math.prod(a.shape[:-1])
                gb = a.reshape(folded, a.shape[-1]).T @ gy.reshape(folded, gy.shape[-1])
            else:
                gb = unbroadcast(a.swapaxes(-1, -2) @ gy, b.shape)
            gb = gb.reshape(self.b.shape)
        return ga, gb


def _matmul_error(a_shape: tuple[int, ...], b_shape: tuple[int, ...]) -> ValueError:
    shapes = f"shapes {a_shape} and {b_shape}"
    if not a_shape or not b_shape:
        return ValueError(f"matmul: 0-d operands are not allowed (use mul). Received: {shapes}")
    inner_a, inner_b = a_shape[-1], b_shape[0 if len(b_shape) == 1 else -2]
    if inner_a != inner_b:
        b_axis = len(b_shape) - 1 if len(b_shape) == 1 else len(b_shape) - 2
        return ValueError(
            f"matmul: {shapes} are not aligned: {inner_a} (axis {len(a_shape) - 1} of the "
            f"first) != {inner_b} (axis {b_axis} of the second)"
        )
    return ValueError(f"matmul: the batch axes of {shapes} cannot be broadcast together")


class Linear(Function):
    """y = x @ Wᵀ + b for W of shape (out, in) and x of shape (..., in);
    gx = gy @ W,  gW = gyᵀ @ x,  gb = Σ gy over every axis but the last
    (x and gy folded to 2-D, so each gradient is one GEMM).
    """

    def forward(self, x: Any, w: Any, b: Any = None) -> Any:
        self.x, self.w = x, w
        xp = get_array_module(x)
        # dot, not @: on 2-D operands they agree, and dot calls BLAS with less overhead.
        if x.ndim > 2:  # one GEMM over all rows, not one per leading index
            y = xp.dot(x.reshape(-1, x.shape[-1]), w.T).reshape(*x.shape[:-1], w.shape[0])
        else:
            y = xp.dot(x, w.T)
        if b is not None:
            y += b  # y is freshly allocated, so the bias is added in place
        return y

    def backward(self, gy: Any) -> tuple[Any, ...]:
        x, w = self.x, self.w
        needs = self.needs_input_grad
        if gy.ndim != 2:
            gy = gy.reshape(-1, gy.shape[-1])
        xp = get_array_module(gy)
        gx = xp.dot(gy, w).reshape(x.shape) if needs[0] else None
        gw = xp.dot(gy.T, x.reshape(-1, x.shape[-1])) if needs[1] else None
        if len(needs) == 2:
            return gx, gw
        return gx, gw, (column_sums(gy) if needs[2] else None)


# ----------------------------------------------------------------- the functions


def matmul(a: Any, b: Any) -> Tensor:
    """The matrix product a @ b, exactly as NumPy's ``matmul``: 2-D @ 2-D is the matrix
    product, 1-D operands act as a row (left) or column (right) vector, and leading batch
    axes broadcast.

    Example:
        >>> import shenjing as sj
        >>> (sj.ones(2, 3) @ sj.ones(3)).tolist()
        [3.0, 3.0]
    """
    return MatMul.apply(as_tensor(a), as_tensor(b))


def _ranks(op: str, expected: tuple[int, ...], *tensors: Tensor) -> None:
    """PyTorch's rank rules for the fixed-rank products (mm, bmm, dot, mv, outer)."""
    if tuple(t.ndim for t in tensors) != expected:
        shapes = ", ".join(str(t.shape) for t in tensors)
        raise ValueError(f"{op}: expects tensors of {' and '.join(map(str, expected))} dims. "
                         f"Received: shapes {shapes}")


def mm(input: Tensor, mat2: Tensor) -> Tensor:
    """The product of two matrices, (n, k) @ (k, m); no broadcasting, as PyTorch's ``mm``."""
    input, mat2 = as_tensor(input), as_tensor(mat2)
    _ranks("mm", (2, 2), input, mat2)
    return MatMul.apply(input, mat2)


def bmm(input: Tensor, mat2: Tensor) -> Tensor:
    """A batch of matrix products, (b, n, k) @ (b, k, m), with equal batch sizes."""
    input, mat2 = as_tensor(input), as_tensor(mat2)
    _ranks("bmm", (3, 3), input, mat2)
    if input.shape[0] != mat2.shape[0]:
        raise ValueError(f"bmm: batch sizes differ. Received: shapes {input.shape}, "
                         f"{mat2.shape}")
    return MatMul.apply(input, mat2)


def dot(input: Tensor, other: Tensor) -> Tensor:
    """Σᵢ aᵢ bᵢ of two 1-D tensors of one length, a 0-d tensor."""
    input, other = as_tensor(input), as_tensor(other)
    _ranks("dot", (1, 1), input, other)
    return MatMul.apply(input, other)


def mv(input: Tensor, vec: Tensor) -> Tensor:
    """The product of a matrix (n, m) and a vector (m,), of shape (n,)."""
    input, vec = as_tensor(input), as_tensor(vec)
    _ranks("mv", (2, 1), input, vec)
    return MatMul.apply(input, vec)


def outer(input: Tensor, vec2: Tensor) -> Tensor:
    """yᵢⱼ = aᵢ bⱼ of two 1-D tensors: a column (n, 1) @ a row (1, m)."""
    input, vec2 = as_tensor(input), as_tensor(vec2)
    _ranks("outer", (1, 1), input, vec2)
    return MatMul.apply(input.reshape(-1, 1), vec2.reshape(1, -1))


def linear(x: Tensor, w: Tensor, b: Tensor | None = None) -> Tensor:
    """The fully connected layer y = x @ wᵀ + b, with PyTorch's layout: ``w`` is
    (out_features, in_features), ``b`` is (out_features,), ``x`` is (..., in_features).

    Example:
        >>> import shenjing as sj
        >>> sj.linear(sj.ones(5, 3), sj.ones(4, 3), sj.zeros(4)).shape
        (5, 4)
    """
    if w.ndim != 2 or x.ndim == 0 or x.shape[-1] != w.shape[1]:
        raise ValueError(
            f"linear: x's last axis must equal the weight's in_features (weight is "
            f"(out_features, in_features)). Received: x shape={x.shape}, "
            f"weight shape={w.shape}"
        )
    if b is None:
        return Linear.apply(x, w)
    if b.shape != (w.shape[0],):
        raise ValueError(
            f"linear: bias must have shape (out_features,) = ({w.shape[0]},). Received: "
            f"bias shape={b.shape}"
        )
    return Linear.apply(x, w, b)
