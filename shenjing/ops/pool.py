"""Max and average pooling (1-D and 2-D), on the batch-innermost layout of ``conv.py``.

Every window of a (C, H, W, N) array is viewed, without a copy, as an array of shape
(C, H_out, kH, W_out, kW, N): a plain reshape when the windows tile the input
(stride = kernel, the usual case), a strided window view when they overlap. Pooling
folds the window's kH·kW offsets together with pairwise ``maximum`` / ``add``, each a
pass over contiguous runs of N·W_out floats. Max pooling keeps, per offset, a boolean
mask of the windows whose first maximum sits there; the backward pass writes the output
gradient back through one strided slice per offset (p, q): assigned when windows do not
overlap, added when they do.

On a GPU, where each of those calls is a kernel launch, 2-D and 1-D max pooling is one
CuPy kernel each way instead (``_cuda_kernels.max_pool_forward`` / ``_backward``): over
the outputs in the input's own NCHW layout, keeping each window's first maximum (a NaN
wins, as in PyTorch), and adding the gradients back at those positions.
"""

from __future__ import annotations

import functools
from typing import Any

import numpy as np

from shenjing.autograd.function import Function
from shenjing.backend import get_array_module
from shenjing.ops import _cuda_kernels as cuda_kernels
from shenjing.ops import _numba_pool as numba_pool
from shenjing.ops.conv import (
    Padding,
    Pair,
    forward_output_size,
    from_batch_inner,
    offset_slice,
    output_size,
    to_batch_inner,
    to_pair,
    to_single,
)
from shenjing.tensor import Tensor, as_tensor

__all__ = ["avg_pool1d", "avg_pool2d", "max_pool1d", "max_pool2d"]


def pool_windows(
    xt: Any, kernel: Pair, stride: Pair, out_size: Pair, dilation: Pair = (1, 1)
) -> Any:
    """The pooling windows of a (C, H, W, N) array as a (C, H_out, kH, W_out, kW, N) view.

    windows[c, i, p, j, q, n] = x[c, i·s_h + p·d_h, j·s_w + q·d_w, n].
    """
    c, n = xt.shape[0], xt.shape[3]
    (ho, wo), (kh, kw) = out_size, kernel
    if stride == kernel and dilation == (1, 1):  # the windows tile: a reshape, no tricks
        return xt[:, : ho * kh, : wo * kw].reshape(c, ho, kh, wo, kw, n)
    sc, sh, sw, sn = xt.strides
    return get_array_module(xt).lib.stride_tricks.as_strided(
        xt,
        shape=(c, ho, kh, wo, kw, n),
        strides=(sc, stride[0] * sh, dilation[0] * sh, stride[1] * sw, dilation[1] * sw, sn),
    )


class _Pool(Function):
    """What max and average pooling share: layout, windows, and the per-offset scatter."""

    def _padded(self, x: Any, kernel: Pair, stride: Pair, padding: Padding, fill: float,
                dilation: Pair = (1, 1)) -> Any:
        """The input as a padded (C, H, W, N) array; records the geometry."""
        self.is_1d = x.ndim == 3
        if self.is_1d:  # a 1-D signal is an image of height 1
            x = x[:, :, None, :]
        out_size = forward_output_size("pool", x.shape[2:], kernel, stride, padding, dilation)
        xt = to_batch_inner(x, padding, fill)
        self.geometry = (kernel, stride, padding, out_size, xt.shape, dilation)
        return xt

    def _windows(self, x: Any, kernel: Pair, stride: Pair, padding: Padding, fill: float,
                 dilation: Pair = (1, 1)) -> Any:
        xt = self._padded(x, kernel, stride, padding, fill, dilation)
        return pool_windows(xt, kernel, stride, self.geometry[3], dilation)

    def _output(self, yt: Any) -> Any:
        y = yt.transpose(3, 0, 1, 2)
        return y[:, :, 0, :] if self.is_1d else y

    def _scatter(self, gy: Any, masks: list[Any] | None = None) -> Any:
        """gx: gy sent back to every window pixel, through ``masks[p·kW + q]`` if given."""
        xp = get_array_module(gy)
        kernel, stride, padding, out_size, padded_shape, dilation = self.geometry
        if self.is_1d:
            gy = gy[:, :, None, :]
        gyt = xp.ascontiguousarray(gy.transpose(1, 2, 3, 0))
        # Windows that tile the whole input write every pixel once: nothing to zero first.
        tiled = stride == kernel and dilation == (1, 1) and padded_shape[1:3] == (
            out_size[0] * kernel[0], out_size[1] * kernel[1])
        gxt = (xp.empty if tiled else xp.zeros)(padded_shape, gy.dtype)
        extent = [d * (k - 1) + 1 for d, k in zip(dilation, kernel, strict=True)]
        overlapping = stride[0] < extent[0] or stride[1] < extent[1]
        for p in range(kernel[0]):
            for q in range(kernel[1]):
                pixels = gxt[offset_slice(p * dilation[0], q * dilation[1], out_size, stride)]
                mask = None if masks is None else masks[p * kernel[1] + q]
                if overlapping:  # a pixel may sit in several windows: add
                    pixels += gyt if mask is None else gyt * mask
                elif mask is None:
                    pixels[...] = gyt
                else:
                    xp.multiply(gyt, mask, out=pixels)
        gx = from_batch_inner(gxt, padding)
        return gx[:, :, 0, :] if self.is_1d else gx


def fold(ufunc: Any, views: list[Any]) -> Any:
    """``ufunc`` applied across equally shaped arrays: a new array, or the one view given.

    Pairwise ``maximum``/``add`` over the kernel offsets runs about 2.5× faster than
    NumPy's reduction over two small strided axes of the window view.
    """
    if len(views) == 1:
        return views[0]
    out = ufunc(views[0], views[1])
    for view in views[2:]:
        ufunc(out, view, out=out)
    return out


def reduce_windows(ufunc: Any, windows: Any) -> Any:
    """(C, H_out, kH, W_out, kW, N) windows folded over kH, then kW: (C, H_out, W_out, N)."""
    rows = fold(ufunc, [windows[:, :, p] for p in range(windows.shape[2])])
    out = fold(ufunc, [rows[:, :, :, q] for q in range(windows.shape[4])])
    # A 1×1 window folds nothing: copy, so that the output never aliases the input.
    return out.copy() if windows.shape[2] == windows.shape[4] == 1 else out


def first_max_masks(windows: Any, yt: Any) -> list[Any]:
    """One boolean mask per kernel offset (p, q), row-major, marking the windows whose
    first maximum sits there: a hit counts only if no earlier offset hit (hit > taken)."""
    xp = get_array_module(yt)
    masks = []
    taken = None
    for p in range(windows.shape[2]):
        for q in range(windows.shape[4]):
            hit = windows[:, :, p, :, q] == yt
            if taken is None:
                taken = hit.copy()
            else:
                hit = xp.greater(hit, taken)
                taken |= hit
            masks.append(hit)
    return masks


class MaxPool(_Pool):
    """y[n,c,i,j] = max_{p,q} x_pad[n, c, i·s_h + p·d_h, j·s_w + q·d_w]  (padding is −∞);
    gx[n, c, i·s_h + p*·d_h, j·s_w + q*·d_w] += gy[n,c,i,j], where (p*, q*) is the first
    maximum of the window in row-major order (PyTorch's tie rule).
    """

    arg = None  # on a GPU: each window's maximum, for the backward kernel
    argmax = None  # on the CPU kernel tier: each window's maximum, batch innermost

    def forward(self, x: Any, *, kernel: Pair, stride: Pair, padding: Padding,
                dilation: Pair = (1, 1)) -> Any:
        xp = get_array_module(x)
        if cuda_kernels.usable(x):
            return self._forward_on_gpu(xp, x, kernel, stride, padding, dilation)
        if numba_pool.wanted(x):  # the kernel tier: one pass, the argmax kept
            xt = self._padded(x, kernel, stride, padding, -float("inf"), dilation)
            yt, self.argmax = numba_pool.max_forward(xt, kernel, stride, dilation,
                                                     self.geometry[3])
            return self._output(yt)
        windows = self._windows(x, kernel, stride, padding, -float("inf"), dilation)
        yt = reduce_windows(xp.maximum, windows)
        if hasattr(self, "needs_input_grad"):  # a graph is being recorded
            self.masks = first_max_masks(windows, yt)
        return self._output(yt)

    def _forward_on_gpu(self, xp: Any, x: Any, kernel: Pair, stride: Pair, padding: Padding,
                        dilation: Pair) -> Any:
        """One CuPy kernel over the outputs in x's own NCHW layout (``_cuda_kernels``),
        keeping each window's maximum; no batch-inner transposes, no per-offset masks:
        on a GPU those are a dozen launches each way."""
        self.is_1d = x.ndim == 3
        x4 = x[:, :, None, :] if self.is_1d else x
        out_size = forward_output_size("pool", x4.shape[2:], kernel, stride, padding, dilation)
        y, self.arg = cuda_kernels.max_pool_forward(xp, xp.ascontiguousarray(x4), out_size,
                                                    kernel, stride, padding, dilation)
        self.x_shape = x4.shape
        return y[:, :, 0, :] if self.is_1d else y

    def backward(self, gy: Any) -> Any:
        if self.arg is not None:
            xp = get_array_module(gy)
            gx = cuda_kernels.max_pool_backward(xp, gy[:, :, None, :] if self.is_1d else gy,
                                                self.arg, self.x_shape)
            return gx[:, :, 0, :] if self.is_1d else gx
        if self.argmax is None:
            return self._scatter(gy, self.masks)
        kernel, stride, padding, _, padded_shape, dilation = self.geometry
        if self.is_1d:
            gy = gy[:, :, None, :]
        gxt = numba_pool.max_backward(gy.transpose(1, 2, 3, 0), self.argmax, padded_shape,
                                      kernel, stride, dilation)
        gx = from_batch_inner(gxt, padding)
        return gx[:, :, 0, :] if self.is_1d else gx


class AvgPool(_Pool):
    """y[n,c,i,j] = (1 / D_ij) Σ_{p,q} x_pad[n, c, i·s_h + p, j·s_w + q]  (padding is 0);
    gx[n, c, i·s_h + p, j·s_w + q] += gy[n,c,i,j] / D_ij. The divisor D is kH·kW, or,
    given as ``divisor`` (H_out, W_out), what PyTorch counts with ceil_mode,
    count_include_pad=False or divisor_override.
    """

    def forward(self, x: Any, *, kernel: Pair, stride: Pair, padding: Padding,
                divisor: Any = None) -> Any:
        xp = get_array_module(x)
        windows = self._windows(x, kernel, stride, padding, fill=0.0)
        yt = reduce_windows(xp.add, windows)
        if divisor is None:
            self.divisor = None
            yt *= 1.0 / (kernel[0] * kernel[1])
        else:
            self.divisor = xp.asarray(divisor, dtype=x.dtype)
            yt /= self.divisor[None, :, :, None]
        return self._output(yt)

    def backward(self, gy: Any) -> Any:
        kernel = self.geometry[0]
        if self.divisor is None:
            share = gy * (1.0 / (kernel[0] * kernel[1]))
        else:
            share = gy / (self.divisor[0] if self.is_1d else self.divisor)
        return self._scatter(share)


# ------------------------------------------------------------- the functions



def _out_length(n: int, k: int, s: int, p: int, d: int, ceil_mode: bool) -> int:
    """PyTorch's pooled length: ⌊ or ⌈(n + 2p − d(k − 1) − 1)/s⌉ + 1, where with ceil_mode
    the last window must still start inside the input or its left padding."""
    out = (n + 2 * p - d * (k - 1) - 1 + (s - 1 if ceil_mode else 0)) // s + 1
    if ceil_mode and (out - 1) * s >= n + p:
        out -= 1
    return out


def _counts(n: int, k: int, s: int, p: int, out: int, include_pad: bool) -> Any:
    """How many elements each window along one axis averages, as PyTorch counts them:
    the window clipped to the padded input, or to the input itself."""
    start = np.arange(out) * s - p
    end = np.minimum(start + k, n + p)
    if include_pad:
        return end - start
    return np.minimum(end, n) - np.maximum(start, 0)


def _geometry(op: str, in_size: Pair, kernel: Pair, stride: Pair, padding: Pair,
              dilation: Pair, ceil_mode: bool) -> tuple[Padding, Pair]:
    """The (uneven, with ceil_mode) padding and the output size of a pooling call; raises
    when the padding passes half a window or no window fits."""
    extent = tuple(d * (k - 1) + 1 for d, k in zip(dilation, kernel, strict=True))
    if padding[0] > extent[0] // 2 or padding[1] > extent[1] // 2:
        shown = (padding, kernel) if op.endswith("2d") else (padding[1], kernel[1])
        raise ValueError(
            f"{op}: padding must be at most half the kernel size. Received: padding={shown[0]}, "
            f"kernel_size={shown[1]}"
        )
    even = ((padding[0], padding[0]), (padding[1], padding[1]))
    output_size(op, in_size, kernel, stride, even, dilation)  # raises when nothing fits
    out = tuple(_out_length(n, k, s, p, d, ceil_mode) for n, k, s, p, d in
                zip(in_size, kernel, stride, padding, dilation, strict=True))
    # ceil_mode's last windows may reach past the padding: pad the far side to fit them.
    extra = [max(0, (o - 1) * s + e - (n + 2 * p)) for o, s, e, n, p in
             zip(out, stride, extent, in_size, padding, strict=True)]
    pads = ((padding[0], padding[0] + extra[0]), (padding[1], padding[1] + extra[1]))
    return pads, out


_cached_geometry = functools.lru_cache(maxsize=1024)(_geometry)


def _pool(
    op: str,
    pool: type[_Pool],
    x: Tensor,
    kernel: Pair,
    stride: Pair,
    padding: Pair,
    spacing: Pair = (1, 1),
    ceil_mode: bool = False,
    **params: Any,
) -> tuple[Tensor, Padding, Pair]:
    """Check a pooling call's shapes and apply it; 1-D calls pass (1, k)-style pairs.
    ``spacing`` is the window's dilation; ``params`` go to the op. Returns the output, the
    (uneven, with ceil_mode) padding and the output size."""
    dilation = spacing
    layout = "(N, C, H, W)" if op.endswith("2d") else "(N, C, L)"
    ndim = 4 if op.endswith("2d") else 3
    x = as_tensor(x)
    if x.ndim != ndim:
        raise ValueError(f"{op} expects {ndim}-D input {layout}. Received: shape={x.shape}")
    in_size = tuple(x.shape[2:]) if ndim == 4 else (1, x.shape[2])
    # An eager tensor has plain int sizes, so its geometry is cached (graph building's
    # sizes may be unknown until a batch is fed).
    geometry = _cached_geometry if type(x) is Tensor else _geometry
    pads, out = geometry(op, in_size, kernel, stride, padding, dilation, ceil_mode)
    return pool.apply(x, kernel=kernel, stride=stride, padding=pads, **params), pads, out


def _max_indices(x: Tensor, kernel: Pair, stride: Pair, pads: Padding, dilation: Pair,
                 out: Pair) -> Tensor:
    """PyTorch's ``return_indices``: where each window's first maximum sits in its input
    plane, as a flat index row·W + column (position along L for 1-D input)."""
    xp = get_array_module(x.array)
    data = x.array if x.ndim == 4 else x.array[:, :, None, :]
    windows = pool_windows(to_batch_inner(data, pads, -float("inf")), kernel, stride, out,
                           dilation)
    n, c = data.shape[:2]
    flat = windows.transpose(5, 0, 1, 3, 2, 4).reshape(n, c, out[0], out[1], -1)
    k = flat.argmax(axis=-1)
    rows = (xp.arange(out[0])[:, None] * stride[0] + (k // kernel[1]) * dilation[0]
            - pads[0][0])
    cols = (xp.arange(out[1]) * stride[1] + (k % kernel[1]) * dilation[1] - pads[1][0])
    index = (rows * data.shape[3] + cols).astype(np.int64)
    return Tensor._make(index if x.ndim == 4 else index[:, :, 0, :], None)


def _max_pool(op: str, x: Tensor, kernel: Pair, stride: Pair, padding: Pair, dilation: Pair,
              ceil_mode: bool, return_indices: bool) -> Any:
    y, pads, out = _pool(op, MaxPool, x, kernel, stride, padding, dilation, ceil_mode,
                         dilation=dilation)
    if not return_indices:
        return y
    return y, _max_indices(as_tensor(x), kernel, stride, pads, dilation, out)


def _avg_pool(op: str, x: Tensor, kernel: Pair, stride: Pair, padding: Pair, ceil_mode: bool,
              count_include_pad: bool, divisor_override: int | None) -> Tensor:
    x = as_tensor(x)
    in_size = tuple(x.shape[2:]) if x.ndim == 4 else (1, x.shape[-1])
    divisor = None
    if divisor_override is not None:
        if not isinstance(divisor_override, int) or divisor_override < 1:
            raise ValueError(f"{op}: divisor_override must be a positive int. Received: "
                             f"{divisor_override!r}")
        if len(in_size) == 2 and x.ndim >= 3:
            out = [_out_length(n, k, s, p, 1, ceil_mode) for n, k, s, p in
                   zip(in_size, kernel, stride, padding, strict=True)]
            divisor = np.full(out, float(divisor_override))
    elif ceil_mode or not count_include_pad:
        out = [_out_length(n, k, s, p, 1, ceil_mode) for n, k, s, p in
               zip(in_size, kernel, stride, padding, strict=True)]
        counts = [_counts(n, k, s, p, o, count_include_pad) for n, k, s, p, o in
                  zip(in_size, kernel, stride, padding, out, strict=True)]
        divisor = np.outer(*counts).astype(np.float64)
        if (divisor == kernel[0] * kernel[1]).all():
            divisor = None  # every window full: the uniform fast path
    return _pool(op, AvgPool, x, kernel, stride, padding, (1, 1), ceil_mode,
                 divisor=divisor)[0]


def max_pool2d(
    input: Tensor,
    kernel_size: int | Pair,
    stride: int | Pair | None = None,
    padding: int | Pair = 0,
    dilation: int | Pair = 1,
    ceil_mode: bool = False,
    return_indices: bool = False,
) -> Any:
    """2-D max pooling of an (N, C, H, W) batch, as PyTorch's.

    y[n,c,i,j] = max over p < kH, q < kW of x_pad[n, c, i·s_h + p·d_h, j·s_w + q·d_w],
    where the padding is −∞ (it never wins). The gradient flows to the first maximum of
    each window. H_out = ⌊(H + 2·pad_h − d_h(kH − 1) − 1) / s_h⌋ + 1 (⌈⌉ with
    ``ceil_mode``, keeping only windows that start inside the input or its left padding).

    Args:
        input: (N, C, H, W).
        kernel_size: window size, an int or an (h, w) pair.
        stride: window step; defaults to ``kernel_size`` (windows that tile the input).
        padding: at most half the (dilated) kernel size on each side.
        dilation: spacing between a window's elements.
        ceil_mode: round the output size up instead of down.
        return_indices: also return, as int64, where each maximum sits (flat index
            row·W + column in its input plane, as PyTorch's ``max_unpool2d`` reads).

    Example:
        >>> import shenjing as sj
        >>> sj.max_pool2d(sj.arange(16.0).reshape(1, 1, 4, 4), 2).numpy().ravel().tolist()
        [5.0, 7.0, 13.0, 15.0]
    """
    op = "max_pool2d"
    kernel = to_pair(op, "kernel_size", kernel_size, 1)
    steps = kernel if stride is None else to_pair(op, "stride", stride, 1)
    return _max_pool(op, input, kernel, steps, to_pair(op, "padding", padding, 0),
                     to_pair(op, "dilation", dilation, 1), bool(ceil_mode), return_indices)


def avg_pool2d(
    input: Tensor,
    kernel_size: int | Pair,
    stride: int | Pair | None = None,
    padding: int | Pair = 0,
    ceil_mode: bool = False,
    count_include_pad: bool = True,
    divisor_override: int | None = None,
) -> Tensor:
    """2-D average pooling of an (N, C, H, W) batch, as PyTorch's.

    y[n,c,i,j] = (1 / D) Σ_{p<kH, q<kW} x_pad[n, c, i·s_h + p, j·s_w + q]. The divisor D
    is kH·kW (zero padding counts) by default; with ``count_include_pad=False`` only the
    input's own elements count; with ``ceil_mode`` windows hanging past the padding count
    what they cover; ``divisor_override`` replaces D outright.

    Example:
        >>> import shenjing as sj
        >>> sj.avg_pool2d(sj.arange(16.0).reshape(1, 1, 4, 4), 2).numpy().ravel().tolist()
        [2.5, 4.5, 10.5, 12.5]
    """
    op = "avg_pool2d"
    kernel = to_pair(op, "kernel_size", kernel_size, 1)
    steps = kernel if stride is None else to_pair(op, "stride", stride, 1)
    return _avg_pool(op, input, kernel, steps, to_pair(op, "padding", padding, 0),
                     bool(ceil_mode), bool(count_include_pad), divisor_override)


def max_pool1d(
    input: Tensor,
    kernel_size: int,
    stride: int | None = None,
    padding: int = 0,
    dilation: int = 1,
    ceil_mode: bool = False,
    return_indices: bool = False,
) -> Any:
    """1-D max pooling of an (N, C, L) batch: y[n,c,i] = max_{p<k} x_pad[n, c, i·s + p·d].

    Arguments as in ``max_pool2d``, as single ints; indices are positions along L.

    Example:
        >>> import shenjing as sj
        >>> sj.max_pool1d(sj.arange(6.0).reshape(1, 1, 6), 3).numpy().ravel().tolist()
        [2.0, 5.0]
    """
    op = "max_pool1d"
    kernel = to_single(op, "kernel_size", kernel_size, 1)
    steps = kernel if stride is None else to_single(op, "stride", stride, 1)
    return _max_pool(op, input, (1, kernel), (1, steps),
                     (0, to_single(op, "padding", padding, 0)),
                     (1, to_single(op, "dilation", dilation, 1)), bool(ceil_mode),
                     return_indices)


def avg_pool1d(
    input: Tensor,
    kernel_size: int,
    stride: int | None = None,
    padding: int = 0,
    ceil_mode: bool = False,
    count_include_pad: bool = True,
) -> Tensor:
    """1-D average pooling of an (N, C, L) batch: y[n,c,i] = (1/D) Σ_{p<k} x_pad[n, c, i·s + p].

    Arguments as in ``avg_pool2d``, as single ints.

    Example:
        >>> import shenjing as sj
        >>> sj.avg_pool1d(sj.arange(6.0).reshape(1, 1, 6), 3).numpy().ravel().tolist()
        [1.0, 4.0]
    """
    op = "avg_pool1d"
    kernel = to_single(op, "kernel_size", kernel_size, 1)
    steps = kernel if stride is None else to_single(op, "stride", stride, 1)
    return _avg_pool(op, input, (1, kernel), (1, steps),
                     (0, to_single(op, "padding", padding, 0)), bool(ceil_mode),
                     bool(count_include_pad), None)
