"""Batch normalisation layers (Ioffe & Szegedy, 2015), with PyTorch's state and update."""

from __future__ import annotations

from typing import Any

import numpy as np

import shenjing.nn.functional as F
from shenjing import creation
from shenjing.nn import init
from shenjing.nn.layers._factory import apply_factory_kwargs
from shenjing.nn.module import Module
from shenjing.nn.parameter import Parameter
from shenjing.tensor import Tensor

__all__ = ["BatchNorm1d", "BatchNorm2d"]


class _BatchNorm(Module):
    """Normalises each channel (axis 1) with batch statistics in training and running
    estimates in evaluation, then scales by γ (``weight``) and shifts by β (``bias``).

    In training, with B the batch's values for one channel (all axes but 1):

        y = γ · (x − mean(B)) / √(var(B) + eps) + β      (var biased: divides by |B|)
        running_mean ← (1 − momentum)·running_mean + momentum·mean(B)
        running_var  ← (1 − momentum)·running_var  + momentum·var(B)·|B|/(|B| − 1)

    and ``num_batches_tracked`` counts the updates. ``momentum=None`` makes the running
    estimates plain cumulative averages. In evaluation the running estimates replace the
    batch's. Without ``track_running_stats`` batch statistics are used in both modes.
    ``affine=False`` drops γ and β; ``bias=False`` (keyword) keeps γ but drops β.
    State names follow PyTorch: ``weight``, ``bias``, ``running_mean``, ``running_var``,
    ``num_batches_tracked``.
    """

    _accepted_ndims: tuple[int, ...]
    _input_layout: str

    def __init__(
        self,
        num_features: int,
        eps: float = 1e-5,
        momentum: float | None = 0.1,
        affine: bool = True,
        track_running_stats: bool = True,
        *,
        bias: bool = True,
        device: Any = None,
        dtype: Any = None,
    ) -> None:
        super().__init__()
        name = type(self).__name__
        if isinstance(num_features, bool) or not isinstance(num_features, int) or num_features < 1:
            raise ValueError(
                f"{name}: num_features must be a positive integer. Received: {num_features!r}"
            )
        if momentum is not None and not 0 <= momentum <= 1:
            raise ValueError(f"{name}: momentum must be in [0, 1] or None. Received: {momentum}")
        if eps <= 0:
            raise ValueError(f"{name}: eps must be positive. Received: {eps}")
        self.num_features = num_features
        self.eps = eps
        self.momentum = momentum
        self.affine = affine
        self.track_running_stats = track_running_stats
        if affine:
            self.weight = Parameter(creation.ones(num_features))
        else:
            self.register_parameter("weight", None)
        if affine and bias:
            self.bias = Parameter(creation.zeros(num_features))
        else:
            self.register_parameter("bias", None)
        if track_running_stats:
            self.register_buffer("running_mean", creation.zeros(num_features))
            self.register_buffer("running_var", creation.ones(num_features))
            self.register_buffer("num_batches_tracked", Tensor(np.array(0, dtype=np.int64)))
        else:
            self.register_buffer("running_mean", None)
            self.register_buffer("running_var", None)
            self.register_buffer("num_batches_tracked", None)
        apply_factory_kwargs(self, device, dtype)

    def reset_running_stats(self) -> None:
        """Running mean 0, running variance 1, no batches tracked."""
        if self.track_running_stats:
            init.zeros_(self.running_mean)
            init.ones_(self.running_var)
            self.num_batches_tracked.array[...] = 0

    def reset_parameters(self) -> None:
        """Reset the running statistics, and γ to 1 and β to 0."""
        self.reset_running_stats()
        if self.weight is not None:
            init.ones_(self.weight)
        if self.bias is not None:
            init.zeros_(self.bias)

    def _check_input(self, x: Tensor) -> None:
        if x.ndim not in self._accepted_ndims or x.shape[1] != self.num_features:
            raise ValueError(
                f"{type(self).__name__} expects input of shape {self._input_layout} with "
                f"C={self.num_features}. Received: shape={x.shape}"
            )

    def forward(self, x: Tensor) -> Tensor:
        self._check_input(x)
        factor = 0.0 if self.momentum is None else self.momentum
        if self.training and self.track_running_stats:
            self.num_batches_tracked.array += 1
            if self.momentum is None:  # cumulative average: weight 1/n for the n-th batch
                factor = 1.0 / int(self.num_batches_tracked.array)
        return F.batch_norm(
            x,
            self.running_mean,
            self.running_var,
            self.weight,
            self.bias,
            training=self.training or self.running_mean is None,
            momentum=factor,
            eps=self.eps,
        )

    def extra_repr(self) -> str:
        return (
            f"{self.num_features}, eps={self.eps}, momentum={self.momentum}, "
            f"affine={self.affine}, bias={self.bias is not None}, "
            f"track_running_stats={self.track_running_stats}"
        )


class BatchNorm1d(_BatchNorm):
    """Batch normalisation of (N, C) or (N, C, L) input, per feature C (see
    ``_BatchNorm`` for the math).

    Example:
        >>> import shenjing as sj
        >>> import shenjing.nn as nn
        >>> bn = nn.BatchNorm1d(2)
        >>> y = bn(sj.tensor([[1.0, 10.0], [3.0, 30.0]]))
        >>> bn.running_mean.tolist()
        [0.20000000298023224, 2.0]
    """

    _accepted_ndims = (2, 3)
    _input_layout = "(N, C) or (N, C, L)"


class BatchNorm2d(_BatchNorm):
    """Batch normalisation of (N, C, H, W) input, per channel C over (N, H, W) (see
    ``_BatchNorm`` for the math)."""

    _accepted_ndims = (4,)
    _input_layout = "(N, C, H, W)"
