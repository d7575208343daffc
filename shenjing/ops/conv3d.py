"""3-D convolution and transposed convolution, on N-d im2col helpers.

The same machinery as ``conv.py`` (see its notes), written for any number of spatial
axes: an (N, C, D, H, W) input is moved to the batch-innermost layout (C, D, H, W, N),
every receptive field is viewed with ``as_strided`` and copied once into the columns
(C·kD·kH·kW, D_out·H_out·W_out·N), and the convolution is one matrix product per group.
The 1-D and 2-D ops keep their own tuned code in ``conv.py``; these helpers serve the
3-D ops (and ``pool3d.py``), so the 2-D path is unchanged.
"""

from __future__ import annotations

import itertools
import math
from typing import Any

from shenjing.autograd.function import Function
from shenjing.backend import get_array_module
from shenjing.tensor import Tensor, as_tensor

__all__ = ["conv3d", "conv_transpose3d"]

Sizes = tuple[int, ...]
Pads = tuple[tuple[int, int], ...]


# ------------------------------------------------------------- argument checking


def to_tuple(op: str, name: str, value: Any, minimum: int, n: int = 3) -> Sizes:
    """``value`` (an int or ``n`` ints) as an ``n``-tuple, each at least ``minimum``."""
    items = (value,) * n if isinstance(value, int) else value
    if not isinstance(items, (tuple, list)) or len(items) != n or not all(
            isinstance(v, int) and not isinstance(v, bool) for v in items):
        raise TypeError(f"{op}: {name} must be an int or a tuple of {n} ints. "
                        f"Received: {value!r}")
    if min(items) < minimum:
        raise ValueError(f"{op}: {name} must be at least {minimum}. Received: {value!r}")
    return tuple(items)


def nd_output_size(op: str, in_size: Sizes, kernel: Sizes, stride: Sizes, padding: Pads,
                   dilation: Sizes) -> Sizes:
    """out = ⌊(n + pads − d·(k − 1) − 1) / s⌋ + 1 per axis; the kernel must fit."""
    padded = [n + sum(p) for n, p in zip(in_size, padding, strict=True)]
    extent = [d * (k - 1) + 1 for d, k in zip(dilation, kernel, strict=True)]
    if any(p < e for p, e in zip(padded, extent, strict=True)):
        raise ValueError(
            f"{op}: the kernel {kernel} (extent {tuple(extent)} with dilation {dilation}) is "
            f"larger than the padded input {tuple(padded)}. Received: input size {in_size}"
        )
    return tuple((p - e) // s + 1 for p, e, s in zip(padded, extent, stride, strict=True))


# ------------------------------------------------------------- N-d layout helpers


def to_batch_inner_nd(x: Any, padding: Pads, fill: float = 0.0) -> Any:
    """An (N, C, *S) array as a contiguous (C, *S padded, N) array (one copy)."""
    xp = get_array_module(x)
    xt = x.transpose(*range(1, x.ndim), 0)
    if not any(a or b for a, b in padding):
        return xp.ascontiguousarray(xt)
    shape = (xt.shape[0], *(s + a + b for s, (a, b) in zip(xt.shape[1:-1], padding,
                                                               strict=True)), xt.shape[-1])
    out = xp.zeros(shape, x.dtype) if fill == 0 else xp.full(shape, fill, x.dtype)
    out[(slice(None), *(slice(a, a + s) for s, (a, _) in zip(xt.shape[1:-1], padding,
                                                              strict=True)))] = xt
    return out


def from_batch_inner_nd(xt: Any, padding: Pads) -> Any:
    """A (C, *S, N) array, padding cropped, as an (N, C, *S) view."""
    index = (slice(None), *(slice(a, s - b) for s, (a, b) in zip(xt.shape[1:-1], padding,
                                                                 strict=True)))
    return xt[index].transpose(xt.ndim - 1, *range(xt.ndim - 1))


def windows_nd(xt: Any, kernel: Sizes, stride: Sizes, dilation: Sizes, out: Sizes) -> Any:
    """Every window of a (C, *S, N) array as a (C, *kernel, *out, N) view (no copy):
    w[c, p…, i…, n] = x[c, i·s + p·d …, n]."""
    strides = xt.strides
    inner = strides[1:-1]
    return get_array_module(xt).lib.stride_tricks.as_strided(
        xt, shape=(xt.shape[0], *kernel, *out, xt.shape[-1]),
        strides=(strides[0], *(d * s for d, s in zip(dilation, inner, strict=True)),
                 *(st * s for st, s in zip(stride, inner, strict=True)), strides[-1]),
    )


def im2col_nd(xt: Any, kernel: Sizes, stride: Sizes, dilation: Sizes, out: Sizes) -> Any:
    """Receptive fields of a (C, *S, N) array as columns (C·∏k, ∏out·N): one copy."""
    return windows_nd(xt, kernel, stride, dilation, out).reshape(
        xt.shape[0] * math.prod(kernel), -1)


def offset_index(offset: Sizes, dilation: Sizes, stride: Sizes, out: Sizes) -> tuple:
    """The pixels that kernel offset ``offset`` reads for every output position."""
    return (slice(None), *(slice(p * d, p * d + s * (o - 1) + 1, s) for p, d, s, o in
                           zip(offset, dilation, stride, out, strict=True)))


def col2im_nd(gcols: Any, padded_shape: Sizes, kernel: Sizes, stride: Sizes,
              dilation: Sizes, out: Sizes) -> Any:
    """The adjoint of ``im2col_nd``: one strided slice-add per kernel offset (within one
    offset no two output positions read the same pixel)."""
    xp = get_array_module(gcols)
    gx = xp.zeros(padded_shape, gcols.dtype)
    blocks = gcols.reshape(padded_shape[0], *kernel, *out, padded_shape[-1])
    for offset in itertools.product(*(range(k) for k in kernel)):
        gx[offset_index(offset, dilation, stride, out)] += blocks[(slice(None), *offset)]
    return gx


# ------------------------------------------------------------- the ops


class Convolution3d(Function):
    """Cross-correlation over three spatial axes, as PyTorch's conv3d. Per group g:

        y[n,k,a,i,j] = b[k] + Σ_c Σ_{r,p,q} W[k,c,r,p,q] ·
                       x_pad[n, g·C_g + c, a·s_d + r·d_d, i·s_h + p·d_h, j·s_w + q·d_w]

    as Y_g = W_g @ cols_g. Backward: gW_g = gY_g @ cols_gᵀ; gb[k] = Σ gy[n,k,…];
    gx = col2im(W_gᵀ @ gY_g), cropped to the unpadded input.
    """

    def forward(self, x: Any, weight: Any, bias: Any = None, *, stride: Sizes, padding: Pads,
                dilation: Sizes, groups: int) -> Any:
        xp = get_array_module(x)
        n = x.shape[0]
        c_out, c_group, *kernel = weight.shape
        kernel = tuple(kernel)
        out = nd_output_size("conv3d", x.shape[2:], kernel, stride, padding, dilation)
        xt = to_batch_inner_nd(x, padding)
        cols = im2col_nd(xt, kernel, stride, dilation, out).reshape(groups, -1, math.prod(out) * n)
        w_groups = weight.reshape(groups, c_out // groups, -1)
        yt = xp.matmul(w_groups, cols).reshape(c_out, *out, n)
        if bias is not None:
            yt += bias[:, None, None, None, None]
        needs = getattr(self, "needs_input_grad", (False, False))
        self.geometry = (stride, padding, dilation, groups, kernel, out, xt.shape)
        self.weight_shape = weight.shape
        self.cols = cols if needs[1] else None
        self.w_groups = w_groups if needs[0] else None
        return yt.transpose(4, 0, 1, 2, 3)

    def backward(self, gy: Any) -> tuple[Any, ...]:
        xp = get_array_module(gy)
        stride, padding, dilation, groups, kernel, out, padded_shape = self.geometry
        c_out = gy.shape[1]
        gyt = xp.ascontiguousarray(gy.transpose(1, 2, 3, 4, 0)).reshape(groups, c_out // groups,
                                                                          -1)
        gx = gw = gb = None
        if self.needs_input_grad[0]:
            gcols = xp.matmul(self.w_groups.transpose(0, 2, 1), gyt)
            gx = from_batch_inner_nd(col2im_nd(gcols, padded_shape, kernel, stride, dilation,
                                               out), padding)
        if self.needs_input_grad[1]:
            gw = xp.matmul(gyt, self.cols.transpose(0, 2, 1)).reshape(self.weight_shape)
        if len(self.needs_input_grad) == 3 and self.needs_input_grad[2]:
            gb = gyt.reshape(c_out, -1).sum(axis=1)
        return (gx, gw) if len(self.needs_input_grad) == 2 else (gx, gw, gb)


class ConvolutionTranspose3d(Function):
    """The adjoint of conv3d in its input: for input channel c of group g and output
    channel k = g·(C_out/G) + k',

        y_canvas[n, k, a·s_d + r·d_d, i·s_h + p·d_h, j·s_w + q·d_w] += x[n,c,a,i,j]·W[c,k',r,p,q],
        y = y_canvas cropped by the padding (+ b[k]).

    Backward: cols = im2col(gy put back on the canvas); gx_g = W_g @ cols_g;
    gW_g = x_g @ cols_gᵀ; gb[k] = Σ gy[n,k,…].
    """

    def forward(self, x: Any, weight: Any, bias: Any = None, *, stride: Sizes, padding: Pads,
                dilation: Sizes, groups: int, canvas: Sizes) -> Any:
        xp = get_array_module(x)
        n, c_in, *in_size = x.shape
        _, c_group, *kernel = weight.shape
        kernel, in_size = tuple(kernel), tuple(in_size)
        xt = to_batch_inner_nd(x, ((0, 0),) * 3).reshape(groups, c_in // groups, -1)
        w_groups = weight.reshape(groups, c_in // groups, -1)
        gcols = xp.matmul(w_groups.transpose(0, 2, 1), xt)
        yt = col2im_nd(gcols, (c_group * groups, *canvas, n), kernel, stride, dilation, in_size)
        y = from_batch_inner_nd(yt, padding)
        if bias is not None:
            y = y + bias[:, None, None, None]
        needs = getattr(self, "needs_input_grad", (False, False))
        self.geometry = (stride, padding, dilation, kernel, in_size)
        self.weight_shape = weight.shape
        self.groups = groups
        self.xt = xt if needs[1] else None
        self.w_groups = w_groups if needs[0] else None
        return y

    def backward(self, gy: Any) -> tuple[Any, ...]:
        xp = get_array_module(gy)
        stride, padding, dilation, kernel, in_size = self.geometry
        n = gy.shape[0]
        cols = im2col_nd(to_batch_inner_nd(gy, padding), kernel, stride, dilation, in_size)
        cols = cols.reshape(self.groups, -1, cols.shape[-1])
        gx = gw = gb = None
        if self.needs_input_grad[0]:
            gx = xp.matmul(self.w_groups, cols).reshape(-1, *in_size, n).transpose(4, 0, 1, 2, 3)
        if self.needs_input_grad[1]:
            gw = xp.matmul(self.xt, cols.transpose(0, 2, 1)).reshape(self.weight_shape)
        if len(self.needs_input_grad) == 3 and self.needs_input_grad[2]:
            gb = gy.sum(axis=(0, 2, 3, 4))
        return (gx, gw) if len(self.needs_input_grad) == 2 else (gx, gw, gb)


# ------------------------------------------------------------- the functions


def _check_channels(op: str, x: Tensor, weight: Tensor, bias: Any, groups: Any,
                    c_out: int, weight_layout: str) -> None:
    if x.ndim != 5 or weight.ndim != 5:
        raise ValueError(f"{op} expects 5-D input (N, C, D, H, W) and a 5-D weight "
                         f"{weight_layout}. Received: input shape {x.shape}, weight shape "
                         f"{weight.shape}")
    if not isinstance(groups, int) or isinstance(groups, bool) or groups < 1:
        raise ValueError(f"{op}: groups must be a positive int. Received: {groups!r}")
    if bias is not None and tuple(bias.shape) != (c_out,):
        raise ValueError(f"{op}: bias must have shape ({c_out},). Received: bias shape "
                         f"{bias.shape}")


def conv3d(
    input: Tensor,
    weight: Tensor,
    bias: Tensor | None = None,
    stride: int | Sizes = 1,
    padding: int | Sizes | str = 0,
    dilation: int | Sizes = 1,
    groups: int = 1,
) -> Tensor:
    """3-D convolution (cross-correlation) of an (N, C_in, D, H, W) batch, as PyTorch's.

    y[n,k,a,i,j] = b[k] + Σ_c Σ_{r,p,q} W[k,c,r,p,q] · x_pad[n, c, a·s + r·d, i·s + p·d,
    j·s + q·d], D_out = ⌊(D + 2·pad − d·(kD − 1) − 1) / s⌋ + 1 (likewise H, W).

    Args:
        input: (N, C_in, D, H, W).
        weight: (C_out, C_in/groups, kD, kH, kW), PyTorch's layout.
        bias: (C_out,) or None.
        stride, dilation: an int or a (d, h, w) triple, at least 1.
        padding: an int, a triple, "valid" or "same" (stride 1 only; an odd total goes
            to the far side, as in PyTorch).
        groups: independent channel groups.

    Example:
        >>> import shenjing as sj
        >>> sj.conv3d(sj.ones(1, 2, 4, 4, 4), sj.ones(3, 2, 3, 3, 3), padding=1).shape
        (1, 3, 4, 4, 4)
    """
    op = "conv3d"
    x, weight = as_tensor(input), as_tensor(weight)
    bias = None if bias is None else as_tensor(bias)
    c_out = weight.shape[0] if weight.ndim else 0
    _check_channels(op, x, weight, bias, groups, c_out, "(C_out, C_in/groups, kD, kH, kW)")
    if c_out % groups or x.shape[1] != weight.shape[1] * groups:
        raise ValueError(
            f"{op}: expected input with {weight.shape[1] * groups} channels (weight.shape[1]="
            f"{weight.shape[1]} × groups={groups}) and out channels divisible by groups. "
            f"Received: input shape={x.shape}, weight shape={weight.shape}")
    steps = to_tuple(op, "stride", stride, 1)
    spacing = to_tuple(op, "dilation", dilation, 1)
    kernel = tuple(weight.shape[2:])
    if isinstance(padding, str):
        if padding not in ("same", "valid"):
            raise ValueError(f"{op}: padding must be 'valid', 'same' or ints. Received: "
                             f"{padding!r}")
        if padding == "same" and steps != (1, 1, 1):
            raise ValueError(f"{op}: padding='same' needs stride 1. Received: stride={steps}")
        totals = [d * (k - 1) if padding == "same" else 0 for d, k in zip(spacing, kernel,
                                                                          strict=True)]
        pads = tuple((t // 2, t - t // 2) for t in totals)
    else:
        pads = tuple((p, p) for p in to_tuple(op, "padding", padding, 0))
    nd_output_size(op, tuple(x.shape[2:]), kernel, steps, pads, spacing)
    inputs = (x, weight) if bias is None else (x, weight, bias)
    return Convolution3d.apply(*inputs, stride=steps, padding=pads, dilation=spacing,
                               groups=groups)


def conv_transpose3d(
    input: Tensor,
    weight: Tensor,
    bias: Tensor | None = None,
    stride: int | Sizes = 1,
    padding: int | Sizes = 0,
    output_padding: int | Sizes = 0,
    groups: int = 1,
    dilation: int | Sizes = 1,
) -> Tensor:
    """3-D transposed convolution of (N, C_in, D, H, W), as PyTorch's (argument order too).

    ``weight`` is (C_in, C_out/groups, kD, kH, kW). D_out = (D − 1)·s − 2·pad +
    d·(kD − 1) + output_padding + 1 (likewise H, W); ``output_padding`` must be smaller
    than the stride or the dilation.

    Example:
        >>> import shenjing as sj
        >>> sj.conv_transpose3d(sj.ones(1, 4, 3, 3, 3), sj.ones(4, 2, 3, 3, 3), stride=2,
        ...                     padding=1, output_padding=1).shape
        (1, 2, 6, 6, 6)
    """
    op = "conv_transpose3d"
    x, weight = as_tensor(input), as_tensor(weight)
    bias = None if bias is None else as_tensor(bias)
    c_out = weight.shape[1] * groups if weight.ndim == 5 and isinstance(groups, int) else 0
    _check_channels(op, x, weight, bias, groups, c_out, "(C_in, C_out/groups, kD, kH, kW)")
    if x.shape[1] % groups or weight.shape[0] != x.shape[1]:
        raise ValueError(f"{op}: weight.shape[0] must equal the input channels, a multiple "
                         f"of groups. Received: input shape {x.shape}, weight shape "
                         f"{weight.shape}, groups={groups}")
    steps = to_tuple(op, "stride", stride, 1)
    pads = to_tuple(op, "padding", padding, 0)
    extra = to_tuple(op, "output_padding", output_padding, 0)
    spacing = to_tuple(op, "dilation", dilation, 1)
    for o, s, d in zip(extra, steps, spacing, strict=True):
        if o >= max(s, d):
            raise ValueError(f"{op}: output_padding must be smaller than stride or dilation. "
                             f"Received: output_padding={extra}, stride={steps}, "
                             f"dilation={spacing}")
    canvas = tuple((n - 1) * s + d * (k - 1) + 1 + o for n, s, d, k, o in
                   zip(x.shape[2:], steps, spacing, weight.shape[2:], extra, strict=True))
    if any(c - 2 * p < 1 for c, p in zip(canvas, pads, strict=True)):
        raise ValueError(f"{op}: the padding {pads} leaves no output from the input "
                         f"{tuple(x.shape[2:])}")
    inputs = (x, weight) if bias is None else (x, weight, bias)
    return ConvolutionTranspose3d.apply(*inputs, stride=steps, padding=tuple((p, p) for p in pads),
                                        dilation=spacing, groups=groups, canvas=canvas)
