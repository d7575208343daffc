"""Pooling layers (PyTorch's ``MaxPool1d/2d`` and ``AvgPool1d/2d``): no parameters, one
call to the matching function in ``shenjing.nn.functional``."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import shenjing.nn.functional as F
from shenjing.nn.layers.conv import check_input
from shenjing.nn.module import Module
from shenjing.ops.conv import to_pair, to_single
from shenjing.ops.conv3d import to_tuple
from shenjing.tensor import Tensor

__all__ = ["AvgPool1d", "AvgPool2d", "MaxPool1d", "MaxPool2d"]


class _Pool(Module):
    """What the pooling layers share: argument checks, forward, repr. ``options`` are the
    keyword arguments (PyTorch's) passed on to the function."""

    layout: str  # "(N, C, H, W)" or "(N, C, L)"
    pool: Callable[..., Tensor]  # the function from shenjing.nn.functional

    def __init__(self, kernel_size: Any, stride: Any = None, padding: Any = 0,
                 **options: Any) -> None:
        super().__init__()
        self.options = options
        for name, value in options.items():
            setattr(self, name, value)
        layer = type(self).__name__
        check = to_pair if "H, W" in self.layout else to_single
        if "D, H, W" in self.layout:
            check = to_tuple
        check(layer, "kernel_size", kernel_size, 1)
        if stride is not None:
            check(layer, "stride", stride, 1)
        check(layer, "padding", padding, 0)
        # Kept as given, like PyTorch (MaxPool2d(2).kernel_size == 2).
        self.kernel_size = kernel_size
        self.stride = kernel_size if stride is None else stride
        self.padding = padding

    def forward(self, x: Tensor) -> Tensor:
        check_input(type(self).__name__, x, self.layout)
        return self.pool(x, self.kernel_size, self.stride, self.padding, **self.options)

    def extra_repr(self) -> str:
        fields = [f"kernel_size={self.kernel_size}, stride={self.stride}, "
                  f"padding={self.padding}"]
        fields += [f"{name}={value}" for name, value in self.options.items()]
        return ", ".join(fields)


class _MaxPool(_Pool):
    def __init__(self, kernel_size: Any, stride: Any = None, padding: Any = 0,
                 dilation: Any = 1, return_indices: bool = False, ceil_mode: bool = False):
        super().__init__(kernel_size, stride, padding, dilation=dilation,
                         return_indices=return_indices, ceil_mode=ceil_mode)


class MaxPool2d(_MaxPool):
    """2-D max pooling: y[n,c,i,j] = max_{p,q} x_pad[n, c, i·s_h + p, j·s_w + q].

    Args:
        kernel_size: window size, an int or an (h, w) pair.
        stride: window step; defaults to ``kernel_size``.
        padding: −∞ padding on each side, at most half the kernel.

    Example:
        >>> import shenjing as sj
        >>> import shenjing.nn as nn
        >>> nn.MaxPool2d(2)(sj.ones(8, 6, 28, 28)).shape
        (8, 6, 14, 14)
    """

    layout = "(N, C, H, W)"
    pool = staticmethod(F.max_pool2d)


class AvgPool2d(_Pool):
    """2-D average pooling: y[n,c,i,j] = (1/(kH·kW)) Σ_{p,q} x_pad[n, c, i·s_h + p, j·s_w + q]
    (zero padding counts in the divisor, as PyTorch's default).

    Example:
        >>> import shenjing as sj
        >>> import shenjing.nn as nn
        >>> nn.AvgPool2d(3, stride=2, padding=1)(sj.ones(2, 3, 8, 8)).shape
        (2, 3, 4, 4)
    """

    layout = "(N, C, H, W)"
    pool = staticmethod(F.avg_pool2d)

    def __init__(self, kernel_size: Any, stride: Any = None, padding: Any = 0,
                 ceil_mode: bool = False, count_include_pad: bool = True,
                 divisor_override: int | None = None) -> None:
        super().__init__(kernel_size, stride, padding, ceil_mode=ceil_mode,
                         count_include_pad=count_include_pad, divisor_override=divisor_override)


class MaxPool1d(_MaxPool):
    """1-D max pooling: y[n,c,i] = max_p x_pad[n, c, i·s + p].

    Example:
        >>> import shenjing as sj
        >>> import shenjing.nn as nn
        >>> nn.MaxPool1d(3)(sj.ones(2, 4, 10)).shape
        (2, 4, 3)
    """

    layout = "(N, C, L)"
    pool = staticmethod(F.max_pool1d)


class AvgPool1d(_Pool):
    """1-D average pooling: y[n,c,i] = (1/k) Σ_p x_pad[n, c, i·s + p].

    Example:
        >>> import shenjing as sj
        >>> import shenjing.nn as nn
        >>> nn.AvgPool1d(2)(sj.ones(2, 4, 10)).shape
        (2, 4, 5)
    """

    layout = "(N, C, L)"
    pool = staticmethod(F.avg_pool1d)

    def __init__(self, kernel_size: Any, stride: Any = None, padding: Any = 0,
                 ceil_mode: bool = False, count_include_pad: bool = True) -> None:
        super().__init__(kernel_size, stride, padding, ceil_mode=ceil_mode,
                         count_include_pad=count_include_pad)
