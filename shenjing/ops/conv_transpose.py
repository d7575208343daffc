"""Transposed convolution (1-D and 2-D): the adjoint of ``conv2d`` with respect to its
input, so it reuses ``conv.py``'s machinery the other way round.

Forward is conv2d's input-gradient: ``gcols = Wᵀ @ x`` then col2im onto the output
canvas, cropped by the padding. Backward is conv2d's forward on the output gradient
(im2col, then ``W @ cols``), and the weight gradient ``x @ colsᵀ``.
"""

from __future__ import annotations

from typing import Any

from shenjing.autograd.function import Function
from shenjing.backend import get_array_module
from shenjing.ops.conv import (
    Padding,
    Pair,
    col2im,
    from_batch_inner,
    im2col,
    to_batch_inner,
    to_pair,
    to_single,
)
from shenjing.tensor import Tensor, as_tensor

__all__ = ["conv_transpose1d", "conv_transpose2d"]


class ConvolutionTranspose(Function):
    """For input channel c in group g and output channel k = g·(C_out/G) + k':

        y_canvas[n, k, i·s_h + p·d_h, j·s_w + q·d_w] += x[n, c, i, j]·W[c, k', p, q],
        y = y_canvas cropped by the padding on each side (+ b[k]),

    computed per group as gcols_g = W_gᵀ @ x_g then col2im. Backward:
    cols = im2col(gy padded back to the canvas); gx_g = W_g @ cols_g;
    gW_g = x_g @ cols_gᵀ; gb[k] = Σ_{n,i,j} gy[n,k,i,j].
    """

    def forward(self, x: Any, weight: Any, bias: Any = None, *, stride: Pair, padding: Padding,
                dilation: Pair, groups: int, canvas: Pair) -> Any:
        xp = get_array_module(x)
        self.is_1d = x.ndim == 3
        if self.is_1d:  # a 1-D signal is an image of height 1
            x, weight = x[:, :, None, :], weight[:, :, None, :]
        n, c_in, h, w = x.shape
        _, c_group, kh, kw = weight.shape
        xt = to_batch_inner(x, ((0, 0), (0, 0))).reshape(groups, c_in // groups, -1)
        w_groups = weight.reshape(groups, c_in // groups, c_group * kh * kw)
        gcols = xp.matmul(w_groups.transpose(0, 2, 1), xt)
        c_out = c_group * groups
        yt = col2im(gcols, (c_out, *canvas, n), (kh, kw), stride, dilation, (h, w))
        y = from_batch_inner(yt, padding)
        if bias is not None:
            y = y + bias[:, None, None]
        needs = getattr(self, "needs_input_grad", (False, False))
        self.geometry = (stride, padding, dilation, groups, (kh, kw), (h, w))
        self.weight_shape = weight.shape
        self.xt = xt if needs[1] else None
        self.w_groups = w_groups if needs[0] else None
        return y[:, :, 0, :] if self.is_1d else y

    def backward(self, gy: Any) -> tuple[Any, ...]:
        xp = get_array_module(gy)
        stride, padding, dilation, groups, kernel, in_size = self.geometry
        if self.is_1d:
            gy = gy[:, :, None, :]
        n = gy.shape[0]
        gyt = to_batch_inner(gy, padding)  # back onto the canvas, zeros in the cropped rim
        cols = im2col(gyt, kernel, stride, dilation, in_size)
        cols = cols.reshape(groups, -1, cols.shape[-1])
        gx = gw = gb = None
        if self.needs_input_grad[0]:
            gxt = xp.matmul(self.w_groups, cols)
            gx = gxt.reshape(-1, in_size[0], in_size[1], n).transpose(3, 0, 1, 2)
            gx = gx[:, :, 0, :] if self.is_1d else gx
        if self.needs_input_grad[1]:
            gw = xp.matmul(self.xt, cols.transpose(0, 2, 1)).reshape(self.weight_shape)
            gw = gw[:, :, 0, :] if self.is_1d else gw
        if len(self.needs_input_grad) == 3 and self.needs_input_grad[2]:
            gb = gy.sum(axis=(0, 2, 3))
        return (gx, gw) if len(self.needs_input_grad) == 2 else (gx, gw, gb)


def _transpose_convolve(op: str, x: Any, weight: Any, bias: Any, stride: Pair, padding: Pair,
                        output_padding: Pair, dilation: Pair, groups: int) -> Tensor:
    """Check the shapes of a transposed convolution and apply it (1-D as height 1)."""
    x, weight = as_tensor(x), as_tensor(weight)
    ndim = 4 if op.endswith("2d") else 3
    if x.ndim != ndim or weight.ndim != ndim:
        raise ValueError(
            f"{op} expects {ndim}-D input and weight (C_in, C_out/groups, kernel...). "
            f"Received: input shape {x.shape}, weight shape {weight.shape}"
        )
    if not isinstance(groups, int) or groups < 1 or x.shape[1] % groups:
        raise ValueError(f"{op}: groups must be a positive int dividing the input channels. "
                         f"Received: groups={groups!r}, input shape {x.shape}")
    if weight.shape[0] != x.shape[1]:
        raise ValueError(
            f"{op}: weight.shape[0] must equal the input channels {x.shape[1]}. Received: "
            f"weight shape {weight.shape}"
        )
    c_out = weight.shape[1] * groups
    if bias is not None:
        bias = as_tensor(bias)
        if bias.shape != (c_out,):
            raise ValueError(f"{op}: bias must have shape ({c_out},). Received: {bias.shape}")
    for o, s, d in zip(output_padding, stride, dilation, strict=True):
        if o >= max(s, d):
            raise ValueError(
                f"{op}: output_padding must be smaller than stride or dilation. Received: "
                f"output_padding={output_padding}, stride={stride}, dilation={dilation}"
            )
    in_size = x.shape[2:] if ndim == 4 else (1, x.shape[2])
    kernel = weight.shape[2:] if ndim == 4 else (1, weight.shape[2])
    canvas = tuple((n - 1) * s + d * (k - 1) + 1 + o for n, s, d, k, o in
                   zip(in_size, stride, dilation, kernel, output_padding, strict=True))
    if any(c - 2 * p < 1 for c, p in zip(canvas, padding, strict=True)):
        raise ValueError(f"{op}: the padding {padding} leaves no output from the input "
                         f"{tuple(in_size)}")
    inputs = (x, weight) if bias is None else (x, weight, bias)
    return ConvolutionTranspose.apply(
        *inputs, stride=stride, padding=tuple((p, p) for p in padding), dilation=dilation,
        groups=groups, canvas=canvas,
    )


def conv_transpose2d(
    input: Tensor,
    weight: Tensor,
    bias: Tensor | None = None,
    stride: int | Pair = 1,
    padding: int | Pair = 0,
    output_padding: int | Pair = 0,
    groups: int = 1,
    dilation: int | Pair = 1,
) -> Tensor:
    """2-D transposed convolution of (N, C_in, H, W), as PyTorch's (argument order too).

    ``weight`` is (C_in, C_out/groups, kH, kW), PyTorch's layout. The output size is
    H_out = (H - 1)·s - 2·pad + d·(kH - 1) + output_padding + 1; ``output_padding``
    (< stride or dilation) picks among the sizes a strided conv2d maps to the same size.

    Example:
        >>> import shenjing as sj
        >>> sj.conv_transpose2d(sj.ones(1, 4, 5, 5), sj.ones(4, 2, 3, 3), stride=2,
        ...                     padding=1, output_padding=1).shape
        (1, 2, 10, 10)
    """
    op = "conv_transpose2d"
    return _transpose_convolve(
        op, input, weight, bias, to_pair(op, "stride", stride, 1),
        to_pair(op, "padding", padding, 0), to_pair(op, "output_padding", output_padding, 0),
        to_pair(op, "dilation", dilation, 1), groups,
    )


def conv_transpose1d(
    input: Tensor,
    weight: Tensor,
    bias: Tensor | None = None,
    stride: int = 1,
    padding: int = 0,
    output_padding: int = 0,
    groups: int = 1,
    dilation: int = 1,
) -> Tensor:
    """1-D transposed convolution of (N, C_in, L); ``weight`` (C_in, C_out/groups, k)."""
    op = "conv_transpose1d"
    return _transpose_convolve(
        op, input, weight, bias, (1, to_single(op, "stride", stride, 1)),
        (0, to_single(op, "padding", padding, 0)),
        (0, to_single(op, "output_padding", output_padding, 0)),
        (1, to_single(op, "dilation", dilation, 1)), groups,
    )
