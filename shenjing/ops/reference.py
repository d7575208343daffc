"""Slow, literal reference kernels for convolution and pooling, for reading and testing.

Each function is the textbook equation written as nested loops, one loop per index, on
NumPy arrays in NCHW order: nothing clever, so that it can be checked by eye. The fast
ops in ``conv.py`` and ``pool.py`` are tested against these. Forward only; use small
inputs (every output element costs a Python loop over its window).
"""

from __future__ import annotations

import numpy as np

__all__ = ["avg_pool2d_reference", "conv2d_reference", "max_pool2d_reference"]

IntOrPair = int | tuple[int, int]


def _pair(value: IntOrPair) -> tuple[int, int]:
    return (value, value) if isinstance(value, int) else (int(value[0]), int(value[1]))


def _pad(x: np.ndarray, padding: tuple[int, int], fill: float) -> np.ndarray:
    """x with ``padding`` rows/columns of ``fill`` on each side of H and W."""
    ph, pw = padding
    return np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)), constant_values=fill)


def conv2d_reference(
    x: np.ndarray,
    weight: np.ndarray,
    bias: np.ndarray | None = None,
    stride: IntOrPair = 1,
    padding: IntOrPair = 0,
    dilation: IntOrPair = 1,
    groups: int = 1,
) -> np.ndarray:
    """out[n,k,i,j] = b[k] + Σ_c Σ_p Σ_q w[k,c,p,q] · x_pad[n, g·C_g + c, i·s + p·d, j·s + q·d].

    g = k // (C_out / groups) is output channel k's group and C_g = C_in / groups the
    number of input channels each group sees.
    """
    (sh, sw), (dh, dw) = _pair(stride), _pair(dilation)
    x_pad = _pad(x, _pair(padding), 0.0)
    n_batch, _, h_pad, w_pad = x_pad.shape
    c_out, c_group, kh, kw = weight.shape
    h_out = (h_pad - dh * (kh - 1) - 1) // sh + 1
    w_out = (w_pad - dw * (kw - 1) - 1) // sw + 1
    out_per_group = c_out // groups
    out = np.zeros((n_batch, c_out, h_out, w_out), dtype=np.result_type(x, weight))
    for n in range(n_batch):
        for k in range(c_out):
            g = k // out_per_group
            for i in range(h_out):
                for j in range(w_out):
                    total = 0.0 if bias is None else bias[k]
                    for c in range(c_group):
                        for p in range(kh):
                            for q in range(kw):
                                pixel = x_pad[n, g * c_group + c, i * sh + p * dh, j * sw + q * dw]
                                total += weight[k, c, p, q] * pixel
                    out[n, k, i, j] = total
    return out


def max_pool2d_reference(
    x: np.ndarray,
    kernel_size: IntOrPair,
    stride: IntOrPair | None = None,
    padding: IntOrPair = 0,
) -> np.ndarray:
    """out[n,c,i,j] = max_{p<kH, q<kW} x_pad[n, c, i·s_h + p, j·s_w + q], padding −∞."""
    kh, kw = _pair(kernel_size)
    sh, sw = (kh, kw) if stride is None else _pair(stride)
    x_pad = _pad(x, _pair(padding), -np.inf)
    n_batch, channels, h_pad, w_pad = x_pad.shape
    h_out, w_out = (h_pad - kh) // sh + 1, (w_pad - kw) // sw + 1
    out = np.empty((n_batch, channels, h_out, w_out), dtype=x.dtype)
    for n in range(n_batch):
        for c in range(channels):
            for i in range(h_out):
                for j in range(w_out):
                    best = -np.inf
                    for p in range(kh):
                        for q in range(kw):
                            best = max(best, x_pad[n, c, i * sh + p, j * sw + q])
                    out[n, c, i, j] = best
    return out


def avg_pool2d_reference(
    x: np.ndarray,
    kernel_size: IntOrPair,
    stride: IntOrPair | None = None,
    padding: IntOrPair = 0,
) -> np.ndarray:
    """out[n,c,i,j] = (1/(kH·kW)) Σ_{p<kH, q<kW} x_pad[n, c, i·s_h + p, j·s_w + q], padding 0."""
    kh, kw = _pair(kernel_size)
    sh, sw = (kh, kw) if stride is None else _pair(stride)
    x_pad = _pad(x, _pair(padding), 0.0)
    n_batch, channels, h_pad, w_pad = x_pad.shape
    h_out, w_out = (h_pad - kh) // sh + 1, (w_pad - kw) // sw + 1
    out = np.empty((n_batch, channels, h_out, w_out), dtype=x.dtype)
    for n in range(n_batch):
        for c in range(channels):
            for i in range(h_out):
                for j in range(w_out):
                    total = 0.0
                    for p in range(kh):
                        for q in range(kw):
                            total += x_pad[n, c, i * sh + p, j * sw + q]
                    out[n, c, i, j] = total / (kh * kw)
    return out
