"""Adaptive max pooling: a fixed output size, with PyTorch's windows
⌊i·n/m⌋ … ⌈(i+1)·n/m⌉ - 1 along each axis.

The windows differ in length by at most one, so each is gathered at the longest length,
a short window repeating its last element (a repeat never changes a maximum). One fancy
index gathers every window; the backward adds each window's gradient onto its maximum's
input position with one ``bincount`` (neighbouring windows may share a position).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from shenjing.autograd.function import Function
from shenjing.backend import get_array_module
from shenjing.tensor import Tensor, as_tensor

__all__ = ["adaptive_max_pool1d", "adaptive_max_pool2d"]


def _window_index(n: int, m: int) -> np.ndarray:
    """(m, K) input positions of each adaptive window, padded by repeating its last."""
    start = (np.arange(m) * n) // m
    end = -((-(np.arange(m) + 1) * n) // m)
    longest = int((end - start).max())
    return np.minimum(start[:, None] + np.arange(longest), end[:, None] - 1)


class AdaptiveMaxPool(Function):
    """y[n,c,i,j] = max of x[n,c] over window (i, j);  gx[n,c,h*,w*] += gy[n,c,i,j] at
    each window's first maximum (h*, w*)."""

    def forward(self, x: Any, rows: Any, cols: Any) -> Any:
        xp = get_array_module(x)
        n, c, h, w = x.shape
        rows, cols = xp.asarray(rows), xp.asarray(cols)
        # (N, C, m_h, K_h, m_w, K_w) windows, then the K_h·K_w candidates last
        windows = x[:, :, rows[:, :, None, None], cols[None, None, :, :]]
        mh, kh, mw, kw = windows.shape[2:]
        flat = windows.transpose(0, 1, 2, 4, 3, 5).reshape(n, c, mh, mw, kh * kw)
        best = flat.argmax(axis=-1)
        r = rows[xp.arange(mh)[:, None], best // kw]
        q = cols[xp.arange(mw), best % kw]
        self.index = r * w + q  # flat position in each (h, w) plane
        self.x_shape = x.shape
        return xp.take_along_axis(flat, best[..., None], axis=-1)[..., 0]

    def backward(self, gy: Any) -> Any:
        xp = get_array_module(gy)
        n, c, h, w = self.x_shape
        planes = xp.arange(n * c).reshape(n, c, 1, 1) * (h * w)
        gx = xp.bincount((planes + self.index).reshape(-1), weights=gy.reshape(-1),
                         minlength=n * c * h * w)
        return gx.reshape(self.x_shape).astype(gy.dtype, copy=False)


def _sizes(op: str, output_size: Any, spatial: tuple[int, ...]) -> list[int]:
    sizes = tuple(output_size) if isinstance(output_size, (tuple, list)) else (
        output_size,) * len(spatial)
    if len(sizes) != len(spatial):
        raise ValueError(f"{op}: output_size must have {len(spatial)} entries. Received: "
                         f"{output_size!r}")
    out = [n if m is None else int(m) for n, m in zip(spatial, sizes, strict=True)]
    if min(out) < 1 or min(spatial) < 1:
        raise ValueError(f"{op}: sizes must be positive. Received: output_size "
                         f"{output_size!r} for input size {spatial}")
    return out


def adaptive_max_pool2d(
    input: Tensor,
    output_size: int | Sequence[int | None],
    return_indices: bool = False,
) -> Any:
    """Max pooling of (N, C, H, W) to ``output_size`` (None keeps that size), with
    PyTorch's adaptive windows; ``return_indices`` also gives each maximum's flat index
    row·W + column in its input plane (int64).

    Example:
        >>> import shenjing as sj
        >>> sj.adaptive_max_pool2d(sj.randn(2, 3, 7, 5), (3, 2)).shape
        (2, 3, 3, 2)
    """
    x = as_tensor(input)
    if x.ndim != 4:
        raise ValueError(f"adaptive_max_pool2d expects 4-D input (N, C, H, W). Received: "
                         f"shape={x.shape}")
    out = _sizes("adaptive_max_pool2d", output_size, x.shape[2:])
    rows, cols = (_window_index(n, m) for n, m in zip(x.shape[2:], out, strict=True))
    y = AdaptiveMaxPool.apply(x, rows=rows, cols=cols)
    if not return_indices:
        return y
    return y, Tensor._make(_indices(x, rows, cols), None)


def _indices(x: Tensor, rows: np.ndarray, cols: np.ndarray) -> Any:
    """The flat maximum positions, recomputed (a graph-free call keeps no op state)."""
    fn = AdaptiveMaxPool()
    fn.forward(x.array, rows, cols)
    return fn.index.astype(np.int64)


def adaptive_max_pool1d(
    input: Tensor,
    output_size: int,
    return_indices: bool = False,
) -> Any:
    """Max pooling of (N, C, L) to ``output_size`` with PyTorch's adaptive windows."""
    x = as_tensor(input)
    if x.ndim != 3:
        raise ValueError(f"adaptive_max_pool1d expects 3-D input (N, C, L). Received: "
                         f"shape={x.shape}")
    (size,) = _sizes("adaptive_max_pool1d", output_size, x.shape[2:])
    image = x.reshape((*x.shape[:2], 1, x.shape[2]))
    result = adaptive_max_pool2d(image, (1, size), return_indices)
    if not return_indices:
        return result.reshape((*x.shape[:2], size))
    y, index = result
    return y.reshape((*x.shape[:2], size)), Tensor._make(index.array[:, :, 0, :], None)
