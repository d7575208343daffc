"""Volumes: ``conv3d``, ``conv_transpose3d``, ``max_pool3d`` and ``avg_pool3d`` over
(N, C, D, H, W) input, as PyTorch's.

All four see the (padded) input through one strided *window view* of shape
(N, C, D_out, H_out, W_out, kD, kH, kW) (no copy), so the forward pass is a contraction
or a reduction over the window axes, and every backward pass ends in ``fold``: the
gradient of each window element added back onto the input position it read, one
strided slice per kernel offset (kD·kH·kW slices, not one per voxel). The 2-D ops in
``conv.py`` and ``pool.py`` are tuned further (batch-innermost layout); these keep the
plain NCDHW layout, which is simpler and fast enough for the volumes programs use.
"""

from __future__ import annotations

import itertools
import math
from typing import Any

from shenjing.autograd.function import Function
from shenjing.backend import get_array_module
from shenjing.tensor import Tensor, as_tensor

__all__: list[str] = []  # F.conv3d and friends: functional names only, as in PyTorch

Triple = tuple[int, int, int]
Pads = tuple[tuple[int, int], tuple[int, int], tuple[int, int]]


def windows(xp: Any, x: Any, kernel: Triple, stride: Triple, dilation: Triple,
            out: Triple) -> Any:
    """The view w[n, c, d, h, w, i, j, k] = x[n, c, d·s + i·dil, h·s + j·dil, w·s + k·dil]."""
    s = x.strides
    shape = (*x.shape[:2], *out, *kernel)
    strides = (s[0], s[1], *(s[2 + a] * stride[a] for a in range(3)),
               *(s[2 + a] * dilation[a] for a in range(3)))
    return xp.lib.stride_tricks.as_strided(x, shape, strides, writeable=False)


def fold(xp: Any, gwin: Any, shape: tuple[int, ...], stride: Triple, dilation: Triple) -> Any:
    """The adjoint of ``windows``: zeros of ``shape`` with each window element's gradient
    added at the position it was read from (overlapping windows add up)."""
    g = xp.zeros(shape, dtype=gwin.dtype)
    out = gwin.shape[2:5]
    for offset in itertools.product(*(range(k) for k in gwin.shape[5:])):
        where = tuple(slice(o * dl, o * dl + st * (n - 1) + 1, st)
                      for o, dl, st, n in zip(offset, dilation, stride, out, strict=True))
        g[(slice(None), slice(None), *where)] += gwin[(..., *offset)]
    return g


def _pad(xp: Any, x: Any, pads: Pads, fill: float = 0.0) -> Any:
    if not any(p for pair in pads for p in pair):
        return x
    return xp.pad(x, ((0, 0), (0, 0), *pads), constant_values=fill)


def _crop(g: Any, pads: Pads, size: tuple[int, ...]) -> Any:
    return g[(slice(None), slice(None),
              *(slice(p[0], p[0] + n) for p, n in zip(pads, size, strict=True)))]


class Convolution3d(Function):
    """y[n, o, d, h, w] = b[o] + Σ_{c, i, j, k} W[o, c, i, j, k] · x_pad[n, c', d·s + i·dil, ...]
    (c' in o's group);  gW = Σ gy ⊗ windows, gx = fold(gy · W), gb = Σ gy."""

    def forward(self, x: Any, w: Any, b: Any = None, *, stride: Triple, pads: Pads,
                dilation: Triple, groups: int, out: Triple) -> Any:
        xp = get_array_module(x)
        self.x_shape, self.stride, self.pads, self.dilation = x.shape, stride, pads, dilation
        xpad = _pad(xp, x, pads)
        self.padded_shape = xpad.shape
        n, c = x.shape[:2]
        win = windows(xp, xpad, w.shape[2:], stride, dilation, out)
        self.win = win.reshape(n, groups, c // groups, *win.shape[2:])
        self.w = w.reshape(groups, w.shape[0] // groups, *w.shape[1:])
        y = xp.einsum("ngcdhwijk,gocijk->ngodhw", self.win, self.w, optimize=True)
        y = y.reshape(n, w.shape[0], *out)
        return y if b is None else y + b.reshape(1, -1, 1, 1, 1)

    def backward(self, gy: Any) -> tuple[Any, ...]:
        xp = get_array_module(gy)
        n, groups = gy.shape[0], self.w.shape[0]
        gy_g = gy.reshape(n, groups, -1, *gy.shape[2:])
        gx = gw = gb = None
        if self.needs_input_grad[0]:
            gwin = xp.einsum("ngodhw,gocijk->ngcdhwijk", gy_g, self.w, optimize=True)
            gwin = gwin.reshape(n, -1, *gwin.shape[3:])
            gx = _crop(fold(xp, gwin, self.padded_shape, self.stride, self.dilation),
                       self.pads, self.x_shape[2:])
        if self.needs_input_grad[1]:
            gw = xp.einsum("ngodhw,ngcdhwijk->gocijk", gy_g, self.win, optimize=True)
            gw = gw.reshape(-1, *gw.shape[2:])
        if len(self.needs_input_grad) > 2 and self.needs_input_grad[2]:
            gb = gy.sum(axis=(0, 2, 3, 4))
        return (gx, gw, gb)[:len(self.needs_input_grad)]


class ConvolutionTranspose3d(Function):
    """y = fold(x · W) cropped by the padding (the input gradient of a convolution with
    weight W, (C_in, C_out/groups, kD, kH, kW)) + b;  gx = Σ windows(gy) · W,
    gW = Σ x ⊗ windows(gy), gb = Σ gy."""

    def forward(self, x: Any, w: Any, b: Any = None, *, stride: Triple, pads: Pads,
                dilation: Triple, groups: int, out_size: Triple) -> Any:
        xp = get_array_module(x)
        n, c = x.shape[:2]
        self.x = x.reshape(n, groups, c // groups, *x.shape[2:])
        self.w = w.reshape(groups, c // groups, *w.shape[1:])
        self.stride, self.dilation, self.pads, self.out_size = stride, dilation, pads, out_size
        ywin = xp.einsum("ngcdhw,gcoijk->ngodhwijk", self.x, self.w, optimize=True)
        ywin = ywin.reshape(n, -1, *ywin.shape[3:])
        # the fold's extent, enlarged to hold the output (output_padding may reach past it)
        extent = tuple(max((m - 1) * s + dl * (k - 1) + 1, p[0] + o) for m, s, dl, k, p, o in
                       zip(x.shape[2:], stride, dilation, w.shape[2:], pads, out_size,
                           strict=True))
        self.extent = (n, ywin.shape[1], *extent)
        y = _crop(fold(xp, ywin, self.extent, stride, dilation), pads, out_size)
        return y if b is None else y + b.reshape(1, -1, 1, 1, 1)

    def backward(self, gy: Any) -> tuple[Any, ...]:
        xp = get_array_module(gy)
        n, groups = gy.shape[0], self.w.shape[0]
        full = xp.zeros(self.extent, dtype=gy.dtype)
        full[(slice(None), slice(None), *(slice(p[0], p[0] + o) for p, o in
                                          zip(self.pads, self.out_size, strict=True)))] = gy
        gwin = windows(xp, full, self.w.shape[3:], self.stride, self.dilation,
                       self.x.shape[3:])
        gwin = gwin.reshape(n, groups, -1, *gwin.shape[2:])
        gx = gw = gb = None
        if self.needs_input_grad[0]:
            gx = xp.einsum("ngodhwijk,gcoijk->ngcdhw", gwin, self.w, optimize=True)
            gx = gx.reshape(n, -1, *gx.shape[3:])
        if self.needs_input_grad[1]:
            gw = xp.einsum("ngcdhw,ngodhwijk->gcoijk", self.x, gwin, optimize=True)
            gw = gw.reshape(-1, *gw.shape[2:])
        if len(self.needs_input_grad) > 2 and self.needs_input_grad[2]:
            gb = gy.sum(axis=(0, 2, 3, 4))
        return (gx, gw, gb)[:len(self.needs_input_grad)]


class MaxPool3d(Function):
    """y = max over each window of x padded with −inf;  gx = fold(gy at each window's
    first maximum, 0 elsewhere)."""

    def forward(self, x: Any, *, kernel: Triple, stride: Triple, pads: Pads, dilation: Triple,
                out: Triple) -> Any:
        xp = get_array_module(x)
        self.x_shape, self.stride, self.pads, self.dilation = x.shape, stride, pads, dilation
        xpad = _pad(xp, x, pads, -math.inf)
        self.padded_shape = xpad.shape
        flat = windows(xp, xpad, kernel, stride, dilation, out).reshape(*x.shape[:2], *out, -1)
        self.first = flat.argmax(axis=-1)[..., None]  # PyTorch routes ties to the first
        self.kernel = kernel
        return xp.take_along_axis(flat, self.first, axis=-1)[..., 0]

    def backward(self, gy: Any) -> Any:
        xp = get_array_module(gy)
        hit = xp.arange(math.prod(self.kernel)) == self.first  # one-hot of each maximum
        gwin = (hit * gy[..., None]).reshape(*gy.shape, *self.kernel)
        return _crop(fold(xp, gwin, self.padded_shape, self.stride, self.dilation), self.pads,
                     self.x_shape[2:])


class AvgPool3d(Function):
    """y = Σ window / divisor (the kernel volume, the count of real voxels, or an override);
    gx = fold(gy / divisor spread over each window)."""

    def forward(self, x: Any, *, kernel: Triple, stride: Triple, pads: Pads, out: Triple,
                divisor: Any) -> Any:
        xp = get_array_module(x)
        self.x_shape, self.stride, self.pads, self.kernel = x.shape, stride, pads, kernel
        xpad = _pad(xp, x, pads)
        self.padded_shape = xpad.shape
        self.divisor = xp.asarray(divisor, dtype=x.dtype)
        win = windows(xp, xpad, kernel, stride, (1, 1, 1), out)
        return win.sum(axis=(-3, -2, -1)) / self.divisor

    def backward(self, gy: Any) -> Any:
        xp = get_array_module(gy)
        share = (gy / self.divisor)[..., None, None, None]
        gwin = xp.broadcast_to(share, (*gy.shape, *self.kernel))
        return _crop(fold(xp, gwin, self.padded_shape, self.stride, (1, 1, 1)), self.pads,
                     self.x_shape[2:])


# ----------------------------------------------------------------- the functions


def to_triple(op: str, name: str, value: Any, minimum: int) -> Triple:
    triple = (value,) * 3 if isinstance(value, int) and not isinstance(value, bool) else value
    if not isinstance(triple, (tuple, list)) or len(triple) != 3 or not all(
            isinstance(v, int) and not isinstance(v, bool) for v in triple):
        raise TypeError(f"{op}: {name} must be an int or three ints. Received: {value!r}")
    if min(triple) < minimum:
        raise ValueError(f"{op}: {name} must be at least {minimum}. Received: {value!r}")
    return (int(triple[0]), int(triple[1]), int(triple[2]))


def _check_5d(op: str, x: Tensor) -> tuple[Tensor, bool]:
    """x as (N, C, D, H, W); whether it came unbatched (C, D, H, W)."""
    if x.ndim == 4:
        return x.reshape((1, *x.shape)), True
    if x.ndim != 5:
        raise ValueError(f"{op} expects 5-D input (N, C, D, H, W) or 4-D (C, D, H, W). "
                         f"Received: shape={x.shape}")
    return x, False


def _out(op: str, size: tuple[int, ...], kernel: Triple, stride: Triple, pads: Pads,
         dilation: Triple) -> Triple:
    out = tuple((n + p[0] + p[1] - dl * (k - 1) - 1) // s + 1 for n, k, s, p, dl in
                zip(size, kernel, stride, pads, dilation, strict=True))
    if min(out) < 1:
        raise ValueError(f"{op}: the input {size} (padded by {pads}) is smaller than the "
                         f"kernel {kernel} with dilation {dilation}")
    return out  # type: ignore[return-value]


def _finish(y: Tensor, unbatched: bool) -> Tensor:
    return y.reshape(y.shape[1:]) if unbatched else y


def conv3d(input: Tensor, weight: Tensor, bias: Tensor | None = None, stride: Any = 1,  # noqa: A002
           padding: Any = 0, dilation: Any = 1, groups: int = 1) -> Tensor:
    """3-D convolution of (N, C_in, D, H, W) input with weight (C_out, C_in/groups, kD, kH,
    kW), as PyTorch's ``F.conv3d``; ``padding`` is ints or 'valid' / 'same'.

    Example:
        >>> import shenjing as sj
        >>> import shenjing.nn.functional as F
        >>> F.conv3d(sj.randn(2, 3, 5, 6, 7), sj.randn(4, 3, 3, 3, 3), padding=1).shape
        (2, 4, 5, 6, 7)
    """
    op = "conv3d"
    x, unbatched = _check_5d(op, as_tensor(input))
    w = as_tensor(weight)
    if w.ndim != 5 or not isinstance(groups, int) or groups < 1 or x.shape[1] % groups \
            or w.shape[0] % groups or w.shape[1] * groups != x.shape[1]:
        raise ValueError(f"{op}: weight must be (C_out, C_in/groups, kD, kH, kW) with C_in = "
                         f"{x.shape[1]}, groups = {groups}. Received: weight shape {w.shape}")
    if bias is not None and as_tensor(bias).shape != (w.shape[0],):
        raise ValueError(f"{op}: bias must have shape ({w.shape[0]},). Received: "
                         f"{as_tensor(bias).shape}")
    steps, dil = to_triple(op, "stride", stride, 1), to_triple(op, "dilation", dilation, 1)
    kernel = w.shape[2:]
    if padding == "valid":
        pads: Pads = ((0, 0),) * 3  # type: ignore[assignment]
    elif padding == "same":
        if steps != (1, 1, 1):
            raise ValueError(f"{op}: padding='same' needs stride 1. Received: stride={stride}")
        total = [dl * (k - 1) for dl, k in zip(dil, kernel, strict=True)]
        pads = tuple((t // 2, t - t // 2) for t in total)  # type: ignore[assignment]
    else:
        pads = tuple((p, p) for p in to_triple(op, "padding", padding, 0))  # type: ignore[assignment]
    out = _out(op, x.shape[2:], kernel, steps, pads, dil)
    tensors = [x, w] + ([] if bias is None else [as_tensor(bias)])
    y = Convolution3d.apply(*tensors, stride=steps, pads=pads, dilation=dil, groups=groups,
                            out=out)
    return _finish(y, unbatched)


def conv_transpose3d(input: Tensor, weight: Tensor, bias: Tensor | None = None,  # noqa: A002
                     stride: Any = 1, padding: Any = 0, output_padding: Any = 0,
                     groups: int = 1, dilation: Any = 1) -> Tensor:
    """3-D transposed convolution (the gradient of ``conv3d`` with respect to its input)
    of (N, C_in, D, H, W) input with weight (C_in, C_out/groups, kD, kH, kW), as PyTorch's
    ``F.conv_transpose3d``: D_out = (D − 1)·s − 2·p + dil·(k − 1) + output_padding + 1.

    Example:
        >>> import shenjing as sj
        >>> import shenjing.nn.functional as F
        >>> F.conv_transpose3d(sj.randn(1, 4, 3, 3, 3), sj.randn(4, 2, 2, 2, 2), stride=2).shape
        (1, 2, 6, 6, 6)
    """
    op = "conv_transpose3d"
    x, unbatched = _check_5d(op, as_tensor(input))
    w = as_tensor(weight)
    if w.ndim != 5 or not isinstance(groups, int) or groups < 1 or w.shape[0] != x.shape[1] \
            or x.shape[1] % groups:
        raise ValueError(f"{op}: weight must be (C_in, C_out/groups, kD, kH, kW) with C_in = "
                         f"{x.shape[1]}, groups = {groups}. Received: weight shape {w.shape}")
    steps, dil = to_triple(op, "stride", stride, 1), to_triple(op, "dilation", dilation, 1)
    pad3 = to_triple(op, "padding", padding, 0)
    extra = to_triple(op, "output_padding", output_padding, 0)
    if any(e >= max(s, dl) for e, s, dl in zip(extra, steps, dil, strict=True)):
        raise ValueError(f"{op}: output_padding must be smaller than stride or dilation. "
                         f"Received: output_padding={output_padding}, stride={stride}")
    out = tuple((n - 1) * s - 2 * p + dl * (k - 1) + e + 1 for n, s, p, dl, k, e in
                zip(x.shape[2:], steps, pad3, dil, w.shape[2:], extra, strict=True))
    if min(out) < 1:
        raise ValueError(f"{op}: the output size {out} is not positive")
    c_out = w.shape[1] * groups
    if bias is not None and as_tensor(bias).shape != (c_out,):
        raise ValueError(f"{op}: bias must have shape ({c_out},). Received: "
                         f"{as_tensor(bias).shape}")
    tensors = [x, w] + ([] if bias is None else [as_tensor(bias)])
    y = ConvolutionTranspose3d.apply(*tensors, stride=steps,
                                     pads=tuple((p, p) for p in pad3), dilation=dil,
                                     groups=groups, out_size=out)
    return _finish(y, unbatched)


def _pool_geometry(op: str, kernel_size: Any, stride: Any, padding: Any,
                   ceil_mode: bool) -> tuple[Triple, Triple, Pads]:
    if ceil_mode:
        raise NotImplementedError(f"{op}: ceil_mode=True is not supported")
    kernel = to_triple(op, "kernel_size", kernel_size, 1)
    steps = kernel if stride is None or stride == [] else to_triple(op, "stride", stride, 1)
    pad3 = to_triple(op, "padding", padding, 0)
    if any(2 * p > k for p, k in zip(pad3, kernel, strict=True)):
        raise ValueError(f"{op}: padding should be at most half of the kernel size. "
                         f"Received: padding={padding}, kernel_size={kernel_size}")
    return kernel, steps, tuple((p, p) for p in pad3)  # type: ignore[return-value]


def max_pool3d(input: Tensor, kernel_size: Any, stride: Any = None, padding: Any = 0,  # noqa: A002
               dilation: Any = 1, ceil_mode: bool = False,
               return_indices: bool = False) -> Tensor:
    """The maximum of each (kD, kH, kW) window of (N, C, D, H, W) input, as PyTorch's
    ``F.max_pool3d`` (stride defaults to the kernel; padding counts as −inf).
    ``ceil_mode`` and ``return_indices`` are not supported and raise."""
    op = "max_pool3d"
    if return_indices:
        raise NotImplementedError(f"{op}: return_indices=True is not supported")
    x, unbatched = _check_5d(op, as_tensor(input))
    kernel, steps, pads = _pool_geometry(op, kernel_size, stride, padding, ceil_mode)
    dil = to_triple(op, "dilation", dilation, 1)
    out = _out(op, x.shape[2:], kernel, steps, pads, dil)
    return _finish(MaxPool3d.apply(x, kernel=kernel, stride=steps, pads=pads, dilation=dil,
                                   out=out), unbatched)


def avg_pool3d(input: Tensor, kernel_size: Any, stride: Any = None, padding: Any = 0,  # noqa: A002
               ceil_mode: bool = False, count_include_pad: bool = True,
               divisor_override: int | None = None) -> Tensor:
    """The mean of each (kD, kH, kW) window of (N, C, D, H, W) input, as PyTorch's
    ``F.avg_pool3d``: padding counts as zeros in the mean unless ``count_include_pad`` is
    False; ``divisor_override`` replaces the divisor. ``ceil_mode`` is not supported."""
    op = "avg_pool3d"
    x, unbatched = _check_5d(op, as_tensor(input))
    kernel, steps, pads = _pool_geometry(op, kernel_size, stride, padding, ceil_mode)
    out = _out(op, x.shape[2:], kernel, steps, pads, (1, 1, 1))
    xp = get_array_module(x.array)
    if divisor_override is not None:
        if isinstance(divisor_override, bool) or not isinstance(divisor_override, int) \
                or divisor_override < 1:
            raise ValueError(f"{op}: divisor_override must be a positive int. Received: "
                             f"{divisor_override!r}")
        divisor: Any = float(divisor_override)
    elif count_include_pad:
        divisor = float(math.prod(kernel))
    else:  # the real (unpadded) voxels in each window
        ones = _pad(xp, xp.ones((1, 1, *x.shape[2:]), dtype=x.dtype), pads)
        divisor = windows(xp, ones, kernel, steps, (1, 1, 1), out).sum(axis=(-3, -2, -1))
    return _finish(AvgPool3d.apply(x, kernel=kernel, stride=steps, pads=pads, out=out,
                                   divisor=divisor), unbatched)
