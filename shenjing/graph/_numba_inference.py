"""Small-batch inference kernels for ``sj.compile(module)`` (the CPU kernel tier,
``shenjing.kernels``): a convolution with its bias, activation and pooling in one call, and
a linear layer with its bias and activation.

At batch 1 the NumPy path of ``inference_kernels`` spends most of its time outside the
arithmetic: the strided im2col copy, a small GEMM that OpenBLAS runs far below its peak,
and one Python call per layer. Here a layer is one compiled call:

- convolution (stride 1), computed directly: the input is copied into a zero-bordered
  buffer, flattened per channel with the padded width W_pad, and each output channel is
  accumulated on a "wide" grid of H_out·W_pad positions, so that every tap (c, p, q) adds
  w[c, p, q] times one contiguous run of the buffer starting at c·H_pad·W_pad +
  p·d_h·W_pad + q·d_w. The W_pad − W_out columns past the right edge are computed and
  dropped; the buffer carries (kW − 1)·d_w zeros past its end for the last run. Taps are
  taken four at a time and channels two at a time, so one pass loads each input run once
  for eight multiply-adds (measured: about 2.5× faster than one tap and one channel per
  pass);
- the epilogue: bias (the accumulator starts at it), the activation in place over the
  wide grid, then the pooling window read from it: max (NaN wins, as in NumPy's
  ``maximum``) or the mean over kH·kW;
- linear: y = x Wᵀ + b by BLAS from inside the kernel, then the bias and activation.

Activation codes: 0 none, 1 ReLU, 2 tanh (the C library's, per element). Pooling codes:
0 none, 1 max, 2 average.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from shenjing.kernels import kernel

# The geometry vector's fields (an int64 array, one argument instead of sixteen: each
# argument costs Numba's dispatcher time on every call).
TOP, LEFT, KH, KW, DH, DW, OH, ACT, POOL, PKH, PKW, PSH, PSW, HP, WP = range(15)
GEOMETRY_SIZE = 15


@kernel
def _taps1(flat: Any, base: int, dw: int, w: Any, co: int, ci: int, p: int, a: Any,
           length: int, kw: int) -> None:
    """a += Σ_q w[co, ci, p, q] · flat[base + q·d_w : … + length]."""
    q = 0
    while q + 4 <= kw:
        w0, w1 = w[co, ci, p, q], w[co, ci, p, q + 1]
        w2, w3 = w[co, ci, p, q + 2], w[co, ci, p, q + 3]
        o = base + q * dw
        s0, s1 = flat[o:o + length], flat[o + dw:o + dw + length]
        s2, s3 = flat[o + 2 * dw:o + 2 * dw + length], flat[o + 3 * dw:o + 3 * dw + length]
        for k in range(length):
            a[k] += w0 * s0[k] + w1 * s1[k] + w2 * s2[k] + w3 * s3[k]
        q += 4
    while q < kw:
        w0 = w[co, ci, p, q]
        s0 = flat[base + q * dw:base + q * dw + length]
        for k in range(length):
            a[k] += w0 * s0[k]
        q += 1


@kernel
def _taps2(flat: Any, base: int, dw: int, w: Any, co: int, ci: int, p: int, a: Any, b: Any,
           length: int, kw: int) -> None:
    """``_taps1`` for the channels co (into a) and co + 1 (into b) at once."""
    q = 0
    while q + 4 <= kw:
        o = base + q * dw
        s0, s1 = flat[o:o + length], flat[o + dw:o + dw + length]
        s2, s3 = flat[o + 2 * dw:o + 2 * dw + length], flat[o + 3 * dw:o + 3 * dw + length]
        w0, w1 = w[co, ci, p, q], w[co, ci, p, q + 1]
        w2, w3 = w[co, ci, p, q + 2], w[co, ci, p, q + 3]
        v0, v1 = w[co + 1, ci, p, q], w[co + 1, ci, p, q + 1]
        v2, v3 = w[co + 1, ci, p, q + 2], w[co + 1, ci, p, q + 3]
        for k in range(length):
            x0, x1, x2, x3 = s0[k], s1[k], s2[k], s3[k]
            a[k] += w0 * x0 + w1 * x1 + w2 * x2 + w3 * x3
            b[k] += v0 * x0 + v1 * x1 + v2 * x2 + v3 * x3
        q += 4
    while q < kw:
        s0 = flat[base + q * dw:base + q * dw + length]
        w0, v0 = w[co, ci, p, q], w[co + 1, ci, p, q]
        for k in range(length):
            x0 = s0[k]
            a[k] += w0 * x0
            b[k] += v0 * x0
        q += 1


@kernel
def _epilogue(a: Any, out: Any, geom: Any) -> None:
    """The activation over the wide grid ``a`` in place, then the pooling (or a plain
    copy of the valid columns) into the (H, W) image ``out``."""
    act, pool, wp = geom[ACT], geom[POOL], geom[WP]
    if act == 1:
        for k in range(a.size):
            v = a[k]
            a[k] = v if v > 0 else v * 0  # NaN stays NaN, as in maximum(v, 0)
    elif act == 2:
        for k in range(a.size):
            a[k] = math.tanh(a[k])
    rows, cols = out.shape
    if pool == 0:
        for i in range(rows):
            src, dst = a[i * wp:i * wp + cols], out[i]
            for j in range(cols):
                dst[j] = src[j]
        return
    pkh, pkw, psh, psw = geom[PKH], geom[PKW], geom[PSH], geom[PSW]
    for i in range(rows):
        dst = out[i]
        first = a[i * psh * wp:]
        for j in range(cols):
            dst[j] = first[j * psw]
        for u in range(pkh):
            row = a[(i * psh + u) * wp:]
            for v in range(pkw):
                if u == 0 and v == 0:
                    continue
                if pool == 1:
                    for j in range(cols):
                        e, m = row[j * psw + v], dst[j]
                        dst[j] = e if (e > m or e != e) else m
                else:
                    for j in range(cols):
                        dst[j] += row[j * psw + v]
        if pool == 2:
            scale = dst[0] * 0 + 1 / (pkh * pkw)  # in the arrays' dtype
            for j in range(cols):
                dst[j] *= scale


@kernel
def conv_block(x: Any, w: Any, bias: Any, padded: Any, acc: Any, y: Any, geom: Any) -> None:
    """y = pool(act(conv(x, w) + bias)) for stride 1 (see the module's docstring).

    x (N, C, H, W); w (C_out, C, kH, kW); bias (C_out,); ``padded`` the flat
    C·H_pad·W_pad + (kW − 1)·d_w buffer whose border and tail are zero; ``acc`` (2, L)
    with L ≥ H_out·W_pad; y (N, C_out, H_y, W_y); ``geom`` the int64 geometry.
    """
    top, left, kh, kw, dh, dw = (geom[TOP], geom[LEFT], geom[KH], geom[KW], geom[DH],
                                 geom[DW])
    hp, wp = geom[HP], geom[WP]
    n, c, h, wd = x.shape
    c_out = w.shape[0]
    length = geom[OH] * wp
    plane = hp * wp
    for b in range(n):
        for ci in range(c):
            for i in range(h):
                src = x[b, ci, i]
                start = ci * plane + (top + i) * wp + left
                dst = padded[start:start + wd]
                for j in range(wd):
                    dst[j] = src[j]
        co = 0
        while co < c_out:
            a = acc[0, :length]
            first = bias[co]
            for k in range(length):
                a[k] = first
            if co + 1 < c_out:
                a2 = acc[1, :length]
                second = bias[co + 1]
                for k in range(length):
                    a2[k] = second
                for ci in range(c):
                    for p in range(kh):
                        _taps2(padded, ci * plane + p * dh * wp, dw, w, co, ci, p, a, a2,
                               length, kw)
                _epilogue(a, y[b, co], geom)
                _epilogue(a2, y[b, co + 1], geom)
                co += 2
            else:
                for ci in range(c):
                    for p in range(kh):
                        _taps1(padded, ci * plane + p * dh * wp, dw, w, co, ci, p, a,
                               length, kw)
                _epilogue(a, y[b, co], geom)
                co += 1


@kernel
def dense(x: Any, w: Any, bias: Any, y: Any, act: int) -> None:
    """y = act(x Wᵀ + b): x (N, K), w (M, K), bias (M,), y (N, M). The products are
    BLAS's (``np.dot``, a GEMV per sample): a compiled dot-product loop does not
    vectorise without reassociation, and ran at half BLAS's speed."""
    n, m = y.shape
    for b in range(n):
        z = np.dot(np.ascontiguousarray(w), np.ascontiguousarray(x[b]))
        out = y[b]
        for o in range(m):
            v = z[o] + bias[o]
            if act == 1:
                v = v if v > 0 else v * 0
            elif act == 2:
                v = math.tanh(v)
            out[o] = v
