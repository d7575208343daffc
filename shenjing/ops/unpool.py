"""Max unpooling (PyTorch's ``max_unpool1d/2d/3d``): the partial inverse of max pooling.

Each pooled value goes back to the place its maximum came from (``max_pool*d`` with
``return_indices=True``); every other output element is zero.
"""

from __future__ import annotations

from typing import Any

from shenjing.autograd.function import Function
from shenjing.backend import get_array_module
from shenjing.ops.conv3d import to_tuple
from shenjing.tensor import Tensor, as_tensor

__all__ = ["max_unpool1d", "max_unpool2d", "max_unpool3d"]


class MaxUnpool(Function):
    """y[n, c, idx[n,c,i]] = x[n,c,i] (flat over the output's spatial axes), 0 elsewhere;
    gx[n,c,i] = gy[n, c, idx[n,c,i]]."""

    def forward(self, x: Any, indices: Any, *, out_size: tuple[int, ...]) -> Any:
        xp = get_array_module(x)
        n, c = x.shape[:2]
        y = xp.zeros((n, c, _prod(out_size)), x.dtype)
        self.where = (xp.arange(n)[:, None, None], xp.arange(c)[None, :, None],
                      indices.reshape(n, c, -1))
        y[self.where] = x.reshape(n, c, -1)
        self.x_shape = x.shape
        return y.reshape(n, c, *out_size)

    def backward(self, gy: Any) -> tuple[Any, None]:
        n, c = gy.shape[:2]
        return gy.reshape(n, c, -1)[self.where].reshape(self.x_shape), None


def _prod(sizes: tuple[int, ...]) -> int:
    out = 1
    for s in sizes:
        out *= s
    return out


def _unpool(op: str, dims: int, x: Any, indices: Any, kernel_size: Any, stride: Any,
            padding: Any, output_size: Any) -> Tensor:
    x, indices = as_tensor(x), as_tensor(indices)
    if x.ndim != dims + 2:
        raise ValueError(f"{op} expects {dims + 2}-D input (N, C, spatial...). Received: "
                         f"shape={x.shape}")
    if tuple(indices.shape) != tuple(x.shape) or indices.dtype.kind not in "iu":
        raise ValueError(f"{op}: indices must be an integer tensor of the input's shape. "
                         f"Received: input {x.shape}, indices {indices.shape} "
                         f"{indices.dtype}")
    kernel = to_tuple(op, "kernel_size", kernel_size, 1, dims)
    steps = kernel if stride is None else to_tuple(op, "stride", stride, 1, dims)
    pads = to_tuple(op, "padding", padding, 0, dims)
    default = tuple((n - 1) * s - 2 * p + k for n, s, p, k in
                    zip(x.shape[2:], steps, pads, kernel, strict=True))
    if output_size is None:
        out = default
    else:
        out = tuple(int(v) for v in output_size)
        if len(out) == dims + 2:
            out = out[2:]
        if len(out) != dims:
            raise ValueError(f"{op}: output_size must have {dims} or {dims + 2} elements. "
                             f"Received: {tuple(output_size)}")
        for o, d, s in zip(out, default, steps, strict=True):
            if not d - s < o < d + s:
                raise ValueError(
                    f"{op}: invalid output_size {out} (dim {o} must be between {d - s + 1} "
                    f"and {d + s - 1})")
    idx = indices.array
    if idx.size and (int(idx.min()) < 0 or int(idx.max()) >= _prod(out)):
        raise ValueError(f"{op}: found an invalid max index {int(idx.max())} (output volume "
                         f"{out} has {_prod(out)} elements)")
    return MaxUnpool.apply(x, indices, out_size=out)


def max_unpool1d(input: Tensor, indices: Tensor, kernel_size: Any, stride: Any = None,
                 padding: Any = 0, output_size: Any = None) -> Tensor:
    """Partial inverse of ``max_pool1d``: (N, C, L_in) values placed at their ``indices``
    in zeros of length L_out = (L_in − 1)·s − 2·pad + k (or ``output_size``).

    Example:
        >>> import shenjing as sj
        >>> y, i = sj.nn.functional.max_pool1d(sj.arange(4.0).reshape(1, 1, 4), 2,
        ...                                    return_indices=True)
        >>> sj.nn.functional.max_unpool1d(y, i, 2).numpy().ravel().tolist()
        [0.0, 1.0, 0.0, 3.0]
    """
    return _unpool("max_unpool1d", 1, input, indices, kernel_size, stride, padding, output_size)


def max_unpool2d(input: Tensor, indices: Tensor, kernel_size: Any, stride: Any = None,
                 padding: Any = 0, output_size: Any = None) -> Tensor:
    """Partial inverse of ``max_pool2d``: (N, C, H, W) values placed at their flat
    ``indices`` (row·W_out + column) in zeros of size H_out = (H − 1)·s − 2·pad + kH
    (likewise W), or ``output_size``."""
    return _unpool("max_unpool2d", 2, input, indices, kernel_size, stride, padding, output_size)


def max_unpool3d(input: Tensor, indices: Tensor, kernel_size: Any, stride: Any = None,
                 padding: Any = 0, output_size: Any = None) -> Tensor:
    """Partial inverse of ``max_pool3d``, as ``max_unpool2d`` with three spatial axes."""
    return _unpool("max_unpool3d", 3, input, indices, kernel_size, stride, padding, output_size)
