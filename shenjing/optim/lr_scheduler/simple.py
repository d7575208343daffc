"""Schedules that scale the initial learning rate by a factor of the epoch: steps,
milestones, exponential and polynomial decay, linear warm-up, constant, user functions."""

from __future__ import annotations

import bisect
from collections.abc import Iterable
from typing import Any

from shenjing.optim.lr_scheduler.base import LRScheduler, check_positive_int
from shenjing.optim.optimizer import Optimizer, check_number

__all__ = [
    "ConstantLR", "ExponentialLR", "LambdaLR", "LinearLR", "MultiStepLR", "MultiplicativeLR",
    "PolynomialLR", "StepLR",
]


class StepLR(LRScheduler):
    """Multiply the learning rate by ``gamma`` every ``step_size`` epochs.

    lr(t) = lr₀ · γ^⌊t / step_size⌋
    """

    def __init__(
        self, optimizer: Optimizer, step_size: int, gamma: float = 0.1, last_epoch: int = -1
    ) -> None:
        check_positive_int(type(self).__name__, "step_size", step_size)
        check_number("gamma", gamma)
        self.step_size, self.gamma = step_size, gamma
        super().__init__(optimizer, last_epoch)

    def lr_at(self, base_lr: float, epoch: int) -> float:
        return base_lr * self.gamma ** (epoch // self.step_size)


class MultiStepLR(LRScheduler):
    """Multiply the learning rate by ``gamma`` at each milestone epoch.

    lr(t) = lr₀ · γ^(number of milestones ≤ t); a milestone listed twice counts twice.
    """

    def __init__(
        self,
        optimizer: Optimizer,
        milestones: Iterable[int],
        gamma: float = 0.1,
        last_epoch: int = -1,
    ) -> None:
        milestones = list(milestones)
        for milestone in milestones:
            check_positive_int(type(self).__name__, "milestones", milestone)
        check_number("gamma", gamma)
        self.milestones, self.gamma = sorted(milestones), gamma
        super().__init__(optimizer, last_epoch)

    def lr_at(self, base_lr: float, epoch: int) -> float:
        return base_lr * self.gamma ** bisect.bisect_right(self.milestones, epoch)


class ExponentialLR(LRScheduler):
    """Multiply the learning rate by ``gamma`` every epoch: lr(t) = lr₀ · γᵗ."""

    def __init__(self, optimizer: Optimizer, gamma: float, last_epoch: int = -1) -> None:
        check_number("gamma", gamma)
        self.gamma = gamma
        super().__init__(optimizer, last_epoch)

    def lr_at(self, base_lr: float, epoch: int) -> float:
        return base_lr * self.gamma**epoch


class LinearLR(LRScheduler):
    """Scale the learning rate by a factor that moves linearly from ``start_factor`` to
    ``end_factor`` over ``total_iters`` epochs, then stays (a common warm-up).

    lr(t) = lr₀ · (s + (e − s) · min(t, total_iters) / total_iters)
    """

    def __init__(
        self,
        optimizer: Optimizer,
        start_factor: float = 1.0 / 3,
        end_factor: float = 1.0,
        total_iters: int = 5,
        last_epoch: int = -1,
    ) -> None:
        name = type(self).__name__
        check_number("start_factor", start_factor)
        check_number("end_factor", end_factor)
        if not 0 < start_factor <= 1:
            raise ValueError(
                f"{name}: start_factor must be in (0, 1]. Received: {start_factor}"
            )
        if not 0 <= end_factor <= 1:
            raise ValueError(f"{name}: end_factor must be in [0, 1]. Received: {end_factor}")
        check_positive_int(name, "total_iters", total_iters)
        self.start_factor, self.end_factor = start_factor, end_factor
        self.total_iters = total_iters
        super().__init__(optimizer, last_epoch)

    def lr_at(self, base_lr: float, epoch: int) -> float:
        progress = min(epoch, self.total_iters) / self.total_iters
        return base_lr * (self.start_factor + (self.end_factor - self.start_factor) * progress)


class LambdaLR(LRScheduler):
    """lr(t) = lr₀ · λ(t), with ``lr_lambda`` one function or one per parameter group."""

    def __init__(self, optimizer: Optimizer, lr_lambda: Any, last_epoch: int = -1) -> None:
        self.lr_lambdas = _one_per_group(type(self).__name__, optimizer, lr_lambda)
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list[float]:
        return [base_lr * f(self.last_epoch)
                for base_lr, f in zip(self.base_lrs, self.lr_lambdas, strict=True)]

    def state_dict(self) -> dict[str, Any]:
        """As the base class's, without the functions (they may not copy), as PyTorch's."""
        saved = self.__dict__.pop("lr_lambdas")
        try:
            return super().state_dict()
        finally:
            self.lr_lambdas = saved


class MultiplicativeLR(LRScheduler):
    """Multiply each group's current learning rate by ``λ(t)`` at every epoch t > 0.

    lr(0) = lr₀,  lr(t) = lr(t−1) · λ(t): unlike the closed-form schedules, an ``lr``
    changed by hand carries on from its new value, as in PyTorch.
    """

    def __init__(self, optimizer: Optimizer, lr_lambda: Any, last_epoch: int = -1) -> None:
        self.lr_lambdas = _one_per_group(type(self).__name__, optimizer, lr_lambda)
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list[float]:
        if self.last_epoch <= 0:
            return [group["lr"] for group in self.optimizer.param_groups]
        return [group["lr"] * f(self.last_epoch)
                for group, f in zip(self.optimizer.param_groups, self.lr_lambdas, strict=True)]

    state_dict = LambdaLR.state_dict


class ConstantLR(LRScheduler):
    """Scale the learning rate by ``factor`` for the first ``total_iters`` epochs, then
    use lr₀ (a constant warm-up).

    lr(t) = lr₀ · factor for t < total_iters, lr₀ after.
    """

    def __init__(self, optimizer: Optimizer, factor: float = 1.0 / 3, total_iters: int = 5,
                 last_epoch: int = -1) -> None:
        check_number("factor", factor)
        if not 0 <= factor <= 1:
            raise ValueError(f"ConstantLR: factor must be in [0, 1]. Received: {factor}")
        check_positive_int(type(self).__name__, "total_iters", total_iters)
        self.factor, self.total_iters = factor, total_iters
        super().__init__(optimizer, last_epoch)

    def lr_at(self, base_lr: float, epoch: int) -> float:
        return base_lr * (self.factor if epoch < self.total_iters else 1.0)


class PolynomialLR(LRScheduler):
    """Decay the learning rate to 0 along a polynomial over ``total_iters`` epochs.

    lr(t) = lr₀ · (1 − min(t, total_iters) / total_iters)^power
    """

    def __init__(self, optimizer: Optimizer, total_iters: int = 5, power: float = 1.0,
                 last_epoch: int = -1) -> None:
        check_positive_int(type(self).__name__, "total_iters", total_iters)
        check_number("power", power)
        self.total_iters, self.power = total_iters, power
        super().__init__(optimizer, last_epoch)

    def lr_at(self, base_lr: float, epoch: int) -> float:
        return base_lr * (1 - min(epoch, self.total_iters) / self.total_iters) ** self.power


def _one_per_group(name: str, optimizer: Optimizer, lr_lambda: Any) -> list[Any]:
    """``lr_lambda`` as one function per parameter group (one given: shared by all)."""
    groups = len(optimizer.param_groups) if isinstance(optimizer, Optimizer) else 0
    lambdas = list(lr_lambda) if isinstance(lr_lambda, (list, tuple)) else [lr_lambda] * groups
    if len(lambdas) != groups or not all(callable(f) for f in lambdas):
        raise ValueError(f"{name}: expected one function or {groups} functions (one per "
                         f"parameter group). Received: {lr_lambda!r}")
    return lambdas
