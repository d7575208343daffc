"""Direct convolution loops on batch-innermost rows (the CPU kernel tier).

On (C, H, W, N) arrays a row of an image is W·N contiguous floats, and the kernel's taps
along a row, (p, q) for q = 0..kW−1, read the same input row shifted by q·N. So a
stride-1, undilated convolution is a sum of shifted row products with no im2col copy:

    y[k, i, :] = Σ_c Σ_p Σ_q w[k,c,p,q] · x[c, i + p − shift, q·N : q·N + W_out·N]

(``correlate``; rows outside x count as zero; each output row starts from the bias, so
adding it costs no pass of its own). Each pass over an output row takes four
taps, from anywhere in (c, p, q), for two output channels at once: the four shifted
input rows are loaded once for both, and each output row is loaded and stored once per
four taps, so the loop is held by the FMA units rather than by loads and stores. The
same loop gives the input gradient as the correlation of the output gradient, padded by
kW − 1 on both sides of its rows and by kH − 1 rows above and below (``shift``), with
the kernel flipped and its two channel axes swapped. The weight gradient is the
matching dot products,

    gw[k,c,p,q] = Σ_i  gy[k, i, :] · x[c, i + p, q·N : q·N + W_out·N]

four taps of two output channels per pass over two rows of gy (eight dot products
sharing their loads), reassociated so they vectorise, each row's dot product added into
a float64 total.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from shenjing import kernels
from shenjing.kernels import SAFE_FASTMATH, kernel

MIN_BATCH = 16
"""Smaller batches keep im2col: at a batch of one the rows are W floats long and the
loops' set-up costs more than the copy (LeNet-5's second layer: 0.2 ms direct, 0.07 ms
im2col + GEMM)."""


def wanted(x: Any, weight: Any, stride: tuple[int, int], dilation: tuple[int, int],
           groups: int) -> bool:
    """Whether a convolution runs as the direct kernels: the tier on, NumPy float arrays
    of one dtype, stride 1, no dilation, one group, a batch of at least ``MIN_BATCH``."""
    return (type(x) is np.ndarray and type(weight) is np.ndarray
            and x.dtype in (np.float32, np.float64) and weight.dtype == x.dtype
            and stride == (1, 1) and dilation == (1, 1) and groups == 1
            and x.shape[0] >= MIN_BATCH and kernels.enabled())


@kernel
def _correlate(x: Any, w: Any, b: Any, y: Any,
               shift: int) -> None:  # pragma: no cover - compiled
    out_channels, channels, kh, kw = w.shape
    _, height, width, batch = y.shape
    rows = x.shape[1]
    row_size = x.shape[2] * batch
    xf = x.reshape(-1)
    wf = w.reshape(out_channels, channels * kh * kw)
    y3 = y.reshape(out_channels, height, width * batch)
    run = width * batch
    # Per output row, its taps (c, p, q) whose input row exists: where each starts in x
    # and which weight it takes. Taps are taken four at a time across (c, p, q), so a
    # kernel row of five taps does not leave a one-tap pass per row.
    starts = np.empty(channels * kh * kw, np.int64)
    taps = np.empty(channels * kh * kw, np.int64)
    spare = np.empty(run, y.dtype)
    for i in range(height):
        count = 0
        for c in range(channels):
            for p in range(kh):
                r = i + p - shift
                if r < 0 or r >= rows:
                    continue  # a row of zeros (the input gradient's padding)
                for q in range(kw):
                    starts[count] = (c * rows + r) * row_size + q * batch
                    taps[count] = (c * kh + p) * kw + q
                    count += 1
        for k0 in range(0, out_channels, 2):
            k1 = min(k0 + 1, out_channels - 1)
            out0 = y3[k0, i]
            out1 = y3[k1, i] if k1 > k0 else spare  # an odd last channel: a spare row
            out0[:] = b[k0]  # the bias (or zero): no pass of its own after
            out1[:] = b[k1]
            m = 0
            while m + 4 <= count:
                s0 = xf[starts[m]:]
                s1 = xf[starts[m + 1]:]
                s2 = xf[starts[m + 2]:]
                s3 = xf[starts[m + 3]:]
                a0, a1 = wf[k0, taps[m]], wf[k0, taps[m + 1]]
                a2, a3 = wf[k0, taps[m + 2]], wf[k0, taps[m + 3]]
                b0, b1 = wf[k1, taps[m]], wf[k1, taps[m + 1]]
                b2, b3 = wf[k1, taps[m + 2]], wf[k1, taps[m + 3]]
                for t in range(run):
                    v0, v1, v2, v3 = s0[t], s1[t], s2[t], s3[t]
                    out0[t] += a0 * v0 + a1 * v1 + a2 * v2 + a3 * v3
                    out1[t] += b0 * v0 + b1 * v1 + b2 * v2 + b3 * v3
                m += 4
            while m < count:
                s0 = xf[starts[m]:]
                a0, b0 = wf[k0, taps[m]], wf[k1, taps[m]]
                for t in range(run):
                    v0 = s0[t]
                    out0[t] += a0 * v0
                    out1[t] += b0 * v0
                m += 1


@kernel(fastmath=SAFE_FASTMATH | {"reassoc"})  # the dot products vectorise (reassociated)
def _weight_grad(x: Any, gy: Any, gw: Any) -> None:  # pragma: no cover - compiled
    out_channels, channels, kh, kw = gw.shape
    _, height, width, batch = gy.shape
    rows = x.shape[1]
    row_size = x.shape[2] * batch
    xf = x.reshape(-1)
    g3 = gy.reshape(out_channels, height, width * batch)
    run = width * batch
    size = channels * kh * kw
    # Each row's dot products, summed; an odd last channel's partner sums into a spare row.
    totals = np.zeros((out_channels + 1, size), np.float64)
    starts = np.empty(size, np.int64)
    zero = gy.dtype.type(0)
    for i in range(height):
        for c in range(channels):  # where each tap (c, p, q) of output row i starts in x
            for p in range(kh):
                for q in range(kw):
                    starts[(c * kh + p) * kw + q] = (c * rows + i + p) * row_size + q * batch
        for k0 in range(0, out_channels, 2):
            k1 = k0 + 1  # out_channels (the spare row) after an odd last channel
            g0 = g3[k0, i]
            g1 = g3[min(k1, out_channels - 1), i]
            m = 0
            while m + 4 <= size:  # eight dot products per pass over two rows of gy
                s0 = xf[starts[m]:]
                s1 = xf[starts[m + 1]:]
                s2 = xf[starts[m + 2]:]
                s3 = xf[starts[m + 3]:]
                a0 = a1 = a2 = a3 = b0 = b1 = b2 = b3 = zero
                for t in range(run):
                    v0, v1, v2, v3 = s0[t], s1[t], s2[t], s3[t]
                    h0, h1 = g0[t], g1[t]
                    a0 += h0 * v0
                    a1 += h0 * v1
                    a2 += h0 * v2
                    a3 += h0 * v3
                    b0 += h1 * v0
                    b1 += h1 * v1
                    b2 += h1 * v2
                    b3 += h1 * v3
                totals[k0, m] += a0
                totals[k0, m + 1] += a1
                totals[k0, m + 2] += a2
                totals[k0, m + 3] += a3
                totals[k1, m] += b0
                totals[k1, m + 1] += b1
                totals[k1, m + 2] += b2
                totals[k1, m + 3] += b3
                m += 4
            while m < size:
                s0 = xf[starts[m]:]
                a0 = b0 = zero
                for t in range(run):
                    v0 = s0[t]
                    a0 += g0[t] * v0
                    b0 += g1[t] * v0
                totals[k0, m] += a0
                totals[k1, m] += b0
                m += 1
    gf = gw.reshape(out_channels, size)
    for k in range(out_channels):
        for m in range(size):
            gf[k, m] = totals[k, m]


def correlate(xt: Any, weight: Any, out_size: tuple[int, int], bias: Any = None) -> Any:
    """y (C_out, H_out, W_out, N) = the stride-1 correlation of a padded (C, H, W, N) xt,
    plus ``bias`` (C_out,) if given."""
    y = np.empty((weight.shape[0], *out_size, xt.shape[3]), xt.dtype)
    start = np.zeros(weight.shape[0], xt.dtype) if bias is None else bias
    _correlate(np.ascontiguousarray(xt), np.ascontiguousarray(weight),
               np.ascontiguousarray(start), y, 0)
    return y


def input_grad(gyt: Any, weight: Any, padded_shape: tuple[int, ...]) -> Any:
    """The padded (C, H, W, N) input gradient from a (C_out, H_out, W_out, N) one."""
    k, ho, wo, n = gyt.shape
    kh, kw = weight.shape[2:]
    gy_wide = np.zeros((k, ho, wo + 2 * (kw - 1), n), gyt.dtype)  # rows padded by kW − 1
    gy_wide[:, :, kw - 1:kw - 1 + wo] = gyt
    flipped = np.ascontiguousarray(weight[:, :, ::-1, ::-1].transpose(1, 0, 2, 3))
    gx = np.empty(padded_shape, gyt.dtype)
    _correlate(gy_wide, flipped, np.zeros(flipped.shape[0], gyt.dtype), gx, kh - 1)
    return gx


def weight_grad(xt: Any, gyt: Any, weight_shape: tuple[int, ...]) -> Any:
    """gw (C_out, C, kH, kW) from the padded input and the output gradient, both
    (C, H, W, N)."""
    gw = np.empty(weight_shape, gyt.dtype)
    _weight_grad(np.ascontiguousarray(xt), np.ascontiguousarray(gyt), gw)
    return gw
