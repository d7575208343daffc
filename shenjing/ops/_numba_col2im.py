"""``conv.py``'s col2im as one compiled loop (the CPU kernel tier).

NumPy's col2im adds the columns back onto the input gradient by one strided slice-add
per kernel offset (p, q): kH·kW read-modify-write passes over the whole gradient, each a
walk over short runs (W_out·N floats). Here it is one loop nest over the same runs:

    gx[c, i·s_h + p·d_h, j·s_w + q·d_w, n] += gcols[(c, p, q), (i, j, n)]

on (C, H, W, N) arrays, with a unit column stride a contiguous run of W_out·N floats at a
time. For one pixel the additions come in NumPy's order (offset by offset), so the sums
are the same, bit for bit. LeNet-5's second layer at batch 64: about 0.2 ms against
NumPy's 0.6–1.0 ms (one thread). (im2col stays NumPy's: its copy out of a window view
measured as fast as a compiled loop.)
"""

from __future__ import annotations

from typing import Any

import numpy as np

from shenjing import kernels
from shenjing.kernels import kernel


def wanted(a: Any) -> bool:
    """Whether col2im into this array's dtype runs as the kernel."""
    return (type(a) is np.ndarray and a.dtype in (np.float32, np.float64)
            and kernels.enabled())


@kernel
def _col2im(gcols: Any, gx: Any, kh: int, kw: int, sh: int, sw: int, dh: int, dw: int,
            ho: int, wo: int) -> None:  # pragma: no cover - compiled
    channels, height, width, batch = gx.shape
    g3 = gx.reshape(channels, height, width * batch)
    run = wo * batch
    for c in range(channels):
        for p in range(kh):
            for q in range(kw):
                row = gcols[(c * kh + p) * kw + q]
                for i in range(ho):
                    dst = g3[c, i * sh + p * dh]
                    src = row[i * run:(i + 1) * run]
                    if sw == 1:
                        start = q * dw * batch
                        out = dst[start:start + run]
                        for t in range(run):
                            out[t] += src[t]
                    else:
                        for j in range(wo):
                            start = (j * sw + q * dw) * batch
                            for n in range(batch):
                                dst[start + n] += src[j * batch + n]


def col2im(gcols: Any, padded_shape: tuple[int, ...], kernel_size: tuple[int, int],
           stride: tuple[int, int], dilation: tuple[int, int],
           out_size: tuple[int, int]) -> Any:
    """``conv.col2im`` by the kernel: the (C, H, W, N) gradient of im2col's input."""
    gcols = np.ascontiguousarray(gcols).reshape(-1, out_size[0] * out_size[1]
                                                * padded_shape[3])
    gx = np.zeros(padded_shape, gcols.dtype)
    _col2im(gcols, gx, *kernel_size, *stride, *dilation, *out_size)
    return gx
