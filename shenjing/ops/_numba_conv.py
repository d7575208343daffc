"""A direct convolution for a network's first layer, beside ``conv.py``'s im2col one.

With one input channel (C·kH·kW = 25 for LeNet-5's 5x5), im2col copies each input pixel
25 times to feed a GEMM with only C_out (6) rows, which BLAS runs far from its peak. The
direct loops of ``_numba_direct.py`` do the same multiply-adds on the batch-innermost
layout without the copy. ``sj.compile``'s fusion runs a first layer's convolution (stride
1, dilation 1, one group, C·kH·kW <= 32, a batch of at least 16, no input gradient) as
``DirectConvolution``, without its bias: the fused chain's kernel adds it, with the
activation, as the epilogue. Otherwise it runs ``Convolution`` itself (which, on the
kernel tier, takes the same direct loops for any stride-1 convolution of a batch of 16
or more).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from shenjing.ops._numba_direct import _correlate, _weight_grad
from shenjing.ops.conv import Convolution


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
        no_bias = np.zeros(weight.shape[0], x.dtype)  # the fused chain adds it
        _correlate(x_pad, np.ascontiguousarray(weight), no_bias, y, 0)
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
