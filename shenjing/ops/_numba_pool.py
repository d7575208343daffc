"""``pool.py``'s max pooling as compiled loops (the CPU kernel tier).

NumPy's max pooling folds the kH·kW window offsets pairwise with ``maximum``, then builds
one boolean mask per offset (the windows whose first maximum sits there), and its
backward writes the gradient through the masks, one strided pass per offset: about
3·kH·kW passes over memory. Here the forward is one pass that keeps, per output, the
offset k = p·kW + q of its window's first maximum (−1 where the maximum is NaN, which
NumPy's masks never match), and the backward one pass that sends each output gradient
to that offset:

    y[c,i,j,n] = max_{p,q} x[c, i·s_h + p·d_h, j·s_w + q·d_w, n],  k* = the first argmax
    gx[c, i·s_h + p·d_h, j·s_w + q·d_w, n] (+)= gy[c,i,j,n] if k*[c,i,j,n] = p·kW + q

on (C, H, W, N) arrays (the padding, −∞, already in x). The inner loop runs along the
batch, as selects, which vectorise. The backward visits the offsets in NumPy's order, so
where windows overlap a pixel's sum is added in the same order as NumPy's.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from shenjing import kernels
from shenjing.kernels import kernel


def wanted(x: Any) -> bool:
    """Whether max pooling of this array runs as the kernels."""
    return (type(x) is np.ndarray and x.dtype in (np.float32, np.float64)
            and kernels.enabled())


@kernel
def _max_forward(x: Any, y: Any, arg: Any, kh: int, kw: int, sh: int, sw: int, dh: int,
                 dw: int) -> None:  # pragma: no cover - compiled
    channels, height, width, batch = y.shape
    for c in range(channels):
        for i in range(height):
            for j in range(width):
                best = y[c, i, j]
                where = arg[c, i, j]
                first = x[c, i * sh, j * sw]
                for n in range(batch):
                    best[n] = first[n]
                    where[n] = 0
                for p in range(kh):
                    for q in range(kw):
                        if p == 0 and q == 0:
                            continue
                        k = p * kw + q
                        row = x[c, i * sh + p * dh, j * sw + q * dw]
                        for n in range(batch):
                            v = row[n]
                            m = best[n]
                            # NumPy's maximum: a NaN wins and stays; ties keep the first.
                            # (Bitwise, not ``and``/``or``: no branches, so it vectorises.)
                            take = (m == m) & ((v > m) | (v != v))
                            best[n] = v if take else m
                            where[n] = k if take else where[n]
                for n in range(batch):
                    where[n] = where[n] if best[n] == best[n] else -1


@kernel
def _max_backward(gy: Any, arg: Any, gx: Any, kh: int, kw: int, sh: int, sw: int, dh: int,
                  dw: int, overlapping: bool) -> None:  # pragma: no cover - compiled
    channels, height, width, batch = gy.shape
    zero = gx.dtype.type(0)
    for c in range(channels):
        for p in range(kh):
            for q in range(kw):
                k = p * kw + q
                for i in range(height):
                    for j in range(width):
                        g = gy[c, i, j]
                        where = arg[c, i, j]
                        out = gx[c, i * sh + p * dh, j * sw + q * dw]
                        if overlapping:  # a pixel may sit in several windows: add
                            for n in range(batch):
                                out[n] += g[n] if where[n] == k else zero
                        else:
                            for n in range(batch):
                                out[n] = g[n] if where[n] == k else zero


def max_forward(xt: Any, kernel_size: tuple[int, int], stride: tuple[int, int],
                dilation: tuple[int, int], out_size: tuple[int, int]) -> tuple[Any, Any]:
    """(y, argmax offsets) of a padded (C, H, W, N) array: y as (C, H_out, W_out, N)."""
    xt = np.ascontiguousarray(xt)
    shape = (xt.shape[0], out_size[0], out_size[1], xt.shape[3])
    y = np.empty(shape, xt.dtype)
    arg = np.empty(shape, np.int32)
    _max_forward(xt, y, arg, *kernel_size, *stride, *dilation)
    return y, arg


def max_backward(gyt: Any, arg: Any, padded_shape: tuple[int, ...],
                 kernel_size: tuple[int, int], stride: tuple[int, int],
                 dilation: tuple[int, int]) -> Any:
    """The padded (C, H, W, N) input gradient from a (C, H_out, W_out, N) one."""
    gyt = np.ascontiguousarray(gyt)
    ho, wo = gyt.shape[1:3]
    extent = [d * (k - 1) + 1 for d, k in zip(dilation, kernel_size, strict=True)]
    overlapping = stride[0] < extent[0] or stride[1] < extent[1]
    # Windows that tile the whole input write every pixel once: nothing to zero first.
    tiled = (not overlapping and dilation == (1, 1) and stride == kernel_size
             and padded_shape[1:3] == (ho * kernel_size[0], wo * kernel_size[1]))
    gx = (np.empty if tiled else np.zeros)(padded_shape, gyt.dtype)
    _max_backward(gyt, arg, gx, *kernel_size, *stride, *dilation, overlapping)
    return gx
