"""A direct convolution for a network's first layer, beside ``conv.py``'s im2col one.

With one input channel (C·kH·kW = 25 for LeNet-5's 5x5), im2col copies each input pixel
25 times to feed a GEMM with only C_out (6) rows, which BLAS runs far from its peak. A
direct loop over the batch-innermost layout (batch 64 in the contiguous inner loop, which
vectorises) does the same multiply-adds without the copy. Measured (see the benchmarks
documentation) it wins only there: for LeNet-5's second layer (C = 6) and for a batch of
one, im2col + GEMM is faster, so ``DirectConvolution`` is used only for stride 1,
dilation 1, one group, C·kH·kW <= 32, a batch of at least 16, and no input gradient
(a first layer's); otherwise it runs ``Convolution`` itself.

Forward, for the padded input x_pad in (C, H_pad, W_pad, N) layout:
    y[k,i,j,n] = Σ_c Σ_p Σ_q W[k,c,p,q] · x_pad[c, i+p, j+q, n]      (no bias: the fused
    chain's kernel adds it, with the activation, as the epilogue)
Backward (weights only):
    gW[k,c,p,q] = Σ_{i,j,n} gy[k,i,j,n] · x_pad[c, i+p, j+q, n]
"""

from __future__ import annotations

from typing import Any

import numpy as np

from shenjing.kernels import SAFE_FASTMATH, kernel
from shenjing.ops.conv import Convolution


@kernel
def _forward(x_pad: Any, w: Any, y: Any) -> None:  # pragma: no cover - compiled
    out_channels, channels, kh, kw = w.shape
    _, height, width, batch = y.shape
    # Rows of W·N contiguous floats: a kernel row's taps are shifts of one input row by
    # q·N, so an output row gains up to four taps per pass (one load and store of it).
    x3 = x_pad.reshape(channels, x_pad.shape[1], x_pad.shape[2] * batch)
    y3 = y.reshape(out_channels, height, width * batch)
    run = width * batch
    for k in range(out_channels):
        for i in range(height):
            out = y3[k, i]
            out[:] = 0.0
            for c in range(channels):
                for p in range(kh):
                    src = x3[c, i + p]
                    q = 0
                    while q + 4 <= kw:
                        w0, w1 = w[k, c, p, q], w[k, c, p, q + 1]
                        w2, w3 = w[k, c, p, q + 2], w[k, c, p, q + 3]
                        s0 = src[q * batch:]
                        s1 = src[(q + 1) * batch:]
                        s2 = src[(q + 2) * batch:]
                        s3 = src[(q + 3) * batch:]
                        for t in range(run):
                            out[t] += w0 * s0[t] + w1 * s1[t] + w2 * s2[t] + w3 * s3[t]
                        q += 4
                    while q < kw:
                        w0 = w[k, c, p, q]
                        s0 = src[q * batch:]
                        for t in range(run):
                            out[t] += w0 * s0[t]
                        q += 1


@kernel(fastmath=SAFE_FASTMATH | {"reassoc"})  # the dot products vectorise (reassociated)
def _weight_grad(x_pad: Any, gy: Any, gw: Any) -> None:  # pragma: no cover - compiled
    out_channels, channels, kh, kw = gw.shape
    _, height, width, batch = gy.shape
    x3 = x_pad.reshape(channels, x_pad.shape[1], x_pad.shape[2] * batch)
    g3 = gy.reshape(out_channels, height, width * batch)
    run = width * batch
    totals = np.zeros(kw, np.float64)  # each tap's sum over rows, in float64
    zero = gy.dtype.type(0)
    for k in range(out_channels):
        for c in range(channels):
            for p in range(kh):
                totals[:] = 0.0
                for i in range(height):
                    g = g3[k, i]
                    src = x3[c, i + p]
                    q = 0
                    while q + 4 <= kw:  # four dot products per pass over the row of gy
                        s0 = src[q * batch:]
                        s1 = src[(q + 1) * batch:]
                        s2 = src[(q + 2) * batch:]
                        s3 = src[(q + 3) * batch:]
                        a0 = a1 = a2 = a3 = zero
                        for t in range(run):
                            gt = g[t]
                            a0 += gt * s0[t]
                            a1 += gt * s1[t]
                            a2 += gt * s2[t]
                            a3 += gt * s3[t]
                        totals[q] += a0
                        totals[q + 1] += a1
                        totals[q + 2] += a2
                        totals[q + 3] += a3
                        q += 4
                    while q < kw:
                        s0 = src[q * batch:]
                        a0 = zero
                        for t in range(run):
                            a0 += g[t] * s0[t]
                        totals[q] += a0
                        q += 1
                for q in range(kw):
                    gw[k, c, p, q] = totals[q]


def direct_fits(x_shape: tuple[int, ...], w_shape: tuple[int, ...], params: dict) -> bool:
    """Whether the direct kernel is the faster one for these shapes (see above)."""
    return (len(x_shape) == 4 and x_shape[0] >= 16 and params["groups"] == 1
            and tuple(params["stride"]) == (1, 1) and tuple(params["dilation"]) == (1, 1)
            and w_shape[1] * w_shape[2] * w_shape[3] <= 32)


class DirectConvolution:
    """``Convolution``'s forward (without bias) and backward, by the direct kernels when
    no input gradient is wanted; ``Convolution`` itself otherwise."""

    def __init__(self) -> None:
        self.needs_input_grad: tuple[bool, ...] = (False, False)
        self.fallback: Convolution | None = None

    def forward(self, x: Any, weight: Any, *, stride: Any, padding: Any, dilation: Any,
                groups: int) -> Any:
        if self.needs_input_grad[0] or x.dtype != np.float32 or weight.dtype != x.dtype:
            self.fallback = Convolution()
            self.fallback.needs_input_grad = self.needs_input_grad
            return self.fallback.forward(x, weight, stride=stride, padding=padding,
                                         dilation=dilation, groups=groups)
        self.fallback = None
        n, c, h, w = x.shape
        (top, bottom), (left, right) = padding
        x_pad = getattr(self, "x_pad", None)
        if x_pad is None or x_pad.shape != (c, h + top + bottom, w + left + right, n):
            x_pad = self.x_pad = np.zeros((c, h + top + bottom, w + left + right, n), x.dtype)
        x_pad[:, top:top + h, left:left + w, :] = x.transpose(1, 2, 3, 0)  # border stays 0
        kh, kw = weight.shape[2:]
        out_h, out_w = x_pad.shape[1] - kh + 1, x_pad.shape[2] - kw + 1
        y = np.empty((weight.shape[0], out_h, out_w, n), x.dtype)
        _forward(x_pad, np.ascontiguousarray(weight), y)
        self.weight_shape = weight.shape
        return y.transpose(3, 0, 1, 2)

    def backward(self, gy: Any) -> tuple[Any, Any]:
        if self.fallback is not None:
            return self.fallback.backward(gy)
        gw = None
        if self.needs_input_grad[1]:
            gw = np.empty(self.weight_shape, gy.dtype)
            _weight_grad(self.x_pad, np.ascontiguousarray(gy.transpose(1, 2, 3, 0)), gw)
        return None, gw
