"""Transposed convolution layers (PyTorch's ``ConvTranspose1d`` and ``ConvTranspose2d``),
the learned upsampling of decoders and generators, over ``F.conv_transpose1d/2d``."""

from __future__ import annotations

import math
from typing import Any

import shenjing.nn.functional as F
from shenjing import creation
from shenjing.nn import init
from shenjing.nn.layers._factory import apply_factory_kwargs
from shenjing.nn.layers.conv import check_input
from shenjing.nn.module import Module
from shenjing.nn.parameter import Parameter
from shenjing.ops.conv import to_pair, to_single
from shenjing.ops.conv3d import to_tuple
from shenjing.tensor import Tensor

__all__ = ["ConvTranspose1d", "ConvTranspose2d"]


class _ConvTransposeNd(Module):
    """What the transposed convolutions share: PyTorch's arguments (in its order), the
    weight (in_channels, out_channels/groups, *kernel) and its initialisation."""

    spatial: int

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: Any,
        stride: Any = 1,
        padding: Any = 0,
        output_padding: Any = 0,
        groups: int = 1,
        bias: bool = True,
        dilation: Any = 1,
        padding_mode: str = "zeros",
        device: Any = None,
        dtype: Any = None,
    ) -> None:
        super().__init__()
        layer = type(self).__name__
        if padding_mode != "zeros":
            raise ValueError(f"{layer}: only padding_mode='zeros' is supported, as in "
                             f"PyTorch. Received: {padding_mode!r}")
        for name, value in (("in_channels", in_channels), ("out_channels", out_channels)):
            if not isinstance(value, int) or value < 1 or value % groups:
                raise ValueError(f"{layer}: {name} must be a positive multiple of groups. "
                                 f"Received: {name}={value!r}, groups={groups}")
        convert = (lambda n, v, m: to_pair(layer, n, v, m)) if self.spatial == 2 else (
            lambda n, v, m: (to_single(layer, n, v, m),))
        if self.spatial == 3:
            convert = lambda n, v, m: to_tuple(layer, n, v, m)  # noqa: E731
        self.in_channels, self.out_channels, self.groups = in_channels, out_channels, groups
        self.kernel_size = convert("kernel_size", kernel_size, 1)
        self.stride = convert("stride", stride, 1)
        self.padding = convert("padding", padding, 0)
        self.output_padding = convert("output_padding", output_padding, 0)
        self.dilation = convert("dilation", dilation, 1)
        self.weight = Parameter(
            creation.zeros(in_channels, out_channels // groups, *self.kernel_size))
        if bias:
            self.bias = Parameter(creation.zeros(out_channels))
        else:
            self.register_parameter("bias", None)
        self.reset_parameters()
        apply_factory_kwargs(self, device, dtype)

    def reset_parameters(self) -> None:
        """PyTorch's default: W ~ kaiming_uniform_(a=√5) and b ~ U(−1/√fan_in, 1/√fan_in),
        fan_in = weight.shape[1]·∏kernel (PyTorch's fan of this weight layout)."""
        init.kaiming_uniform_(self.weight, a=math.sqrt(5))
        if self.bias is not None:
            bound = 1 / math.sqrt(math.prod(self.weight.shape[1:]))
            init.uniform_(self.bias, -bound, bound)

    def extra_repr(self) -> str:
        return (f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, "
                f"stride={self.stride}, padding={self.padding}, "
                f"output_padding={self.output_padding}")


class ConvTranspose2d(_ConvTransposeNd):
    """2-D transposed convolution over (N, C_in, H, W);
    H_out = (H - 1)·s - 2·pad + d·(kH - 1) + output_padding + 1.

    Example:
        >>> import shenjing as sj
        >>> sj.nn.ConvTranspose2d(8, 4, 4, stride=2, padding=1)(sj.randn(2, 8, 7, 7)).shape
        (2, 4, 14, 14)
    """

    spatial = 2

    def forward(self, x: Tensor) -> Tensor:
        check_input("ConvTranspose2d", x, "(N, C, H, W)", self.in_channels)
        return F.conv_transpose2d(x, self.weight, self.bias, self.stride, self.padding,
                                  self.output_padding, self.groups, self.dilation)


class ConvTranspose1d(_ConvTransposeNd):
    """1-D transposed convolution over (N, C_in, L)."""

    spatial = 1

    def forward(self, x: Tensor) -> Tensor:
        check_input("ConvTranspose1d", x, "(N, C, L)", self.in_channels)
        return F.conv_transpose1d(x, self.weight, self.bias, self.stride[0], self.padding[0],
                                  self.output_padding[0], self.groups, self.dilation[0])
