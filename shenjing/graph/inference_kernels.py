"""Inference kernels for ``sj.compile(module)``: the forward of the common layer ops for one
fixed input shape, with their index tables and output buffers made once.

A builder gets the op's example input arrays (of the traced shapes) and parameters and
returns ``run(*arrays) -> array`` that writes into its own preallocated buffer, or None
to leave the op to its ``Function.forward``. The math is the op's own forward, specialised:

- convolution: the input is copied into a fixed buffer whose border stays zero (the
  padding), a window view on that buffer is made once, and each call copies the windows
  into a fixed column buffer and runs one matmul, y = W·cols + b;
- pooling: the same gathering of windows (padding −∞ for max, 0 for average, which counts
  in the divisor), then one reduction over the window axis;
- linear, relu, tanh: one call each, into their buffers.

With the CPU kernel tier on (``shenjing.kernels``), small batches of float32 or float64
NumPy arrays take compiled kernels instead (``_numba_inference``): a convolution with the
activation and pooling that follow it as one call (``fused_convolution``), and a linear
layer with its activation (``fused_linear``); ``sj.compile`` finds those chains.

Buffers are reused across calls: a result is only valid until the next call, so the
compiled forward copies its outputs before handing them out.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from shenjing.backend import get_array_module

Kernel = Callable[..., Any]


def _window_index(channels: int, padded: tuple[int, int], kernel: tuple[int, int],
                  stride: tuple[int, int], dilation: tuple[int, int],
                  out_size: tuple[int, int]) -> np.ndarray:
    """index[(c, p, q), (i, j)] = flat position of x_pad[c, i·s_h + p·d_h, j·s_w + q·d_w]
    in a (C, H_pad, W_pad) image: what im2col reads."""
    hp, wp = padded
    c, p, q = np.meshgrid(np.arange(channels), np.arange(kernel[0]), np.arange(kernel[1]),
                          indexing="ij")
    i, j = np.meshgrid(np.arange(out_size[0]), np.arange(out_size[1]), indexing="ij")
    rows = (p.reshape(-1, 1) * dilation[0] + i.reshape(1, -1) * stride[0])
    cols = (q.reshape(-1, 1) * dilation[1] + j.reshape(1, -1) * stride[1])
    return (c.reshape(-1, 1) * hp + rows) * wp + cols


class _Padded:
    """A (N, C, H + pads, W + pads) buffer whose border is ``fill``; ``load(x)`` copies x
    into its interior and returns it flattened per sample, (N, C·H_pad·W_pad)."""

    def __init__(self, xp: Any, shape: tuple[int, ...], padding: tuple, fill: float,
                 dtype: Any) -> None:
        n, c, h, w = shape
        (top, bottom), (left, right) = padding
        self.plain = top == bottom == left == right == 0
        self.size = (h + top + bottom, w + left + right)
        if not self.plain:
            self.buffer = xp.full((n, c, *self.size), fill, dtype=dtype)
            self.interior = self.buffer[:, :, top:top + h, left:left + w]
            self.flat = self.buffer.reshape(n, -1)
        self.n = n

    def load(self, x: Any) -> Any:
        if self.plain:
            return x.reshape(self.n, -1)
        self.interior[...] = x
        return self.flat


def convolution(xs: list[Any], params: dict[str, Any]) -> Kernel | None:
    if len(xs) < 2 or xs[0].ndim != 4 or params["groups"] != 1:
        return None
    x, weight = xs[0], xs[1]
    xp = get_array_module(x)
    n, c, h, w = x.shape
    c_out, _, kh, kw = weight.shape
    stride, padding, dilation = params["stride"], params["padding"], params["dilation"]
    (top, bottom), (left, right) = padding
    # The input is copied into a fixed buffer (zero border = padding), so the window view
    # on it is made once: each call is one copy into the columns and one matmul.
    padded = xp.zeros((n, c, h + top + bottom, w + left + right), dtype=x.dtype)
    interior = padded[:, :, top:top + h, left:left + w]
    hp, wp = padded.shape[2:]
    out_size = ((hp - dilation[0] * (kh - 1) - 1) // stride[0] + 1,
                (wp - dilation[1] * (kw - 1) - 1) // stride[1] + 1)
    sn, sc, sh, sw = padded.strides
    windows = xp.lib.stride_tricks.as_strided(
        padded, (n, c, kh, kw, *out_size),
        (sn, sc, sh * dilation[0], sw * dilation[1], sh * stride[0], sw * stride[1]))
    cols = xp.empty((n, c, kh, kw, *out_size), dtype=x.dtype)
    flat_cols = cols.reshape(n, c * kh * kw, out_size[0] * out_size[1])
    y = xp.empty((n, c_out, out_size[0] * out_size[1]), dtype=x.dtype)
    image = y.reshape(n, c_out, *out_size)
    has_bias = len(xs) == 3

    def run(x: Any, weight: Any, bias: Any = None) -> Any:
        interior[...] = x
        cols[...] = windows
        xp.matmul(weight.reshape(c_out, -1), flat_cols, out=y)
        if has_bias:
            xp.add(y, bias[:, None], out=y)
        return image

    return run


def _pool(reduce: str) -> Callable[[list[Any], dict[str, Any]], Kernel | None]:
    def build(xs: list[Any], params: dict[str, Any]) -> Kernel | None:
        x = xs[0]
        if x.ndim != 4:
            return None
        xp = get_array_module(x)
        n, c, h, w = x.shape
        kernel, stride, padding = params["kernel"], params["stride"], params["padding"]
        fill = -float("inf") if reduce == "max" else 0.0
        padded = _Padded(xp, x.shape, padding, fill, x.dtype)
        hp, wp = padded.size
        out_size = ((hp - kernel[0]) // stride[0] + 1, (wp - kernel[1]) // stride[1] + 1)
        index = xp.asarray(_window_index(1, (hp, wp), kernel, stride, (1, 1), out_size))
        windows = xp.empty((n * c, *index.shape), dtype=x.dtype)
        y = xp.empty((n * c, out_size[0] * out_size[1]), dtype=x.dtype)
        image = y.reshape(n, c, *out_size)
        scale = 1.0 / (kernel[0] * kernel[1])

        def run(x: Any) -> Any:
            flat = padded.load(x).reshape(n * c, hp * wp)
            xp.take(flat, index, axis=1, out=windows, mode="clip")
            if reduce == "max":
                windows.max(axis=1, out=y)
            else:
                windows.sum(axis=1, out=y)
                xp.multiply(y, scale, out=y)
            return image

        return run
    return build


def linear(xs: list[Any], params: dict[str, Any]) -> Kernel | None:
    x, weight = xs[0], xs[1]
    if x.ndim != 2:
        return None
    xp = get_array_module(x)
    y = xp.empty((x.shape[0], weight.shape[0]), dtype=x.dtype)
    has_bias = len(xs) == 3

    def run(x: Any, weight: Any, bias: Any = None) -> Any:
        xp.dot(x, weight.T, out=y)  # measured a little faster than matmul with out=
        if has_bias:
            xp.add(y, bias, out=y)
        return y

    return run


def _elementwise(name: str) -> Callable[[list[Any], dict[str, Any]], Kernel | None]:
    def build(xs: list[Any], params: dict[str, Any]) -> Kernel | None:
        xp = get_array_module(xs[0])
        y = xp.empty(xs[0].shape, dtype=xs[0].dtype)
        if name == "relu":
            return lambda x: xp.maximum(x, 0, out=y)
        return lambda x: xp.tanh(x, out=y)
    return build


def reshape(xs: list[Any], params: dict[str, Any]) -> Kernel | None:
    shape = params["shape"]
    if not all(isinstance(n, (int, np.integer)) for n in shape):
        return None
    return lambda x: x.reshape(shape)


SMALL_BATCH = 4
"""The largest batch that the compiled layer kernels take: beyond it the im2col and GEMM
path keeps BLAS busy and wins."""

ACTIVATIONS = {"ReLU": 1, "Tanh": 2}
"""Op class name -> the activation code of the fused kernels."""

POOLS = {"MaxPool": 1, "AvgPool": 2}
"""Op class name -> the pooling code of the fused kernels."""


def _tier_takes(*arrays: Any) -> bool:
    """Whether the compiled kernels take these arrays: the tier is on and all are NumPy
    arrays of one float dtype (float32 or float64)."""
    from shenjing import kernels

    dtype = arrays[0].dtype
    return (all(type(a) is np.ndarray and a.dtype == dtype for a in arrays)
            and dtype in (np.float32, np.float64) and kernels.enabled())


def fused_convolution(xs: list[Any], params: dict[str, Any], activation: str | None,
                      pool: tuple[str, dict[str, Any]] | None) -> Kernel | None:
    """conv → activation (``"ReLU"``, ``"Tanh"`` or None) → pooling (``(op type, params)``
    of a ``MaxPool``/``AvgPool``, or None) as one compiled call; None where the kernel does
    not apply (tier off, batch above ``SMALL_BATCH``, stride ≠ 1, groups, a padded or
    dilated pooling window, a divisor, or not 2-D)."""
    if len(xs) < 2 or xs[0].ndim != 4 or params["groups"] != 1 or tuple(params["stride"]) != (1, 1):
        return None
    x, weight = xs[0], xs[1]
    if x.shape[0] > SMALL_BATCH or not _tier_takes(*xs):
        return None
    from shenjing.graph import _numba_inference as nk

    n, c, h, w = x.shape
    c_out, _, kh, kw = weight.shape
    (top, bottom), (left, right) = params["padding"]
    dh, dw = params["dilation"]
    hp, wp = h + top + bottom, w + left + right
    oh, ow = hp - dh * (kh - 1), wp - dw * (kw - 1)
    if oh < 1 or ow < 1:
        return None
    geom = np.zeros(nk.GEOMETRY_SIZE, dtype=np.int64)
    geom[[nk.TOP, nk.LEFT, nk.KH, nk.KW, nk.DH, nk.DW, nk.OH, nk.HP, nk.WP]] = (
        top, left, kh, kw, dh, dw, oh, hp, wp)
    geom[nk.ACT] = ACTIVATIONS[activation] if activation else 0
    out_size = (oh, ow)
    if pool is not None:
        kind, pool_params = pool
        (pt, pb), (pl, pr) = pool_params["padding"]
        (pkh, pkw), (psh, psw) = pool_params["kernel"], pool_params["stride"]
        if (pt or pb or pl or pr or tuple(pool_params.get("dilation", (1, 1))) != (1, 1)
                or pool_params.get("divisor") is not None or pkh > oh or pkw > ow):
            return None
        geom[[nk.POOL, nk.PKH, nk.PKW, nk.PSH, nk.PSW]] = (POOLS[kind], pkh, pkw, psh, psw)
        out_size = ((oh - pkh) // psh + 1, (ow - pkw) // psw + 1)
    padded = np.zeros(c * hp * wp + (kw - 1) * dw, dtype=x.dtype)  # border, tail: zero
    acc = np.empty((2, oh * wp), dtype=x.dtype)
    y = np.empty((n, c_out, *out_size), dtype=x.dtype)
    zeros = np.zeros(c_out, dtype=x.dtype)
    block = nk.conv_block

    def run(x: Any, weight: Any, bias: Any = zeros) -> Any:
        block(x, weight, bias, padded, acc, y, geom)
        return y

    return run


def fused_linear(xs: list[Any], params: dict[str, Any], activation: str | None
                 ) -> Kernel | None:
    """linear → activation (``"ReLU"``, ``"Tanh"`` or None) as one compiled call; None
    where it does not apply (tier off, batch above ``SMALL_BATCH``, not 2-D)."""
    x, weight = xs[0], xs[1]
    if x.ndim != 2 or x.shape[0] > SMALL_BATCH or not _tier_takes(*xs):
        return None
    from shenjing.graph import _numba_inference as nk

    y = np.empty((x.shape[0], weight.shape[0]), dtype=x.dtype)
    zeros = np.zeros(weight.shape[0], dtype=x.dtype)
    code = ACTIVATIONS[activation] if activation else 0
    dense = nk.dense

    def run(x: Any, weight: Any, bias: Any = zeros) -> Any:
        dense(x, weight, bias, y, code)
        return y

    return run


BUILDERS: dict[str, Callable[[list[Any], dict[str, Any]], Kernel | None]] = {
    "Convolution": convolution, "MaxPool": _pool("max"), "AvgPool": _pool("avg"),
    "Linear": linear, "ReLU": _elementwise("relu"), "Tanh": _elementwise("tanh"),
    "Reshape": reshape,
}
"""Op class name -> kernel builder; other ops run their ``Function.forward``."""
