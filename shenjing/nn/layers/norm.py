"""Per-sample normalisation layers with PyTorch's state: LayerNorm and GroupNorm.

Unlike BatchNorm they keep no running statistics, so training and evaluation agree.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import shenjing.nn.functional as F
from shenjing import creation
from shenjing.nn.layers._factory import apply_factory_kwargs
from shenjing.nn.module import Module
from shenjing.nn.parameter import Parameter
from shenjing.tensor import Tensor

__all__ = ["GroupNorm", "LayerNorm"]


class LayerNorm(Module):
    """y = (x - μ)/√(σ² + eps)·γ + β, statistics over the trailing ``normalized_shape``.

    Args:
        normalized_shape: the trailing dimensions to normalise over (an int for one).
        eps: added to the variance.
        elementwise_affine: learn γ (``weight``, ones) and β (``bias``, zeros), each of
            shape ``normalized_shape``.
        bias: with ``elementwise_affine``, whether β is learned.

    Example:
        >>> import shenjing as sj
        >>> sj.nn.LayerNorm(8)(sj.randn(2, 5, 8)).shape
        (2, 5, 8)
    """

    def __init__(
        self,
        normalized_shape: int | Sequence[int],
        eps: float = 1e-5,
        elementwise_affine: bool = True,
        bias: bool = True,
        device: Any = None,
        dtype: Any = None,
    ) -> None:
        super().__init__()
        shape = (normalized_shape,) if isinstance(normalized_shape, int) else normalized_shape
        self.normalized_shape = tuple(int(n) for n in shape)
        self.eps, self.elementwise_affine = eps, elementwise_affine
        self.weight = Parameter(creation.ones(*self.normalized_shape)) if elementwise_affine \
            else None
        self.bias = Parameter(creation.zeros(*self.normalized_shape)) \
            if elementwise_affine and bias else None
        apply_factory_kwargs(self, device, dtype)

    def forward(self, x: Tensor) -> Tensor:
        return F.layer_norm(x, self.normalized_shape, self.weight, self.bias, self.eps)

    def extra_repr(self) -> str:
        return (f"{self.normalized_shape}, eps={self.eps}, "
                f"elementwise_affine={self.elementwise_affine}")


class GroupNorm(Module):
    """Standardise (N, C, *) within each sample over groups of C/num_groups channels, then
    scale by γ (``weight``, ones) and shift by β (``bias``, zeros) per channel.

    Example:
        >>> import shenjing as sj
        >>> sj.nn.GroupNorm(2, 4)(sj.randn(3, 4, 5, 5)).shape
        (3, 4, 5, 5)
    """

    def __init__(
        self, num_groups: int, num_channels: int, eps: float = 1e-5, affine: bool = True,
        device: Any = None,
        dtype: Any = None,
    ) -> None:
        super().__init__()
        if num_groups < 1 or num_channels % num_groups:
            raise ValueError(
                f"GroupNorm: num_channels must be divisible by num_groups. Received: "
                f"num_groups={num_groups}, num_channels={num_channels}"
            )
        self.num_groups, self.num_channels = num_groups, num_channels
        self.eps, self.affine = eps, affine
        self.weight = Parameter(creation.ones(num_channels)) if affine else None
        self.bias = Parameter(creation.zeros(num_channels)) if affine else None
        apply_factory_kwargs(self, device, dtype)

    def forward(self, x: Tensor) -> Tensor:
        if x.ndim < 2 or x.shape[1] != self.num_channels:
            raise ValueError(
                f"GroupNorm expects input (N, {self.num_channels}, *). Received: shape={x.shape}"
            )
        return F.group_norm(x, self.num_groups, self.weight, self.bias, self.eps)

    def extra_repr(self) -> str:
        return f"{self.num_groups}, {self.num_channels}, eps={self.eps}, affine={self.affine}"
