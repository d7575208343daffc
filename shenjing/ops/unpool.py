"""``max_unpool1d`` / ``max_unpool2d``: the partial inverse of max pooling, as PyTorch's.

Each pooled value goes back to where its maximum came from (the indices that
``max_pool(..., return_indices=True)`` gives, flat within each (n, c) plane), and every
other position is zero.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from shenjing.autograd.function import Function
from shenjing.backend import get_array_module, on_host
from shenjing.ops.conv import to_pair
from shenjing.tensor import Tensor, as_tensor

__all__: list[str] = []  # F.max_unpool*: functional names only, as in PyTorch


class MaxUnpool(Function):
    """y[n, c, index[n, c, k]] = x[n, c, k] on planes of ``size`` zeros (flattened);
    gx[n, c, k] = gy[n, c, index[n, c, k]]. With repeated indices, which write wins is
    unspecified (as in PyTorch)."""

    def forward(self, x: Any, index: Any, size: int) -> Any:
        xp = get_array_module(x)
        n, c = x.shape[:2]
        self.index, self.x_shape = index.reshape(n, c, -1), x.shape
        y = xp.zeros((n, c, size), dtype=x.dtype)
        rows = xp.arange(n)[:, None, None], xp.arange(c)[None, :, None]
        y[rows[0], rows[1], self.index] = x.reshape(n, c, -1)
        return y

    def backward(self, gy: Any) -> Any:
        xp = get_array_module(gy)
        return xp.take_along_axis(gy, self.index, axis=2).reshape(self.x_shape)


def _max_unpool(op: str, input: Any, indices: Any, kernel: tuple[int, ...],  # noqa: A002
                stride: tuple[int, ...], padding: tuple[int, ...],
                output_size: Sequence[int] | None) -> Tensor:
    x, index = as_tensor(input), as_tensor(indices)
    spatial = len(kernel)
    if x.ndim not in (spatial + 1, spatial + 2):
        raise ValueError(f"{op}: expected {spatial + 2}-D (batched) or {spatial + 1}-D input. "
                         f"Received: shape={x.shape}")
    if index.shape != x.shape or index.dtype.kind not in "iu":
        raise ValueError(f"{op}: indices must be integers of the input's shape {x.shape}. "
                         f"Received: shape={index.shape}, dtype={index.dtype}")
    unbatched = x.ndim == spatial + 1
    if unbatched:
        x, index = x.reshape((1, *x.shape)), index.reshape((1, *index.shape))
    default = tuple((n - 1) * s - 2 * p + k for n, s, p, k in
                    zip(x.shape[2:], stride, padding, kernel, strict=True))
    if output_size is None:
        out = default
    else:
        out = tuple(int(n) for n in output_size)[-spatial:]
        if len(out) != spatial or any(
                not d - s <= o <= d + s for o, d, s in zip(out, default, stride, strict=True)):
            raise ValueError(f"{op}: output_size {tuple(output_size)} must be within a stride "
                             f"of the default {default}")
    size = 1
    for n in out:
        size *= n
    if on_host(index.array) and index.array.size and (
            int(index.array.min()) < 0 or int(index.array.max()) >= size):
        raise ValueError(f"{op}: an index is out of range for the output size {out}. "
                         f"Received: indices in [{int(index.array.min())}, "
                         f"{int(index.array.max())}]")
    y = MaxUnpool.apply(x, index=index.array.astype("int64"), size=size)
    y = y.reshape((*x.shape[:2], *out))
    return y.reshape(y.shape[1:]) if unbatched else y


def max_unpool2d(input: Tensor, indices: Tensor, kernel_size: Any, stride: Any = None,  # noqa: A002
                 padding: Any = 0, output_size: Sequence[int] | None = None) -> Tensor:
    """Put each value of (N, C, H, W) ``input`` back at its ``indices`` (from
    ``max_pool2d(..., return_indices=True)``) in zeros of the pooled input's size:
    ((H − 1)·stride − 2·padding + kernel, ...) unless ``output_size`` says otherwise.

    Example:
        >>> import shenjing as sj
        >>> import shenjing.nn.functional as F
        >>> y, i = F.max_pool2d(sj.tensor([[[[1.0, 2.0], [4.0, 3.0]]]]), 2,
        ...                     return_indices=True)
        >>> F.max_unpool2d(y, i, 2).tolist()
        [[[[0.0, 0.0], [4.0, 0.0]]]]
    """
    op = "max_unpool2d"
    kernel = to_pair(op, "kernel_size", kernel_size, 1)
    steps = kernel if stride is None else to_pair(op, "stride", stride, 1)
    return _max_unpool(op, input, indices, kernel, steps, to_pair(op, "padding", padding, 0),
                       output_size)


def max_unpool1d(input: Tensor, indices: Tensor, kernel_size: Any, stride: Any = None,  # noqa: A002
                 padding: Any = 0, output_size: Sequence[int] | None = None) -> Tensor:
    """``max_unpool2d`` for (N, C, L) input and the indices of ``max_pool1d``."""
    op = "max_unpool1d"
    kernel = (to_pair(op, "kernel_size", kernel_size, 1)[0],)
    steps = kernel if stride is None else (to_pair(op, "stride", stride, 1)[0],)
    return _max_unpool(op, input, indices, kernel, steps,
                       (to_pair(op, "padding", padding, 0)[0],), output_size)
