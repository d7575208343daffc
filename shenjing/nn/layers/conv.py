"""Convolution layers (PyTorch's ``Conv1d`` and ``Conv2d``): a learned kernel bank over
``F.conv1d`` / ``F.conv2d``."""

from __future__ import annotations

import math
from typing import Any

import shenjing.nn.functional as F
from shenjing import creation
from shenjing.nn import init
from shenjing.nn.layers._factory import apply_factory_kwargs
from shenjing.nn.module import Module
from shenjing.nn.parameter import Parameter
from shenjing.ops.conv import to_pair, to_single
from shenjing.tensor import Tensor

__all__ = ["Conv1d", "Conv2d"]


def check_input(layer: str, x: Tensor, layout: str, channels: int | None = None) -> None:
    """The input's rank matches ``layout`` ("(N, C, H, W)") and it has ``channels``."""
    ndim = layout.count(",") + 1
    if x.ndim != ndim:
        raise ValueError(f"{layer} expects {ndim}-D input {layout}. Received: shape={x.shape}")
    if channels is not None and x.shape[1] != channels:
        raise ValueError(
            f"{layer} expects input with {channels} channels. Received: {x.shape[1]} channels, "
            f"input shape={x.shape}"
        )


class _ConvNd(Module):
    """What Conv1d and Conv2d share: arguments, parameters, initialisation, repr."""

    spatial: int  # 1 or 2 spatial axes

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: Any,
        stride: Any,
        padding: Any,
        dilation: Any,
        groups: int,
        bias: bool,
    ) -> None:
        super().__init__()
        layer = type(self).__name__
        for name, value in (("in_channels", in_channels), ("out_channels", out_channels),
                            ("groups", groups)):
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"{layer}: {name} must be a positive integer. Received: {value!r}")
        for name, value in (("in_channels", in_channels), ("out_channels", out_channels)):
            if value % groups:
                raise ValueError(
                    f"{layer}: {name} must be divisible by groups. Received: {name}={value}, "
                    f"groups={groups}"
                )
        if isinstance(padding, str) and padding not in ("valid", "same"):
            raise ValueError(f"{layer}: padding must be 'valid', 'same' or ints. "
                             f"Received: {padding!r}")
        self.in_channels = in_channels
        self.out_channels = out_channels
        self.kernel_size = self._tuple(layer, "kernel_size", kernel_size, 1)
        self.stride = self._tuple(layer, "stride", stride, 1)
        self.padding = padding if isinstance(padding, str) else self._tuple(
            layer, "padding", padding, 0)
        if padding == "same" and any(s != 1 for s in self.stride):
            raise ValueError(f"{layer}: padding='same' needs stride 1. Received: "
                             f"stride={self.stride}")
        self.dilation = self._tuple(layer, "dilation", dilation, 1)
        self.groups = groups
        shape = (out_channels, in_channels // groups, *self.kernel_size)
        self.weight = Parameter(creation.zeros(*shape))
        if bias:
            self.bias = Parameter(creation.zeros(out_channels))
        else:
            self.register_parameter("bias", None)
        self.reset_parameters()

    def _tuple(self, layer: str, name: str, value: Any, minimum: int) -> tuple[int, ...]:
        """An int or a tuple of ints as a tuple with one entry per spatial axis."""
        if self.spatial == 2:
            return to_pair(layer, name, value, minimum)
        return (to_single(layer, name, value, minimum),)

    def reset_parameters(self) -> None:
        """PyTorch's default: W ~ kaiming_uniform_(a=√5), i.e. U(−1/√fan_in, 1/√fan_in),
        and b ~ U(−1/√fan_in, 1/√fan_in), with fan_in = C_in/groups · ∏kernel."""
        init.kaiming_uniform_(self.weight, a=math.sqrt(5))
        if self.bias is not None:
            fan_in = math.prod(self.weight.shape[1:])
            bound = 1 / math.sqrt(fan_in)
            init.uniform_(self.bias, -bound, bound)

    def extra_repr(self) -> str:
        fields = [f"{self.in_channels}, {self.out_channels}",
                  f"kernel_size={self.kernel_size}", f"stride={self.stride}"]
        if self.padding != (0,) * self.spatial:
            fields.append(f"padding={self.padding}")
        if self.dilation != (1,) * self.spatial:
            fields.append(f"dilation={self.dilation}")
        if self.groups != 1:
            fields.append(f"groups={self.groups}")
        if self.bias is None:
            fields.append("bias=False")
        return ", ".join(fields)


class Conv2d(_ConvNd):
    """2-D convolution layer: y = conv2d(x, W, b) over an (N, C_in, H, W) batch.

    y[n,k,i,j] = b[k] + Σ_c Σ_p Σ_q W[k,c,p,q] · x_pad[n, c, i·s + p·d, j·s + q·d]
    (see ``F.conv2d``). W has PyTorch's layout (C_out, C_in/groups, kH, kW), so a
    PyTorch state dict loads as it is.

    Args:
        in_channels, out_channels: C_in and C_out.
        kernel_size: an int or an (h, w) pair.
        stride, dilation: an int or an (h, w) pair.
        padding: zeros on each side: an int, a pair, "valid" or "same".
        groups: independent channel groups (C_in and C_out must divide by it).
        bias: whether to learn b.

    Example:
        >>> import shenjing as sj
        >>> import shenjing.nn as nn
        >>> conv = nn.Conv2d(1, 6, 5, padding=2)
        >>> conv(sj.ones(8, 1, 28, 28)).shape, conv.weight.shape
        ((8, 6, 28, 28), (6, 1, 5, 5))
    """

    spatial = 2

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: int | tuple[int, int],
        stride: int | tuple[int, int] = 1,
        padding: int | tuple[int, int] | str = 0,
        dilation: int | tuple[int, int] = 1,
        groups: int = 1,
        bias: bool = True,
        device: Any = None,
        dtype: Any = None,
    ) -> None:
        super().__init__(in_channels, out_channels, kernel_size, stride, padding, dilation,
                         groups, bias)
        apply_factory_kwargs(self, device, dtype)

    def forward(self, x: Tensor) -> Tensor:
        check_input("Conv2d", x, "(N, C, H, W)", self.in_channels)
        return F.conv2d(x, self.weight, self.bias, self.stride, self.padding, self.dilation,
                        self.groups)


class Conv1d(_ConvNd):
    """1-D convolution layer: y = conv1d(x, W, b) over an (N, C_in, L) batch.

    y[n,k,i] = b[k] + Σ_c Σ_p W[k,c,p] · x_pad[n, c, i·s + p·d] (see ``F.conv1d``); W is
    (C_out, C_in/groups, k). Arguments as in ``Conv2d``, as single ints.

    Example:
        >>> import shenjing as sj
        >>> import shenjing.nn as nn
        >>> nn.Conv1d(3, 4, 5, stride=2)(sj.ones(2, 3, 21)).shape
        (2, 4, 9)
    """

    spatial = 1

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: int,
        stride: int = 1,
        padding: int | str = 0,
        dilation: int = 1,
        groups: int = 1,
        bias: bool = True,
        device: Any = None,
        dtype: Any = None,
    ) -> None:
        super().__init__(in_channels, out_channels, kernel_size, stride, padding, dilation,
                         groups, bias)
        apply_factory_kwargs(self, device, dtype)

    def forward(self, x: Tensor) -> Tensor:
        check_input("Conv1d", x, "(N, C, L)", self.in_channels)
        padding = self.padding if isinstance(self.padding, str) else self.padding[0]
        return F.conv1d(x, self.weight, self.bias, self.stride[0], padding, self.dilation[0],
                        self.groups)
