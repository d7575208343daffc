"""Losses as modules, under PyTorch's names and arguments: ``criterion = nn.CrossEntropyLoss()``
then ``criterion(output, target)``. Each calls the ``shenjing.nn.functional`` loss of the
same name; constant ``weight`` and ``pos_weight`` are buffers, so they are in the
state_dict as in PyTorch."""

from __future__ import annotations

from typing import Any

import shenjing.nn.functional as F
from shenjing.nn.module import Module
from shenjing.tensor import Tensor, as_tensor

__all__ = [
    "BCELoss", "BCEWithLogitsLoss", "CrossEntropyLoss", "HuberLoss", "KLDivLoss", "L1Loss",
    "MSELoss", "NLLLoss", "SmoothL1Loss",
]


class _Loss(Module):
    """A loss with PyTorch's ``reduction``; PyTorch's long-deprecated ``size_average`` and
    ``reduce`` flags are refused rather than half-supported."""

    def __init__(self, size_average: Any = None, reduce: Any = None, reduction: str = "mean"):
        super().__init__()
        if size_average is not None or reduce is not None:
            raise ValueError(
                f"{type(self).__name__}: size_average and reduce are deprecated in PyTorch and "
                f"not supported; use reduction='mean' | 'sum' | 'none'. Received: "
                f"size_average={size_average}, reduce={reduce}"
            )
        self.reduction = reduction

    def extra_repr(self) -> str:
        return f"reduction={self.reduction!r}"


class _WeightedLoss(_Loss):
    """A loss with a constant per-class ``weight`` buffer (None when not given)."""

    def __init__(
        self,
        weight: Tensor | None = None,
        size_average: Any = None,
        reduce: Any = None,
        reduction: str = "mean",
    ):
        super().__init__(size_average, reduce, reduction)
        self._register_constant("weight", weight)

    def _register_constant(self, name: str, value: Tensor | None) -> None:
        """A constant tensor argument as a buffer, so it is in the state_dict as in
        PyTorch; None (registered as such) when not given."""
        self.register_buffer(name, None if value is None else as_tensor(value))


class MSELoss(_Loss):
    """Mean squared error, (input - target)² reduced."""

    def forward(self, input: Tensor, target: Tensor) -> Tensor:
        return F.mse_loss(input, target, reduction=self.reduction)


class L1Loss(_Loss):
    """Mean absolute error, |input - target| reduced."""

    def forward(self, input: Tensor, target: Tensor) -> Tensor:
        return F.l1_loss(input, target, reduction=self.reduction)


class SmoothL1Loss(_Loss):
    """d²/(2β) where |d| < β, else |d| - β/2, with d = input - target."""

    def __init__(
        self, size_average: Any = None, reduce: Any = None, reduction: str = "mean",
        beta: float = 1.0,
    ):
        super().__init__(size_average, reduce, reduction)
        self.beta = beta

    def forward(self, input: Tensor, target: Tensor) -> Tensor:
        return F.smooth_l1_loss(input, target, reduction=self.reduction, beta=self.beta)


class HuberLoss(_Loss):
    """d²/2 where |d| < δ, else δ(|d| - δ/2), with d = input - target."""

    def __init__(self, reduction: str = "mean", delta: float = 1.0):
        super().__init__(reduction=reduction)
        self.delta = delta

    def forward(self, input: Tensor, target: Tensor) -> Tensor:
        return F.huber_loss(input, target, reduction=self.reduction, delta=self.delta)


class KLDivLoss(_Loss):
    """KL(target ‖ p) for log-probabilities input = log p; see ``F.kl_div``."""

    def __init__(
        self, size_average: Any = None, reduce: Any = None, reduction: str = "mean",
        log_target: bool = False,
    ):
        super().__init__(size_average, reduce, reduction)
        self.log_target = log_target

    def forward(self, input: Tensor, target: Tensor) -> Tensor:
        return F.kl_div(input, target, reduction=self.reduction, log_target=self.log_target)


class BCELoss(_WeightedLoss):
    """Binary cross-entropy on probabilities, -w[t·log p + (1 - t)·log(1 - p)]."""

    def forward(self, input: Tensor, target: Tensor) -> Tensor:
        return F.binary_cross_entropy(input, target, self.weight, reduction=self.reduction)


class BCEWithLogitsLoss(_WeightedLoss):
    """Sigmoid and binary cross-entropy fused, with ``pos_weight`` for the positive class."""

    def __init__(
        self,
        weight: Tensor | None = None,
        size_average: Any = None,
        reduce: Any = None,
        reduction: str = "mean",
        pos_weight: Tensor | None = None,
    ):
        super().__init__(weight, size_average, reduce, reduction)
        self._register_constant("pos_weight", pos_weight)

    def forward(self, input: Tensor, target: Tensor) -> Tensor:
        return F.binary_cross_entropy_with_logits(
            input, target, self.weight, reduction=self.reduction, pos_weight=self.pos_weight
        )


class NLLLoss(_WeightedLoss):
    """Negative log-likelihood of the target class, for log-probabilities."""

    def __init__(
        self,
        weight: Tensor | None = None,
        size_average: Any = None,
        ignore_index: int = -100,
        reduce: Any = None,
        reduction: str = "mean",
    ):
        super().__init__(weight, size_average, reduce, reduction)
        self.ignore_index = ignore_index

    def forward(self, input: Tensor, target: Tensor) -> Tensor:
        return F.nll_loss(
            input, target, self.weight, ignore_index=self.ignore_index, reduction=self.reduction
        )


class CrossEntropyLoss(_WeightedLoss):
    """Softmax and cross-entropy fused, on class labels or class probabilities.

    Example:
        >>> import shenjing as sj
        >>> criterion = sj.nn.CrossEntropyLoss(label_smoothing=0.1)
        >>> round(criterion(sj.tensor([[0.0, 0.0]]), sj.tensor([1])).item(), 4)
        0.6931
    """

    def __init__(
        self,
        weight: Tensor | None = None,
        size_average: Any = None,
        ignore_index: int = -100,
        reduce: Any = None,
        reduction: str = "mean",
        label_smoothing: float = 0.0,
    ):
        super().__init__(weight, size_average, reduce, reduction)
        self.ignore_index, self.label_smoothing = ignore_index, label_smoothing

    def forward(self, input: Tensor, target: Tensor) -> Tensor:
        return F.cross_entropy(
            input, target, self.weight, ignore_index=self.ignore_index,
            reduction=self.reduction, label_smoothing=self.label_smoothing,
        )
