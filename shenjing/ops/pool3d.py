"""3-D max and average pooling, on the N-d window view of ``conv3d.py``.

An (N, C, D, H, W) input is moved to the batch-innermost layout (C, D, H, W, N) and its
windows viewed, without a copy, as (C, kD, kH, kW, D_out, H_out, W_out, N). Pooling folds
the kD·kH·kW offsets pairwise with ``maximum`` / ``add`` (as ``pool.py`` does); the
backward pass adds the output gradient back through one strided slice per offset.
Output sizes, ceil_mode and the averaging divisors follow ``pool.py`` (PyTorch's rules).
"""

from __future__ import annotations

import itertools
import math
from typing import Any

import numpy as np

from shenjing.autograd.function import Function
from shenjing.backend import get_array_module
from shenjing.ops.conv3d import (
    Pads,
    Sizes,
    from_batch_inner_nd,
    nd_output_size,
    offset_index,
    to_batch_inner_nd,
    to_tuple,
    windows_nd,
)
from shenjing.ops.pool import _counts, _out_length, fold
from shenjing.tensor import Tensor, as_tensor

__all__ = ["avg_pool3d", "max_pool3d"]


class _Pool3d(Function):
    """Shared by max and average pooling: the window view and the per-offset scatter."""

    def _views(self, x: Any, kernel: Sizes, stride: Sizes, padding: Pads, dilation: Sizes,
               out: Sizes, fill: float) -> list[Any]:
        xt = to_batch_inner_nd(x, padding, fill)
        self.geometry = (kernel, stride, padding, dilation, out, xt.shape)
        windows = windows_nd(xt, kernel, stride, dilation, out)
        return [windows[(slice(None), *o)] for o in itertools.product(*map(range, kernel))]

    def _scatter(self, gy: Any, masks: list[Any] | None = None) -> Any:
        xp = get_array_module(gy)
        kernel, stride, padding, dilation, out, padded_shape = self.geometry
        gyt = xp.ascontiguousarray(gy.transpose(1, 2, 3, 4, 0))
        gxt = xp.zeros(padded_shape, gy.dtype)
        for i, offset in enumerate(itertools.product(*map(range, kernel))):
            gxt[offset_index(offset, dilation, stride, out)] += (
                gyt if masks is None else gyt * masks[i])
        return from_batch_inner_nd(gxt, padding)


class MaxPool3d(_Pool3d):
    """y[n,c,a,i,j] = max_{r,p,q} x_pad[n, c, a·s_d + r·d_d, i·s_h + p·d_h, j·s_w + q·d_w]
    (padding is −∞); gx gets gy at each window's first maximum in row-major offset order
    (PyTorch's tie rule), summed over the windows that share a pixel.
    """

    def forward(self, x: Any, *, kernel: Sizes, stride: Sizes, padding: Pads,
                dilation: Sizes, out: Sizes) -> Any:
        xp = get_array_module(x)
        views = self._views(x, kernel, stride, padding, dilation, out, -float("inf"))
        yt = fold(xp.maximum, views)
        yt = yt.copy() if len(views) == 1 else yt
        if hasattr(self, "needs_input_grad"):  # recording: keep the first-max masks
            taken = None
            self.masks = []
            for view in views:
                hit = view == yt
                if taken is None:
                    taken = hit.copy()
                else:
                    hit = xp.greater(hit, taken)
                    taken |= hit
                self.masks.append(hit)
        return yt.transpose(4, 0, 1, 2, 3)

    def backward(self, gy: Any) -> Any:
        return self._scatter(gy, self.masks)


class AvgPool3d(_Pool3d):
    """y[n,c,a,i,j] = (1 / D_aij) Σ_{r,p,q} x_pad[n, c, a·s_d + r, i·s_h + p, j·s_w + q]
    (padding is 0); gx[window pixels] += gy / D_aij. D is kD·kH·kW, or the (D_out, H_out,
    W_out) array ``divisor`` that ceil_mode, count_include_pad=False or divisor_override
    give, as PyTorch counts.
    """

    def forward(self, x: Any, *, kernel: Sizes, stride: Sizes, padding: Pads, out: Sizes,
                divisor: Any = None) -> Any:
        xp = get_array_module(x)
        views = self._views(x, kernel, stride, padding, (1, 1, 1), out, 0.0)
        yt = fold(xp.add, views)
        yt = yt.copy() if len(views) == 1 else yt
        if divisor is None:
            self.divisor = 1.0 / math.prod(kernel)
            yt *= self.divisor
        else:
            self.divisor = 1.0 / xp.asarray(divisor, dtype=x.dtype)[None, :, :, :]
            yt *= self.divisor[0][..., None]
        return yt.transpose(4, 0, 1, 2, 3)

    def backward(self, gy: Any) -> Any:
        return self._scatter(gy * self.divisor)


# ------------------------------------------------------------- the functions


def _geometry(op: str, x: Tensor, kernel: Sizes, stride: Sizes, padding: Sizes,
              dilation: Sizes, ceil_mode: bool) -> tuple[Pads, Sizes]:
    """The (with ceil_mode, uneven) padding and the output size; PyTorch's checks."""
    if x.ndim != 5:
        raise ValueError(f"{op} expects 5-D input (N, C, D, H, W). Received: shape={x.shape}")
    extent = tuple(d * (k - 1) + 1 for d, k in zip(dilation, kernel, strict=True))
    if any(p > e // 2 for p, e in zip(padding, extent, strict=True)):
        raise ValueError(f"{op}: padding must be at most half the kernel size. Received: "
                         f"padding={padding}, kernel_size={kernel}")
    in_size = tuple(x.shape[2:])
    nd_output_size(op, in_size, kernel, stride, tuple((p, p) for p in padding), dilation)
    out = tuple(_out_length(n, k, s, p, d, ceil_mode) for n, k, s, p, d in
                zip(in_size, kernel, stride, padding, dilation, strict=True))
    extra = [max(0, (o - 1) * s + e - (n + 2 * p)) for o, s, e, n, p in
             zip(out, stride, extent, in_size, padding, strict=True)]
    return tuple((p, p + e) for p, e in zip(padding, extra, strict=True)), out


def _indices(x: Tensor, kernel: Sizes, stride: Sizes, pads: Pads, dilation: Sizes,
             out: Sizes) -> Tensor:
    """Where each window's first maximum sits, as a flat index into its D·H·W volume."""
    xp = get_array_module(x.array)
    windows = windows_nd(to_batch_inner_nd(x.array, pads, -float("inf")), kernel, stride,
                         dilation, out)
    n, c = x.shape[:2]
    flat = windows.transpose(7, 0, 4, 5, 6, 1, 2, 3).reshape(n, c, *out, -1)
    k = flat.argmax(axis=-1)
    index = xp.zeros(k.shape, np.int64)
    rest = k
    for axis in range(3):
        inner = math.prod(kernel[axis + 1:])
        shape = [1, 1, 1]
        shape[axis] = out[axis]
        start = xp.arange(out[axis]).reshape(shape) * stride[axis] - pads[axis][0]
        coord = start + (rest // inner) * dilation[axis]
        rest = rest % inner
        index = index * x.shape[2 + axis] + coord
    return Tensor._make(index.astype(np.int64), None)


def max_pool3d(
    input: Tensor,
    kernel_size: int | Sizes,
    stride: int | Sizes | None = None,
    padding: int | Sizes = 0,
    dilation: int | Sizes = 1,
    ceil_mode: bool = False,
    return_indices: bool = False,
) -> Any:
    """3-D max pooling of an (N, C, D, H, W) batch, as PyTorch's.

    y[n,c,a,i,j] = max over the kD·kH·kW window (−∞ padding, dilation between its
    elements); the gradient flows to each window's first maximum. With
    ``return_indices`` also returns int64 flat indices a·H·W + i·W + j into each input
    volume, as ``max_unpool3d`` reads them.

    Example:
        >>> import shenjing as sj
        >>> sj.max_pool3d(sj.ones(1, 2, 4, 4, 4), 2).shape
        (1, 2, 2, 2, 2)
    """
    op = "max_pool3d"
    x = as_tensor(input)
    kernel = to_tuple(op, "kernel_size", kernel_size, 1)
    steps = kernel if stride is None else to_tuple(op, "stride", stride, 1)
    spacing = to_tuple(op, "dilation", dilation, 1)
    pads, out = _geometry(op, x, kernel, steps, to_tuple(op, "padding", padding, 0), spacing,
                          bool(ceil_mode))
    y = MaxPool3d.apply(x, kernel=kernel, stride=steps, padding=pads, dilation=spacing, out=out)
    if not return_indices:
        return y
    return y, _indices(x, kernel, steps, pads, spacing, out)


def avg_pool3d(
    input: Tensor,
    kernel_size: int | Sizes,
    stride: int | Sizes | None = None,
    padding: int | Sizes = 0,
    ceil_mode: bool = False,
    count_include_pad: bool = True,
    divisor_override: int | None = None,
) -> Tensor:
    """3-D average pooling of an (N, C, D, H, W) batch, as PyTorch's.

    y = (1/D) Σ over the kD·kH·kW window of the zero-padded input. D is kD·kH·kW by
    default; with ``count_include_pad=False`` only the input's own elements count; with
    ``ceil_mode`` windows hanging past the padding count what they cover;
    ``divisor_override`` replaces D outright.

    Example:
        >>> import shenjing as sj
        >>> sj.avg_pool3d(sj.ones(1, 2, 4, 4, 4), 2).shape
        (1, 2, 2, 2, 2)
    """
    op = "avg_pool3d"
    x = as_tensor(input)
    kernel = to_tuple(op, "kernel_size", kernel_size, 1)
    steps = kernel if stride is None else to_tuple(op, "stride", stride, 1)
    pad = to_tuple(op, "padding", padding, 0)
    pads, out = _geometry(op, x, kernel, steps, pad, (1, 1, 1), bool(ceil_mode))
    divisor = None
    if divisor_override is not None:
        if not isinstance(divisor_override, int) or divisor_override < 1:
            raise ValueError(f"{op}: divisor_override must be a positive int. Received: "
                             f"{divisor_override!r}")
        divisor = np.full(out, float(divisor_override))
    elif ceil_mode or not count_include_pad:
        counts = [_counts(n, k, s, p, o, bool(count_include_pad)) for n, k, s, p, o in
                  zip(x.shape[2:], kernel, steps, pad, out, strict=True)]
        divisor = np.einsum("a,b,c->abc", *counts).astype(np.float64)
        if (divisor == math.prod(kernel)).all():
            divisor = None
    return AvgPool3d.apply(x, kernel=kernel, stride=steps, padding=pads, out=out,
                           divisor=divisor)
