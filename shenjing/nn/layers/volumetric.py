"""3-D layers (PyTorch's ``Conv3d``, ``ConvTranspose3d``, ``MaxPool3d``, ``AvgPool3d``) and
the max-unpooling layers (``MaxUnpool1d/2d/3d``), over the matching functions."""

from __future__ import annotations

from typing import Any

import shenjing.nn.functional as F
from shenjing.nn.layers._factory import apply_factory_kwargs
from shenjing.nn.layers.conv import _ConvNd, check_input
from shenjing.nn.layers.conv_transpose import _ConvTransposeNd
from shenjing.nn.layers.pooling import _Pool
from shenjing.nn.module import Module
from shenjing.ops.conv3d import to_tuple
from shenjing.tensor import Tensor

__all__ = ["AvgPool3d", "Conv3d", "ConvTranspose3d", "MaxPool3d", "MaxUnpool1d",
           "MaxUnpool2d", "MaxUnpool3d"]

LAYOUT = "(N, C, D, H, W)"


class Conv3d(_ConvNd):
    """3-D convolution layer over an (N, C_in, D, H, W) batch (see ``F.conv3d``).

    W has PyTorch's layout (C_out, C_in/groups, kD, kH, kW); arguments as in ``Conv2d``
    with triples.

    Example:
        >>> import shenjing as sj
        >>> sj.nn.Conv3d(2, 4, 3, padding=1)(sj.ones(1, 2, 5, 5, 5)).shape
        (1, 4, 5, 5, 5)
    """

    spatial = 3

    def __init__(self, in_channels: int, out_channels: int, kernel_size: Any, stride: Any = 1,
                 padding: Any = 0, dilation: Any = 1, groups: int = 1, bias: bool = True,
                 padding_mode: str = "zeros", device: Any = None, dtype: Any = None) -> None:
        if padding_mode != "zeros":
            raise ValueError(f"Conv3d: only padding_mode='zeros' is supported. Received: "
                             f"{padding_mode!r}")
        super().__init__(in_channels, out_channels, kernel_size, stride, padding, dilation,
                         groups, bias)
        apply_factory_kwargs(self, device, dtype)

    def _tuple(self, layer: str, name: str, value: Any, minimum: int) -> tuple[int, ...]:
        return to_tuple(layer, name, value, minimum)

    def forward(self, x: Tensor) -> Tensor:
        if x.ndim == 4:  # one unbatched volume (C, D, H, W), as PyTorch accepts
            return self.forward(x.unsqueeze(0)).squeeze(0)
        check_input("Conv3d", x, LAYOUT, self.in_channels)
        return F.conv3d(x, self.weight, self.bias, self.stride, self.padding, self.dilation,
                        self.groups)


class ConvTranspose3d(_ConvTransposeNd):
    """3-D transposed convolution over (N, C_in, D, H, W); weight (C_in, C_out/groups,
    kD, kH, kW); D_out = (D − 1)·s − 2·pad + d·(kD − 1) + output_padding + 1.

    Example:
        >>> import shenjing as sj
        >>> sj.nn.ConvTranspose3d(4, 2, 2, stride=2)(sj.ones(1, 4, 3, 3, 3)).shape
        (1, 2, 6, 6, 6)
    """

    spatial = 3

    def forward(self, x: Tensor) -> Tensor:
        check_input("ConvTranspose3d", x, LAYOUT, self.in_channels)
        return F.conv_transpose3d(x, self.weight, self.bias, self.stride, self.padding,
                                  self.output_padding, self.groups, self.dilation)


class MaxPool3d(_Pool):
    """3-D max pooling over (N, C, D, H, W) (see ``F.max_pool3d``).

    Example:
        >>> import shenjing as sj
        >>> sj.nn.MaxPool3d(2)(sj.ones(1, 2, 4, 4, 4)).shape
        (1, 2, 2, 2, 2)
    """

    layout = LAYOUT
    pool = staticmethod(F.max_pool3d)

    def __init__(self, kernel_size: Any, stride: Any = None, padding: Any = 0,
                 dilation: Any = 1, return_indices: bool = False, ceil_mode: bool = False):
        super().__init__(kernel_size, stride, padding, dilation=dilation,
                         return_indices=return_indices, ceil_mode=ceil_mode)


class AvgPool3d(_Pool):
    """3-D average pooling over (N, C, D, H, W) (see ``F.avg_pool3d``).

    Example:
        >>> import shenjing as sj
        >>> sj.nn.AvgPool3d(2)(sj.ones(1, 2, 4, 4, 4)).shape
        (1, 2, 2, 2, 2)
    """

    layout = LAYOUT
    pool = staticmethod(F.avg_pool3d)

    def __init__(self, kernel_size: Any, stride: Any = None, padding: Any = 0,
                 ceil_mode: bool = False, count_include_pad: bool = True,
                 divisor_override: int | None = None) -> None:
        super().__init__(kernel_size, stride, padding, ceil_mode=ceil_mode,
                         count_include_pad=count_include_pad, divisor_override=divisor_override)


class _MaxUnpool(Module):
    """The max-unpooling layers: ``forward(input, indices, output_size=None)``."""

    dims: int
    unpool: Any

    def __init__(self, kernel_size: Any, stride: Any = None, padding: Any = 0) -> None:
        super().__init__()
        layer = type(self).__name__
        to_tuple(layer, "kernel_size", kernel_size, 1, self.dims)
        if stride is not None:
            to_tuple(layer, "stride", stride, 1, self.dims)
        to_tuple(layer, "padding", padding, 0, self.dims)
        self.kernel_size = kernel_size
        self.stride = kernel_size if stride is None else stride
        self.padding = padding

    def forward(self, input: Tensor, indices: Tensor, output_size: Any = None) -> Tensor:
        return self.unpool(input, indices, self.kernel_size, self.stride, self.padding,
                           output_size)

    def extra_repr(self) -> str:
        return f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"


class MaxUnpool1d(_MaxUnpool):
    """Partial inverse of ``MaxPool1d``: values back at their indices, zeros elsewhere.

    Example:
        >>> import shenjing as sj
        >>> pool, unpool = sj.nn.MaxPool1d(2, return_indices=True), sj.nn.MaxUnpool1d(2)
        >>> unpool(*pool(sj.arange(4.0).reshape(1, 1, 4))).numpy().ravel().tolist()
        [0.0, 1.0, 0.0, 3.0]
    """

    dims = 1
    unpool = staticmethod(F.max_unpool1d)


class MaxUnpool2d(_MaxUnpool):
    """Partial inverse of ``MaxPool2d`` (see ``F.max_unpool2d``)."""

    dims = 2
    unpool = staticmethod(F.max_unpool2d)


class MaxUnpool3d(_MaxUnpool):
    """Partial inverse of ``MaxPool3d`` (see ``F.max_unpool3d``)."""

    dims = 3
    unpool = staticmethod(F.max_unpool3d)
