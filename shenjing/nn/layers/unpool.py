"""``MaxUnpool1d`` / ``MaxUnpool2d``: max pooling's partial inverse, as PyTorch's layers."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import shenjing.nn.functional as F
from shenjing.nn.module import Module
from shenjing.tensor import Tensor

__all__ = ["MaxUnpool1d", "MaxUnpool2d"]


class _MaxUnpool(Module):
    def __init__(self, kernel_size: Any, stride: Any = None, padding: Any = 0) -> None:
        super().__init__()
        self.kernel_size = kernel_size
        self.stride = kernel_size if stride is None else stride
        self.padding = padding

    def extra_repr(self) -> str:
        return (f"kernel_size={self.kernel_size}, stride={self.stride}, "
                f"padding={self.padding}")


class MaxUnpool2d(_MaxUnpool):
    """Put each value back where ``MaxPool2d(..., return_indices=True)`` found it, zeros
    elsewhere; ``forward(input, indices, output_size=None)``.

    Example:
        >>> import shenjing as sj
        >>> import shenjing.nn as nn
        >>> y, i = nn.MaxPool2d(2, return_indices=True)(sj.randn(1, 1, 4, 4))
        >>> nn.MaxUnpool2d(2)(y, i).shape
        (1, 1, 4, 4)
    """

    def forward(self, input: Tensor, indices: Tensor,  # noqa: A002
                output_size: Sequence[int] | None = None) -> Tensor:
        return F.max_unpool2d(input, indices, self.kernel_size, self.stride, self.padding,
                              output_size)


class MaxUnpool1d(_MaxUnpool):
    """``MaxUnpool2d`` for (N, C, L) input and the indices of ``MaxPool1d``."""

    def forward(self, input: Tensor, indices: Tensor,  # noqa: A002
                output_size: Sequence[int] | None = None) -> Tensor:
        return F.max_unpool1d(input, indices, self.kernel_size, self.stride, self.padding,
                              output_size)
