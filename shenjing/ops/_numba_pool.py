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

``sj.compile`` runs a convolution's bias, ReLU and 2x2 max pooling as one step
(``graph/fusion_pool.py``); its two kernels, ``_bias_relu_max2_forward`` and
``_relu_max2_backward``, are here: the same select, on z + b, with the ReLU on the
maximum, and the four pixels of a window read (or written) in one loop along the batch.
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


@kernel
def _max2_forward(x: Any, y: Any, arg: Any) -> None:  # pragma: no cover - compiled
    # ``_max_forward`` for 2x2 windows at stride 2: the four rows of a window read in one
    # loop, the maximum kept in a register (four times faster than a pass per offset).
    channels, height, width, batch = y.shape
    for c in range(channels):
        for i in range(height):
            for j in range(width):
                best = y[c, i, j]
                where = arg[c, i, j]
                r0, r1 = x[c, 2 * i, 2 * j], x[c, 2 * i, 2 * j + 1]
                r2, r3 = x[c, 2 * i + 1, 2 * j], x[c, 2 * i + 1, 2 * j + 1]
                for n in range(batch):
                    m = r0[n]
                    k = np.int32(0)
                    v = r1[n]
                    take = (m == m) & ((v > m) | (v != v))  # as in ``_max_forward``
                    m = v if take else m
                    k = np.int32(1) if take else k
                    v = r2[n]
                    take = (m == m) & ((v > m) | (v != v))
                    m = v if take else m
                    k = np.int32(2) if take else k
                    v = r3[n]
                    take = (m == m) & ((v > m) | (v != v))
                    m = v if take else m
                    k = np.int32(3) if take else k
                    where[n] = k if m == m else np.int32(-1)
                    best[n] = m


@kernel
def _bias_relu_max2_forward(z: Any, b: Any, y: Any,
                            arg: Any) -> None:  # pragma: no cover - compiled
    # ``_max_forward`` of z + b[c] over 2x2 windows at stride 2, then the ReLU of each
    # maximum: relu(max(z + b)) = max(relu(z + b)), as the ReLU is monotone. The four
    # rows of a window are read in one loop, so the maximum stays in a register.
    channels, height, width, batch = y.shape
    zero = y.dtype.type(0)
    for c in range(channels):
        bc = b[c]
        for i in range(height):
            for j in range(width):
                best = y[c, i, j]
                where = arg[c, i, j]
                r0, r1 = z[c, 2 * i, 2 * j], z[c, 2 * i, 2 * j + 1]
                r2, r3 = z[c, 2 * i + 1, 2 * j], z[c, 2 * i + 1, 2 * j + 1]
                for n in range(batch):
                    m = r0[n] + bc
                    k = np.int32(0)
                    v = r1[n] + bc
                    take = (m == m) & ((v > m) | (v != v))  # as in ``_max_forward``
                    m = v if take else m
                    k = np.int32(1) if take else k
                    v = r2[n] + bc
                    take = (m == m) & ((v > m) | (v != v))
                    m = v if take else m
                    k = np.int32(2) if take else k
                    v = r3[n] + bc
                    take = (m == m) & ((v > m) | (v != v))
                    m = v if take else m
                    k = np.int32(3) if take else k
                    where[n] = k if m == m else np.int32(-1)
                    best[n] = zero if m < zero else m  # the ReLU's formula


@kernel
def _relu_max2_backward(gy: Any, y: Any, arg: Any, gz: Any,
                        gb: Any) -> None:  # pragma: no cover - compiled
    # Each pixel of a 2x2 window gets its output's gradient, through the ReLU (y > 0),
    # where it held the first maximum, and 0 elsewhere; the bias gradient sums the
    # gradients through the ReLU, one float64 lane per sample. Loops of one store and
    # two loads each: with more arrays in one loop, LLVM's alias checks give up on SIMD
    # (one loop writing the four pixels was ten times slower).
    channels, height, width, batch = gy.shape
    zero = gy.dtype.type(0)
    sums = np.empty(batch, np.float64)
    g = np.empty(batch, gy.dtype)
    for c in range(channels):
        sums[:] = 0.0
        for i in range(height):
            for j in range(width):
                g_row, top, where = gy[c, i, j], y[c, i, j], arg[c, i, j]
                for n in range(batch):
                    g[n] = g_row[n] if top[n] > zero else zero
                for n in range(batch):
                    sums[n] += g[n]
                for k in range(4):
                    out = gz[c, 2 * i + k // 2, 2 * j + k % 2]
                    for n in range(batch):
                        out[n] = g[n] if where[n] == k else zero
        gb[c] = sums.sum()


def bias_relu_max2_forward(zt: Any, bias: Any) -> tuple[Any, Any]:
    """(y, argmax offsets) of ``relu(max_pool(zt + bias))`` over 2x2 windows at stride 2
    (no padding) of a (C, H, W, N) zt: y as (C, H // 2, W // 2, N)."""
    zt = np.ascontiguousarray(zt)
    shape = (zt.shape[0], zt.shape[1] // 2, zt.shape[2] // 2, zt.shape[3])
    y = np.empty(shape, zt.dtype)
    arg = np.empty(shape, np.int32)
    _bias_relu_max2_forward(zt, np.ascontiguousarray(bias), y, arg)
    return y, arg


def relu_max2_backward(gyt: Any, y: Any, arg: Any,
                       z_shape: tuple[int, ...]) -> tuple[Any, Any]:
    """(gz, gb): the gradients of ``bias_relu_max2_forward``'s z (C, H, W, N) and bias
    from its output's."""
    gyt = np.ascontiguousarray(gyt)
    odd = z_shape[1] % 2 or z_shape[2] % 2
    gz = (np.zeros if odd else np.empty)(z_shape, gyt.dtype)  # a last odd row/column: 0
    gb = np.empty(z_shape[0], gyt.dtype)
    _relu_max2_backward(gyt, y, arg, gz, gb)
    return gz, gb


def max_forward(xt: Any, kernel_size: tuple[int, int], stride: tuple[int, int],
                dilation: tuple[int, int], out_size: tuple[int, int]) -> tuple[Any, Any]:
    """(y, argmax offsets) of a padded (C, H, W, N) array: y as (C, H_out, W_out, N)."""
    xt = np.ascontiguousarray(xt)
    shape = (xt.shape[0], out_size[0], out_size[1], xt.shape[3])
    y = np.empty(shape, xt.dtype)
    arg = np.empty(shape, np.int32)
    if kernel_size == stride == (2, 2) and dilation == (1, 1):
        _max2_forward(xt, y, arg)  # the common pooling (offset k = 2p + q, as below)
    else:
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
