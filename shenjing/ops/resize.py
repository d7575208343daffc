"""Resizing the spatial axes: ``interpolate`` (nearest, nearest-exact, linear, bilinear,
trilinear) and adaptive average pooling.

All of them are separable linear maps: each output row is a fixed weighted sum of input
rows, and each output column of input columns. So one op serves them all,
y = A_h · x · A_wᵀ on every (n, c) image, with A_h (H_out × H) and A_w (W_out × W) built
from the mode's rule; its backward is gx = A_hᵀ · gy · A_w. Two matrix products per
pass, vectorised over the batch and channels. Volumes (N, C, D, H, W) add a third map
A_d over the depth axis (``Separable3d``).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from shenjing.autograd.function import Function
from shenjing.backend import get_array_module
from shenjing.tensor import Tensor, as_tensor

__all__ = ["adaptive_avg_pool1d", "adaptive_avg_pool2d", "interpolate"]


class Separable(Function):
    """y = A_h·x·A_wᵀ over the last two axes;  gx = A_hᵀ·gy·A_w."""

    def forward(self, x: Any, rows: Any, cols: Any) -> Any:
        xp = get_array_module(x)
        self.rows = xp.asarray(rows, dtype=x.dtype)
        self.cols = xp.asarray(cols, dtype=x.dtype)
        return xp.matmul(xp.matmul(self.rows, x), self.cols.T)

    def backward(self, gy: Any) -> Any:
        xp = get_array_module(gy)
        return xp.matmul(xp.matmul(self.rows.T, gy), self.cols)


class Separable3d(Function):
    """y[n,c] = A_d ×_D A_h ×_H A_w ×_W x[n,c] (one map per axis of a volume);
    gx applies the transposed maps in the same way."""

    def forward(self, x: Any, depth: Any, rows: Any, cols: Any) -> Any:
        xp = get_array_module(x)
        self.maps = [xp.asarray(a, dtype=x.dtype) for a in (depth, rows, cols)]
        return self._apply(x, *self.maps)

    def backward(self, gy: Any) -> Any:
        return self._apply(gy, *(a.T for a in self.maps))

    @staticmethod
    def _apply(x: Any, depth: Any, rows: Any, cols: Any) -> Any:
        xp = get_array_module(x)
        n, c, d, h, w = x.shape
        y = xp.matmul(xp.matmul(rows, x), cols.T)  # (N, C, D, H', W')
        h, w = y.shape[3], y.shape[4]
        y = xp.matmul(depth, y.reshape(n, c, d, h * w))  # the depth axis as rows
        return y.reshape(n, c, depth.shape[0], h, w)


# ------------------------------------------------------------- the 1-D maps


def _nearest(n_in: int, n_out: int, scale: float) -> np.ndarray:
    """PyTorch's 'nearest': output i reads input ⌊i·scale⌋ (clamped to the last)."""
    src = np.minimum(np.floor(np.arange(n_out) * scale).astype(np.int64), n_in - 1)
    a = np.zeros((n_out, n_in))
    a[np.arange(n_out), src] = 1.0
    return a


def _nearest_exact(n_in: int, n_out: int, scale: float) -> np.ndarray:
    """PyTorch's 'nearest-exact': output i reads input ⌊(i + 1/2)·scale⌋ (clamped), the
    pixel whose centre is nearest (Pillow's and scikit-image's rule)."""
    src = np.minimum(np.floor((np.arange(n_out) + 0.5) * scale).astype(np.int64), n_in - 1)
    a = np.zeros((n_out, n_in))
    a[np.arange(n_out), src] = 1.0
    return a


def _linear(n_in: int, n_out: int, scale: float, align_corners: bool) -> np.ndarray:
    """PyTorch's linear weights: output i sits at input coordinate
    i·(n_in - 1)/(n_out - 1) with align_corners, else (i + 1/2)·scale - 1/2 (at least 0),
    and mixes the two input samples around it."""
    i = np.arange(n_out, dtype=np.float64)
    if align_corners:
        src = i * ((n_in - 1) / (n_out - 1)) if n_out > 1 else np.zeros(n_out)
    else:
        src = np.maximum((i + 0.5) * scale - 0.5, 0.0)
    low = np.minimum(np.floor(src).astype(np.int64), n_in - 1)
    high = np.minimum(low + 1, n_in - 1)
    frac = src - low
    a = np.zeros((n_out, n_in))
    np.add.at(a, (np.arange(n_out), low), 1.0 - frac)
    np.add.at(a, (np.arange(n_out), high), frac)
    return a


def _linear_fixed_point(n_in: int, n_out: int, scale: float,
                        align_corners: bool) -> tuple[np.ndarray, int]:
    """PyTorch's bilinear weights for uint8 images, as integers: output i at centre
    c = scale·(i + 1/2 − d) (d = 1/2 with align_corners) weighs input j by
    max(0, 1 − |j + 1/2 − d − c|) over the inputs within one pixel of c, normalised to sum
    to one, then scaled by 2^p and rounded half away from zero, p the most bits that
    keep the largest weight below 2^15. Returns the (n_out, n_in) integer weights and p.
    """
    d = 0.5 if align_corners else 0.0
    if align_corners:
        scale = (n_in - 1) / (n_out - 1) if n_out > 1 else 0.0
    centre = scale * (np.arange(n_out, dtype=np.float64) + 0.5 - d)
    low = np.maximum(np.trunc(centre - 0.5 + d), 0)  # C's cast to an integer truncates
    high = np.minimum(np.trunc(centre + 1.5 + d), n_in)
    j = np.arange(n_in, dtype=np.float64)
    w = np.maximum(0.0, 1.0 - np.abs(j + 0.5 - d - centre[:, None]))
    w[(j < low[:, None]) | (j >= high[:, None])] = 0.0
    total = w.sum(axis=1, keepdims=True)
    w = np.divide(w, total, out=np.zeros_like(w), where=total != 0)
    largest = w.max()
    bits = 0
    while bits < 22 and int(0.5 + largest * (1 << (bits + 1))) < (1 << 15):
        bits += 1
    scaled = w * (1 << bits)
    return np.trunc(scaled + np.where(scaled < 0, -0.5, 0.5)).astype(np.int64), bits


def _resize_uint8(x: Tensor, out: tuple[int, int], scales: tuple[float, float],
                  align_corners: bool) -> Tensor:
    """Bilinear resizing of uint8 images with PyTorch's integer arithmetic: the width
    first, then the height, each pass y = clamp((A·x + 2^(p−1)) >> p, 0, 255) with the
    integer weights of ``_linear_fixed_point`` (a pass is skipped where the size is
    unchanged, as PyTorch skips it). No gradient: the values are integers."""
    xp = get_array_module(x.array)
    y = x.array.astype(np.int64)
    height, width = x.shape[2:]
    if out[1] != width:
        a, bits = _linear_fixed_point(width, out[1], scales[1], align_corners)
        y = xp.clip((xp.matmul(y, xp.asarray(a.T)) + (1 << (bits - 1))) >> bits, 0, 255)
    if out[0] != height:
        a, bits = _linear_fixed_point(height, out[0], scales[0], align_corners)
        y = xp.clip((xp.matmul(xp.asarray(a), y) + (1 << (bits - 1))) >> bits, 0, 255)
    return Tensor._make(y.astype(np.uint8), None)


def _adaptive(n_in: int, n_out: int) -> np.ndarray:
    """PyTorch's adaptive windows: output i averages inputs ⌊i·n/m⌋ to ⌈(i+1)·n/m⌉ - 1."""
    a = np.zeros((n_out, n_in))
    for i in range(n_out):  # one row per output size: a few dozen at most
        start, end = (i * n_in) // n_out, -((-(i + 1) * n_in) // n_out)
        a[i, start:end] = 1.0 / (end - start)
    return a


# ------------------------------------------------------------- the functions


def _pair_or_none(op: str, name: str, value: Any, count: int) -> tuple[Any, ...]:
    values = tuple(value) if isinstance(value, (tuple, list)) else (value,) * count
    if len(values) != count:
        raise ValueError(f"{op}: {name} must have {count} entries. Received: {value!r}")
    return values


def interpolate(
    input: Tensor,
    size: int | Sequence[int] | None = None,
    scale_factor: float | Sequence[float] | None = None,
    mode: str = "nearest",
    align_corners: bool | None = None,
    recompute_scale_factor: bool | None = None,
    antialias: bool = False,
) -> Tensor:
    """Resize (N, C, L), (N, C, H, W) or (N, C, D, H, W) input to ``size``, or by
    ``scale_factor``, as PyTorch's ``F.interpolate``.

    Modes: ``"nearest"`` (output i reads input ⌊i·scale⌋), ``"nearest-exact"`` (input
    ⌊(i + 1/2)·scale⌋), ``"linear"`` (3-D input), ``"bilinear"`` (4-D input) and
    ``"trilinear"`` (5-D input), with ``align_corners`` as in PyTorch; bilinear on uint8
    images rounds as PyTorch does (integer weights, see ``_resize_uint8``). The scale is
    in/out, or 1/scale_factor when a scale factor is given (PyTorch's rule, unless
    ``recompute_scale_factor=True``). ``antialias`` is not supported.

    Example:
        >>> import shenjing as sj
        >>> import shenjing.nn.functional as F
        >>> F.interpolate(sj.ones(1, 3, 4, 4), scale_factor=2, mode="bilinear").shape
        (1, 3, 8, 8)
    """
    op = "interpolate"
    x = as_tensor(input)
    linear = {3: "linear", 4: "bilinear", 5: "trilinear"}
    if x.ndim not in linear or mode not in ("nearest", "nearest-exact", linear[x.ndim]):
        raise ValueError(
            f"{op}: supports modes nearest, nearest-exact and linear (3-D input), bilinear "
            f"(4-D) or trilinear (5-D). Received: mode={mode!r}, input shape {x.shape}"
        )
    if antialias:
        raise ValueError(f"{op}: antialias=True is not supported")
    if mode.startswith("nearest") and align_corners is not None:
        raise ValueError(f"{op}: align_corners applies to the linear modes only")
    if (size is None) == (scale_factor is None):
        raise ValueError(f"{op}: give exactly one of size and scale_factor")
    spatial = x.shape[2:]
    if size is not None:
        out = tuple(int(n) for n in _pair_or_none(op, "size", size, len(spatial)))
        scales = tuple(n / m for n, m in zip(spatial, out, strict=True))
    else:
        factors = tuple(float(f) for f in _pair_or_none(op, "scale_factor", scale_factor,
                                                        len(spatial)))
        out = tuple(math.floor(n * f) for n, f in zip(spatial, factors, strict=True))
        scales = tuple(n / m if recompute_scale_factor else 1.0 / f
                       for n, m, f in zip(spatial, out, factors, strict=True))
    if min(out) < 1 or min(spatial) < 1:
        raise ValueError(f"{op}: input and output sizes must be positive. Received: input "
                         f"shape {x.shape}, output size {out}")
    if mode.startswith("nearest"):
        rule = _nearest if mode == "nearest" else _nearest_exact
        maps = [rule(n, m, s) for n, m, s in zip(spatial, out, scales, strict=True)]
    elif x.dtype == np.uint8 and mode == "bilinear":  # images: PyTorch's integer rounding
        return _resize_uint8(x, out, scales, bool(align_corners))
    elif x.dtype.kind != "f":
        raise TypeError(f"{op}: mode {mode!r} needs floating-point input (or uint8 for "
                        f"bilinear), as in PyTorch. Received: dtype={x.dtype}")
    else:
        maps = [_linear(n, m, s, bool(align_corners))
                for n, m, s in zip(spatial, out, scales, strict=True)]
    return _apply(x, maps)


def _apply(x: Tensor, maps: list[np.ndarray]) -> Tensor:
    """The separable map on 4-D or 5-D input, or on 3-D input as images of height 1."""
    if x.ndim == 5:
        return Separable3d.apply(x, depth=maps[0], rows=maps[1], cols=maps[2])
    if x.ndim == 4:
        return Separable.apply(x, rows=maps[0], cols=maps[1])
    y = Separable.apply(x.reshape((*x.shape[:2], 1, x.shape[2])), rows=np.ones((1, 1)),
                        cols=maps[0])
    return y.reshape((*y.shape[:2], y.shape[3]))


def adaptive_avg_pool2d(input: Tensor, output_size: int | Sequence[int | None]) -> Tensor:
    """Average pooling of (N, C, H, W) to a fixed ``output_size`` (None keeps that size),
    with PyTorch's windows: output i averages inputs ⌊i·H/h⌋ … ⌈(i+1)·H/h⌉ - 1.

    Example:
        >>> import shenjing as sj
        >>> sj.adaptive_avg_pool2d(sj.ones(2, 3, 7, 9), 1).shape
        (2, 3, 1, 1)
    """
    x = as_tensor(input)
    if x.ndim != 4:
        raise ValueError(f"adaptive_avg_pool2d expects 4-D input (N, C, H, W). Received: "
                         f"shape={x.shape}")
    sizes = _pair_or_none("adaptive_avg_pool2d", "output_size", output_size, 2)
    out = [n if m is None else int(m) for n, m in zip(x.shape[2:], sizes, strict=True)]
    if min(out) < 1:
        raise ValueError(f"adaptive_avg_pool2d: output_size must be positive. Received: "
                         f"{output_size!r}")
    return _apply(x, [_adaptive(n, m) for n, m in zip(x.shape[2:], out, strict=True)])


def adaptive_avg_pool1d(input: Tensor, output_size: int) -> Tensor:
    """Average pooling of (N, C, L) to ``output_size`` with PyTorch's adaptive windows."""
    x = as_tensor(input)
    if x.ndim != 3:
        raise ValueError(f"adaptive_avg_pool1d expects 3-D input (N, C, L). Received: "
                         f"shape={x.shape}")
    (size,) = _pair_or_none("adaptive_avg_pool1d", "output_size", output_size, 1)
    if int(size) < 1:
        raise ValueError(f"adaptive_avg_pool1d: output_size must be positive. Received: "
                         f"{output_size!r}")
    return _apply(x, [_adaptive(x.shape[2], int(size))])
