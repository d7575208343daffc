"""Convolution (1-D and 2-D) by im2col and one matrix product per group.

A convolution is a matrix product in disguise. Copy every receptive field of the
(padded) input into one column of a matrix, ``cols`` of shape (C_in·kH·kW, positions),
and the convolution becomes ``W₂ @ cols`` with the weight flattened to
(C_out, C_in·kH·kW). The backward pass is two more products: ``gW₂ = gy @ colsᵀ`` and
``gcols = W₂ᵀ @ gy``, and ``gcols`` is scattered back onto the input's pixels (col2im).

Memory layout. On NumPy the matrix products are fast and the data movement around them
(copying windows into ``cols``, adding ``gcols`` back, pooling) is what costs. Those
copies run fast only when the innermost axis they stride along is long and contiguous.
In NCHW that axis is a row of W_out pixels: 10 floats for LeNet's second layer, so
NumPy spends its time on loop overhead. The ops here therefore compute on
*batch-innermost* arrays of shape (C, H, W, N): a row of windows is then W_out·N
contiguous floats (640 for LeNet at batch 64). On LeNet's second layer that takes im2col
from 0.75 to 0.18 ms and col2im from 2.5 to 0.6 ms, and 2x2 max pooling of the first
layer's output from 7 to 0.3 ms (one thread, batch 64). The matrix product writes
(C_out, H_out, W_out, N) directly, and the op returns it as an (N, C, H, W)-shaped
*view* (``transpose``), the way PyTorch's channels_last tensors keep an NCHW shape over
NHWC memory. Elementwise ops keep that memory order, so a conv → relu → pool → conv
stack never transposes; an input in plain NCHW order is transposed once, on the way in.
"""

from __future__ import annotations

import functools
from typing import Any

from shenjing.autograd.function import Function
from shenjing.backend import get_array_module
from shenjing.ops import _numba_col2im as numba_col2im
from shenjing.ops import _numba_direct as numba_direct
from shenjing.tensor import Tensor

__all__ = ["conv1d", "conv2d"]

Pair = tuple[int, int]
Padding = tuple[Pair, Pair]  # ((top, bottom), (left, right))


# ------------------------------------------------------------- argument checking


def to_pair(op: str, name: str, value: Any, minimum: int) -> Pair:
    """``value`` (an int or a pair of ints) as a pair, each at least ``minimum``."""
    # The common cases first, in a few comparisons: layers call this on every forward.
    if type(value) is int and value >= minimum:
        return (value, value)
    if (type(value) is tuple and len(value) == 2 and type(value[0]) is int
            and type(value[1]) is int and value[0] >= minimum and value[1] >= minimum):
        return value
    pair = (value, value) if isinstance(value, int) else value
    is_int = [isinstance(v, int) and not isinstance(v, bool) for v in _iterable(pair)]
    if len(is_int) != 2 or not all(is_int):
        raise TypeError(f"{op}: {name} must be an int or a pair of ints. Received: {value!r}")
    if min(pair) < minimum:
        raise ValueError(f"{op}: {name} must be at least {minimum}. Received: {value!r}")
    return (pair[0], pair[1])


def _iterable(value: Any) -> tuple[Any, ...]:
    return tuple(value) if isinstance(value, (tuple, list)) else (value,)


def to_single(op: str, name: str, value: Any, minimum: int) -> int:
    """``value`` as one int (a 1-tuple is accepted, as in PyTorch), at least ``minimum``."""
    if isinstance(value, (tuple, list)) and len(value) == 1:
        value = value[0]
    if not isinstance(value, int) or isinstance(value, bool):
        raise TypeError(f"{op}: {name} must be an int. Received: {value!r}")
    if value < minimum:
        raise ValueError(f"{op}: {name} must be at least {minimum}. Received: {value!r}")
    return value


def output_size(
    op: str,
    in_size: Pair,
    kernel: Pair,
    stride: Pair,
    padding: Padding,
    dilation: Pair = (1, 1),
) -> Pair:
    """H_out, W_out = ⌊(H + pads − d·(k − 1) − 1) / s⌋ + 1; the kernel must fit."""
    padded = tuple(n + sum(pad) for n, pad in zip(in_size, padding, strict=True))
    extent = tuple(d * (k - 1) + 1 for d, k in zip(dilation, kernel, strict=True))
    if padded[0] < extent[0] or padded[1] < extent[1]:
        pads = tuple(pad[0] if pad[0] == pad[1] else pad for pad in padding)
        raise ValueError(
            f"{op}: the kernel {kernel} (extent {extent} with dilation {dilation}) is larger "
            f"than the padded input {padded}. Received: input size {in_size}, padding {pads}"
        )
    return (
        (padded[0] - extent[0]) // stride[0] + 1,
        (padded[1] - extent[1]) // stride[1] + 1,
    )


# The forwards ask the same few geometries on every call, with plain ints (array shapes);
# the argument checks keep the uncached one, as graph building passes unknown sizes
# (``Dim``s, which all compare equal) there.
forward_output_size = functools.lru_cache(maxsize=1024)(output_size)


# ------------------------------------------------------------- layout helpers


def to_batch_inner(x: Any, padding: Padding, fill: float = 0.0) -> Any:
    """An (N, C, H, W) array as a contiguous (C, H + pads, W + pads, N) array.

    Free when ``x`` is already a view of batch-innermost memory and needs no padding;
    otherwise one copy (into a buffer of ``fill`` for the padding).
    """
    xp = get_array_module(x)
    xt = x.transpose(1, 2, 3, 0)
    (top, bottom), (left, right) = padding
    if top == bottom == left == right == 0:
        return xp.ascontiguousarray(xt)
    c, h, w, n = xt.shape
    shape = (c, top + h + bottom, left + w + right, n)
    padded = xp.zeros(shape, x.dtype) if fill == 0 else xp.full(shape, fill, x.dtype)
    padded[:, top : top + h, left : left + w] = xt
    return padded


def from_batch_inner(xt: Any, padding: Padding = ((0, 0), (0, 0))) -> Any:
    """A (C, H, W, N) array, padding cropped, as an (N, C, H, W) view (no copy)."""
    (top, bottom), (left, right) = padding
    h, w = xt.shape[1], xt.shape[2]
    return xt[:, top : h - bottom, left : w - right].transpose(3, 0, 1, 2)


def offset_slice(p: int, q: int, size: Pair, stride: Pair) -> tuple[slice, slice, slice]:
    """Index of the pixels a kernel offset (p, q) touches in a (C, H, W, N) array.

    Output pixel (i, j) reads input pixel (p + i·s_h, q + j·s_w); ``p`` and ``q``
    already include any dilation.
    """
    return (
        slice(None),
        slice(p, p + stride[0] * (size[0] - 1) + 1, stride[0]),
        slice(q, q + stride[1] * (size[1] - 1) + 1, stride[1]),
    )


def im2col(xt: Any, kernel: Pair, stride: Pair, dilation: Pair, out_size: Pair) -> Any:
    """Receptive fields of a (C, H, W, N) array as columns: (C·kH·kW, H_out·W_out·N).

    cols[(c, p, q), (i, j, n)] = x[c, i·s_h + p·d_h, j·s_w + q·d_w, n]. The window view
    costs nothing; the reshape makes the one copy.
    """
    xp = get_array_module(xt)
    c, n = xt.shape[0], xt.shape[3]
    sc, sh, sw, sn = xt.strides
    windows = xp.lib.stride_tricks.as_strided(
        xt,
        shape=(c, kernel[0], kernel[1], out_size[0], out_size[1], n),
        strides=(sc, dilation[0] * sh, dilation[1] * sw, stride[0] * sh, stride[1] * sw, sn),
    )
    return windows.reshape(c * kernel[0] * kernel[1], -1)


def col2im(
    gcols: Any, padded_shape: tuple[int, ...], kernel: Pair, stride: Pair, dilation: Pair,
    out_size: Pair,
) -> Any:
    """The adjoint of ``im2col``: add each column entry back onto the pixel it came from.

    gx[c, i·s_h + p·d_h, j·s_w + q·d_w, n] += gcols[(c, p, q), (i, j, n)], as one strided
    slice-add per kernel offset (p, q): overlapping windows make ``np.add.at``-free
    scattering safe, because within one offset no two (i, j) hit the same pixel.
    """
    if numba_col2im.wanted(gcols):  # the kernel tier: the same sums, one compiled loop
        return numba_col2im.col2im(gcols, padded_shape, kernel, stride, dilation, out_size)
    xp = get_array_module(gcols)
    gx = xp.zeros(padded_shape, gcols.dtype)
    c, n = padded_shape[0], padded_shape[3]
    blocks = gcols.reshape(c, kernel[0], kernel[1], out_size[0], out_size[1], n)
    for p in range(kernel[0]):
        for q in range(kernel[1]):
            gx[offset_slice(p * dilation[0], q * dilation[1], out_size, stride)] += blocks[:, p, q]
    return gx


# ------------------------------------------------------------- the op


class Convolution(Function):
    """Cross-correlation, as in PyTorch's conv2d (and conv1d, with a unit height).

    Forward, for output channel k in group g = k // (C_out/G), with C_g = C_in/G:

        y[n,k,i,j] = b[k] + Σ_c Σ_p Σ_q W[k,c,p,q] · x_pad[n, g·C_g + c, i·s_h + p·d_h,
                                                                j·s_w + q·d_w]

    computed per group as Y_g = W_g @ cols_g (C_out/G × C_in/G·kH·kW times columns).
    Backward: gW_g = gY_g @ cols_gᵀ;  gb[k] = Σ_{n,i,j} gy[n,k,i,j];
    gx = col2im(W_gᵀ @ gY_g), cropped to the unpadded input.
    """

    def forward(
        self,
        x: Any,
        weight: Any,
        bias: Any = None,
        *,
        stride: Pair,
        padding: Padding,
        dilation: Pair,
        groups: int,
    ) -> Any:
        xp = get_array_module(x)
        self.is_1d = x.ndim == 3
        if self.is_1d:  # a 1-D signal is an image of height 1
            x, weight = x[:, :, None, :], weight[:, :, None, :]
        n, _, h, w = x.shape
        c_out, c_group, kh, kw = weight.shape
        out_size = forward_output_size("conv", (h, w), (kh, kw), stride, padding, dilation)

        xt = to_batch_inner(x, padding)
        needs = getattr(self, "needs_input_grad", (False, False))
        self.geometry = (stride, padding, dilation, groups, (kh, kw), out_size, xt.shape)
        self.weight_shape = weight.shape
        self.direct = numba_direct.wanted(x, weight, stride, dilation, groups)
        if self.direct:  # the kernel tier: no im2col copy (see ops/_numba_direct.py)
            yt = numba_direct.correlate(xt, weight, out_size, bias)  # the bias included
            self.xt = xt if needs[1] else None
            self.weight = weight if needs[0] else None
            y = yt.transpose(3, 0, 1, 2)
            return y[:, :, 0, :] if self.is_1d else y
        cols = im2col(xt, (kh, kw), stride, dilation, out_size)
        cols = cols.reshape(groups, c_group * kh * kw, -1)
        w_groups = weight.reshape(groups, c_out // groups, c_group * kh * kw)
        yt = xp.matmul(w_groups, cols).reshape(c_out, out_size[0], out_size[1], n)
        if bias is not None:
            yt += bias[:, None, None, None]

        # Keep only what backward will use (nothing when no graph is being recorded).
        self.cols = cols if needs[1] else None
        self.w_groups = w_groups if needs[0] else None
        y = yt.transpose(3, 0, 1, 2)
        return y[:, :, 0, :] if self.is_1d else y

    def backward(self, gy: Any) -> tuple[Any, ...]:
        xp = get_array_module(gy)
        stride, padding, dilation, groups, kernel, out_size, padded_shape = self.geometry
        if self.is_1d:
            gy = gy[:, :, None, :]
        c_out = gy.shape[1]
        # Free when gy is batch-innermost already, as it is coming from relu/pool/conv.
        gyt = xp.ascontiguousarray(gy.transpose(1, 2, 3, 0)).reshape(groups, c_out // groups, -1)

        gx = gw = gb = None
        if self.direct:
            return self._direct_backward(gyt.reshape(c_out, *out_size, -1))
        if self.needs_input_grad[0]:
            gcols = xp.matmul(self.w_groups.transpose(0, 2, 1), gyt)
            gxt = col2im(gcols, padded_shape, kernel, stride, dilation, out_size)
            gx = from_batch_inner(gxt, padding)
            gx = gx[:, :, 0, :] if self.is_1d else gx
        if self.needs_input_grad[1]:
            gw = xp.matmul(gyt, self.cols.transpose(0, 2, 1)).reshape(self.weight_shape)
            gw = gw[:, :, 0, :] if self.is_1d else gw
        if len(self.needs_input_grad) == 3 and self.needs_input_grad[2]:
            gb = gyt.reshape(c_out, -1).sum(axis=1)
        return (gx, gw) if len(self.needs_input_grad) == 2 else (gx, gw, gb)

    def _direct_backward(self, gyt: Any) -> tuple[Any, ...]:
        """``backward`` by the direct kernels, from the (C_out, H_out, W_out, N) gy."""
        padding, padded_shape = self.geometry[1], self.geometry[6]
        gx = gw = gb = None
        if self.needs_input_grad[0]:
            gx = from_batch_inner(numba_direct.input_grad(gyt, self.weight, padded_shape),
                                  padding)
            gx = gx[:, :, 0, :] if self.is_1d else gx
        if self.needs_input_grad[1]:
            gw = numba_direct.weight_grad(self.xt, gyt, self.weight_shape)
            gw = gw[:, :, 0, :] if self.is_1d else gw
        if len(self.needs_input_grad) == 3 and self.needs_input_grad[2]:
            gb = gyt.reshape(gyt.shape[0], -1).sum(axis=1)
        return (gx, gw) if len(self.needs_input_grad) == 2 else (gx, gw, gb)


# ------------------------------------------------------------- the functions


def _resolve_padding(
    op: str, padding: Any, kernel: Pair, stride: Pair, dilation: Pair
) -> Padding:
    """Padding as ((top, bottom), (left, right)) from an int, a pair, "valid" or "same"."""
    if isinstance(padding, str):
        if padding == "valid":
            return ((0, 0), (0, 0))
        if padding != "same":
            raise ValueError(
                f"{op}: padding must be 'valid', 'same' or ints. Received: {padding!r}"
            )
        if stride != (1, 1):
            raise ValueError(f"{op}: padding='same' needs stride 1. Received: stride={stride}")
        # The total d·(k − 1) is split evenly; an odd remainder goes to the bottom/right,
        # as in PyTorch.
        totals = [d * (k - 1) for d, k in zip(dilation, kernel, strict=True)]
        return tuple((t // 2, t - t // 2) for t in totals)  # type: ignore[return-value]
    ph, pw = to_pair(op, "padding", padding, 0)
    return ((ph, ph), (pw, pw))


def _convolve(
    op: str, layout: str, x: Tensor, weight: Tensor, bias: Tensor | None, stride: Pair,
    padding: Any, dilation: Pair, groups: int,
) -> Tensor:
    """Check the shapes of a 1-D or 2-D convolution and apply it."""
    ndim = layout.count(",") + 1
    if x.ndim != ndim:
        raise ValueError(f"{op} expects {ndim}-D input {layout}. Received: shape={x.shape}")
    if weight.ndim != ndim:
        kernel_axes = "kH, kW" if ndim == 4 else "k"
        raise ValueError(
            f"{op} expects a {ndim}-D weight (C_out, C_in/groups, {kernel_axes}). "
            f"Received: weight shape={weight.shape}"
        )
    if not isinstance(groups, int) or isinstance(groups, bool) or groups < 1:
        raise ValueError(f"{op}: groups must be a positive int. Received: {groups!r}")
    c_in, c_out = x.shape[1], weight.shape[0]
    if c_out % groups:
        raise ValueError(
            f"{op}: out channels must be divisible by groups. Received: {c_out} out channels, "
            f"groups={groups}"
        )
    if c_in != weight.shape[1] * groups:
        raise ValueError(
            f"{op}: expected input with {weight.shape[1] * groups} channels "
            f"(weight.shape[1]={weight.shape[1]} × groups={groups}), but received {c_in} "
            f"channels. Received: input shape={x.shape}, weight shape={weight.shape}"
        )
    if bias is not None and bias.shape != (c_out,):
        raise ValueError(
            f"{op}: bias must have shape ({c_out},). Received: bias shape={bias.shape}"
        )
    in_size = tuple(x.shape[2:]) if ndim == 4 else (1, x.shape[2])
    kernel = tuple(weight.shape[2:]) if ndim == 4 else (1, weight.shape[2])
    pads = _resolve_padding(op, padding, kernel, stride, dilation)
    # An eager tensor has plain int sizes: its check is cached (graph building's may not).
    check = forward_output_size if type(x) is Tensor else output_size
    check(op, in_size, kernel, stride, pads, dilation)
    inputs = (x, weight) if bias is None else (x, weight, bias)
    return Convolution.apply(*inputs, stride=stride, padding=pads, dilation=dilation, groups=groups)


def conv2d(
    x: Tensor,
    weight: Tensor,
    bias: Tensor | None = None,
    stride: int | Pair = 1,
    padding: int | Pair | str = 0,
    dilation: int | Pair = 1,
    groups: int = 1,
) -> Tensor:
    """2-D convolution (cross-correlation) of an (N, C_in, H, W) batch, as PyTorch's.

    y[n,k,i,j] = b[k] + Σ_c Σ_p Σ_q W[k,c,p,q] · x_pad[n, c, i·s_h + p·d_h, j·s_w + q·d_w],
    with H_out = ⌊(H + 2·pad_h − d_h·(kH − 1) − 1) / s_h⌋ + 1 (likewise W_out), and the
    channel sum running over the C_in/groups channels of output channel k's group.

    Args:
        x: input of shape (N, C_in, H, W).
        weight: (C_out, C_in/groups, kH, kW), PyTorch's layout.
        bias: (C_out,) or None.
        stride, dilation: an int or an (h, w) pair, at least 1.
        padding: zeros added on each side; an int, an (h, w) pair, "valid" (none) or
            "same" (output size = input size; stride 1 only).
        groups: split the channels into this many independent convolutions.

    Returns:
        (N, C_out, H_out, W_out); its memory is batch-innermost (see the module notes).

    Example:
        >>> import shenjing as sj
        >>> x, w = sj.ones(1, 1, 3, 3), sj.ones(1, 1, 2, 2)
        >>> sj.conv2d(x, w, padding=1).shape
        (1, 1, 4, 4)
    """
    op = "conv2d"
    stride_pair = to_pair(op, "stride", stride, 1)
    dilation_pair = to_pair(op, "dilation", dilation, 1)
    return _convolve(op, "(N, C, H, W)", x, weight, bias, stride_pair, padding,
                     dilation_pair, groups)


def conv1d(
    x: Tensor,
    weight: Tensor,
    bias: Tensor | None = None,
    stride: int = 1,
    padding: int | str = 0,
    dilation: int = 1,
    groups: int = 1,
) -> Tensor:
    """1-D convolution (cross-correlation) of an (N, C_in, L) batch, as PyTorch's.

    y[n,k,i] = b[k] + Σ_c Σ_p W[k,c,p] · x_pad[n, c, i·s + p·d],
    L_out = ⌊(L + 2·pad − d·(k − 1) − 1) / s⌋ + 1; computed as conv2d on height 1.

    Args:
        x: input of shape (N, C_in, L).
        weight: (C_out, C_in/groups, k).
        bias: (C_out,) or None.
        stride, padding, dilation, groups: as in ``conv2d``, single ints (or a string
            padding).

    Example:
        >>> import shenjing as sj
        >>> sj.conv1d(sj.ones(2, 3, 10), sj.ones(4, 3, 3), stride=2).shape
        (2, 4, 4)
    """
    op = "conv1d"
    if not isinstance(padding, str):
        padding = (0, to_single(op, "padding", padding, 0))
    stride_pair = (1, to_single(op, "stride", stride, 1))
    dilation_pair = (1, to_single(op, "dilation", dilation, 1))
    return _convolve(op, "(N, C, L)", x, weight, bias, stride_pair, padding,
                     dilation_pair, groups)
