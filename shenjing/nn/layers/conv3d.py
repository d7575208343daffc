"""Volume layers: ``Conv3d``, ``ConvTranspose3d``, ``MaxPool3d`` and ``AvgPool3d``, with
PyTorch's arguments, parameter names, shapes and initialisation (the ops are in
``shenjing.ops.conv3d``)."""

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
from shenjing.ops.conv3d import to_triple
from shenjing.tensor import Tensor

__all__ = ["AvgPool3d", "Conv3d", "ConvTranspose3d", "MaxPool3d"]

LAYOUT = "(N, C, D, H, W)"


def _channels(layer: str, in_channels: int, out_channels: int, groups: int) -> None:
    for name, value in (("in_channels", in_channels), ("out_channels", out_channels)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1 \
                or not isinstance(groups, int) or groups < 1 or value % groups:
            raise ValueError(f"{layer}: {name} must be a positive multiple of groups. "
                             f"Received: {name}={value!r}, groups={groups!r}")


def _reset(weight: Parameter, bias: Parameter | None) -> None:
    """PyTorch's default: W ~ kaiming_uniform_(a=√5), b ~ U(−1/√fan_in, 1/√fan_in) with
    fan_in = weight.shape[1]·∏kernel."""
    init.kaiming_uniform_(weight, a=math.sqrt(5))
    if bias is not None:
        bound = 1 / math.sqrt(math.prod(weight.shape[1:]))
        init.uniform_(bias, -bound, bound)


class Conv3d(Module):
    """3-D convolution over (N, C_in, D, H, W); weight (C_out, C_in/groups, kD, kH, kW).

    Example:
        >>> import shenjing as sj
        >>> sj.nn.Conv3d(2, 4, 3, padding=1)(sj.randn(1, 2, 4, 5, 6)).shape
        (1, 4, 4, 5, 6)
    """

    def __init__(self, in_channels: int, out_channels: int, kernel_size: Any, stride: Any = 1,
                 padding: Any = 0, dilation: Any = 1, groups: int = 1, bias: bool = True,
                 padding_mode: str = "zeros", device: Any = None, dtype: Any = None) -> None:
        super().__init__()
        _channels("Conv3d", in_channels, out_channels, groups)
        if padding_mode != "zeros":
            raise ValueError(f"Conv3d: only padding_mode='zeros' is supported. Received: "
                             f"{padding_mode!r}")
        self.in_channels, self.out_channels, self.groups = in_channels, out_channels, groups
        self.kernel_size = to_triple("Conv3d", "kernel_size", kernel_size, 1)
        self.stride = to_triple("Conv3d", "stride", stride, 1)
        self.padding = padding if isinstance(padding, str) else to_triple(
            "Conv3d", "padding", padding, 0)
        self.dilation = to_triple("Conv3d", "dilation", dilation, 1)
        self.weight = Parameter(creation.zeros(out_channels, in_channels // groups,
                                               *self.kernel_size))
        if bias:
            self.bias = Parameter(creation.zeros(out_channels))
        else:
            self.register_parameter("bias", None)
        self.reset_parameters()
        apply_factory_kwargs(self, device, dtype)

    def reset_parameters(self) -> None:
        """Fresh weights with PyTorch's default initialisation."""
        _reset(self.weight, self.bias)

    def forward(self, x: Tensor) -> Tensor:
        if x.ndim != 4:
            check_input("Conv3d", x, LAYOUT, self.in_channels)
        return F.conv3d(x, self.weight, self.bias, self.stride, self.padding, self.dilation,
                        self.groups)

    def extra_repr(self) -> str:
        return (f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, "
                f"stride={self.stride}, padding={self.padding}")


class ConvTranspose3d(Module):
    """3-D transposed convolution over (N, C_in, D, H, W); weight (C_in, C_out/groups,
    kD, kH, kW); D_out = (D − 1)·s − 2·p + dil·(k − 1) + output_padding + 1.

    Example:
        >>> import shenjing as sj
        >>> sj.nn.ConvTranspose3d(4, 2, 2, stride=2)(sj.randn(1, 4, 3, 3, 3)).shape
        (1, 2, 6, 6, 6)
    """

    def __init__(self, in_channels: int, out_channels: int, kernel_size: Any, stride: Any = 1,
                 padding: Any = 0, output_padding: Any = 0, groups: int = 1, bias: bool = True,
                 dilation: Any = 1, padding_mode: str = "zeros", device: Any = None,
                 dtype: Any = None) -> None:
        super().__init__()
        layer = "ConvTranspose3d"
        _channels(layer, in_channels, out_channels, groups)
        if padding_mode != "zeros":
            raise ValueError(f"{layer}: only padding_mode='zeros' is supported. Received: "
                             f"{padding_mode!r}")
        self.in_channels, self.out_channels, self.groups = in_channels, out_channels, groups
        self.kernel_size = to_triple(layer, "kernel_size", kernel_size, 1)
        self.stride = to_triple(layer, "stride", stride, 1)
        self.padding = to_triple(layer, "padding", padding, 0)
        self.output_padding = to_triple(layer, "output_padding", output_padding, 0)
        self.dilation = to_triple(layer, "dilation", dilation, 1)
        self.weight = Parameter(creation.zeros(in_channels, out_channels // groups,
                                               *self.kernel_size))
        if bias:
            self.bias = Parameter(creation.zeros(out_channels))
        else:
            self.register_parameter("bias", None)
        self.reset_parameters()
        apply_factory_kwargs(self, device, dtype)

    def reset_parameters(self) -> None:
        """Fresh weights with PyTorch's default initialisation."""
        _reset(self.weight, self.bias)

    def forward(self, x: Tensor) -> Tensor:
        if x.ndim != 4:
            check_input("ConvTranspose3d", x, LAYOUT, self.in_channels)
        return F.conv_transpose3d(x, self.weight, self.bias, self.stride, self.padding,
                                  self.output_padding, self.groups, self.dilation)

    def extra_repr(self) -> str:
        return (f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, "
                f"stride={self.stride}, padding={self.padding}")


class MaxPool3d(Module):
    """The maximum of each window of (N, C, D, H, W) input (see ``F.max_pool3d``).

    Example:
        >>> import shenjing as sj
        >>> sj.nn.MaxPool3d(2)(sj.randn(1, 2, 4, 4, 4)).shape
        (1, 2, 2, 2, 2)
    """

    def __init__(self, kernel_size: Any, stride: Any = None, padding: Any = 0,
                 dilation: Any = 1, return_indices: bool = False,
                 ceil_mode: bool = False) -> None:
        super().__init__()
        self.kernel_size, self.padding, self.dilation = kernel_size, padding, dilation
        self.stride = kernel_size if stride is None else stride
        self.return_indices, self.ceil_mode = return_indices, ceil_mode

    def forward(self, x: Tensor) -> Tensor:
        return F.max_pool3d(x, self.kernel_size, self.stride, self.padding, self.dilation,
                            self.ceil_mode, self.return_indices)

    def extra_repr(self) -> str:
        return (f"kernel_size={self.kernel_size}, stride={self.stride}, "
                f"padding={self.padding}, dilation={self.dilation}")


class AvgPool3d(Module):
    """The mean of each window of (N, C, D, H, W) input (see ``F.avg_pool3d``).

    Example:
        >>> import shenjing as sj
        >>> sj.nn.AvgPool3d(2)(sj.randn(1, 2, 4, 4, 4)).shape
        (1, 2, 2, 2, 2)
    """

    def __init__(self, kernel_size: Any, stride: Any = None, padding: Any = 0,
                 ceil_mode: bool = False, count_include_pad: bool = True,
                 divisor_override: int | None = None) -> None:
        super().__init__()
        self.kernel_size, self.padding = kernel_size, padding
        self.stride = kernel_size if stride is None else stride
        self.ceil_mode, self.count_include_pad = ceil_mode, count_include_pad
        self.divisor_override = divisor_override

    def forward(self, x: Tensor) -> Tensor:
        return F.avg_pool3d(x, self.kernel_size, self.stride, self.padding, self.ceil_mode,
                            self.count_include_pad, self.divisor_override)

    def extra_repr(self) -> str:
        return f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"
