"""Adaptive average and max pooling layers: a fixed output size whatever the input size (the
``AdaptiveAvgPool2d((1, 1))`` or ``(7, 7)`` before a classifier head)."""

from __future__ import annotations

from typing import Any

import shenjing.nn.functional as F
from shenjing.nn.module import Module
from shenjing.tensor import Tensor

__all__ = ["AdaptiveAvgPool1d", "AdaptiveAvgPool2d", "AdaptiveMaxPool1d", "AdaptiveMaxPool2d"]


class AdaptiveAvgPool2d(Module):
    """Average (N, C, H, W) down to ``output_size`` (an int, or a pair whose None entries
    keep the input's size), with PyTorch's windows.

    Example:
        >>> import shenjing as sj
        >>> sj.nn.AdaptiveAvgPool2d((1, 1))(sj.randn(2, 8, 5, 7)).shape
        (2, 8, 1, 1)
    """

    def __init__(self, output_size: Any) -> None:
        super().__init__()
        self.output_size = output_size

    def forward(self, x: Tensor) -> Tensor:
        return F.adaptive_avg_pool2d(x, self.output_size)

    def extra_repr(self) -> str:
        return f"output_size={self.output_size}"


class AdaptiveAvgPool1d(Module):
    """Average (N, C, L) down to ``output_size`` with PyTorch's windows."""

    def __init__(self, output_size: int) -> None:
        super().__init__()
        self.output_size = output_size

    def forward(self, x: Tensor) -> Tensor:
        return F.adaptive_avg_pool1d(x, self.output_size)

    def extra_repr(self) -> str:
        return f"output_size={self.output_size}"


class AdaptiveMaxPool2d(Module):
    """Max-pool (N, C, H, W) down to ``output_size`` with PyTorch's adaptive windows;
    ``return_indices`` also returns where each maximum sits."""

    def __init__(self, output_size: Any, return_indices: bool = False) -> None:
        super().__init__()
        self.output_size, self.return_indices = output_size, return_indices

    def forward(self, x: Tensor) -> Any:
        return F.adaptive_max_pool2d(x, self.output_size, self.return_indices)

    def extra_repr(self) -> str:
        return f"output_size={self.output_size}"


class AdaptiveMaxPool1d(Module):
    """Max-pool (N, C, L) down to ``output_size`` with PyTorch's adaptive windows."""

    def __init__(self, output_size: int, return_indices: bool = False) -> None:
        super().__init__()
        self.output_size, self.return_indices = output_size, return_indices

    def forward(self, x: Tensor) -> Any:
        return F.adaptive_max_pool1d(x, self.output_size, self.return_indices)

    def extra_repr(self) -> str:
        return f"output_size={self.output_size}"
