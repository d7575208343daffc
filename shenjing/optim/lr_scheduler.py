"""Learning-rate schedules: change each parameter group's ``lr`` as training goes on.

As in PyTorch, a scheduler sets the learning rates for epoch 0 when it is made, and
``step()`` (once per epoch, after ``optimizer.step()``) moves to the next epoch.
Schedules are computed in closed form from each group's ``initial_lr``, so an ``lr``
changed by hand is replaced at the next ``step()``.

Example:
    >>> import shenjing as sj
    >>> w = sj.tensor([1.0], requires_grad=True)
    >>> opt = sj.optim.SGD([w], lr=0.1)
    >>> sched = sj.optim.lr_scheduler.StepLR(opt, step_size=2, gamma=0.5)
    >>> lrs = []
    >>> for epoch in range(5):
    ...     lrs.append(sched.get_last_lr()[0])
    ...     opt.step()
    ...     sched.step()
    >>> lrs
    [0.1, 0.1, 0.05, 0.05, 0.025]
"""

from __future__ import annotations

import bisect
import math
import numbers
from collections.abc import Iterable
from typing import Any

from shenjing.optim.lr_base import LRScheduler
from shenjing.optim.lr_cycles import (
    CosineAnnealingWarmRestarts,
    LambdaLR,
    MultiplicativeLR,
    OneCycleLR,
)
from shenjing.optim.optimizer import Optimizer, check_number
from shenjing.tensor import Tensor

__all__ = [
    "CosineAnnealingLR", "ExponentialLR", "LRScheduler", "LinearLR", "MultiStepLR",
    "ReduceLROnPlateau", "StepLR",
    "CosineAnnealingWarmRestarts", "LambdaLR", "MultiplicativeLR", "OneCycleLR",
]


class StepLR(LRScheduler):
    """Multiply the learning rate by ``gamma`` every ``step_size`` epochs.

    lr(t) = lr₀ · γ^⌊t / step_size⌋
    """

    def __init__(
        self, optimizer: Optimizer, step_size: int, gamma: float = 0.1, last_epoch: int = -1
    ) -> None:
        _check_positive_int(type(self).__name__, "step_size", step_size)
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
            _check_positive_int(type(self).__name__, "milestones", milestone)
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


class CosineAnnealingLR(LRScheduler):
    """Anneal the learning rate along a half cosine from lr₀ to ``eta_min`` in ``T_max``
    epochs (SGDR without restarts, Loshchilov & Hutter, 2017).

    lr(t) = η_min + (lr₀ − η_min) · (1 + cos(πt / T_max)) / 2

    Past ``T_max`` the cosine carries on, rising back towards lr₀, as in PyTorch.
    """

    def __init__(
        self, optimizer: Optimizer, T_max: int, eta_min: float = 0, last_epoch: int = -1  # noqa: N803
    ) -> None:
        _check_positive_int(type(self).__name__, "T_max", T_max)
        check_number("eta_min", eta_min)
        self.T_max, self.eta_min = T_max, eta_min
        super().__init__(optimizer, last_epoch)

    def lr_at(self, base_lr: float, epoch: int) -> float:
        cosine = (1 + math.cos(math.pi * epoch / self.T_max)) / 2
        return self.eta_min + (base_lr - self.eta_min) * cosine


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
        _check_positive_int(name, "total_iters", total_iters)
        self.start_factor, self.end_factor = start_factor, end_factor
        self.total_iters = total_iters
        super().__init__(optimizer, last_epoch)

    def lr_at(self, base_lr: float, epoch: int) -> float:
        progress = min(epoch, self.total_iters) / self.total_iters
        return base_lr * (self.start_factor + (self.end_factor - self.start_factor) * progress)


class ReduceLROnPlateau(LRScheduler):
    """Multiply the learning rate by ``factor`` when a metric has stopped improving.

    ``step(metric)`` is called once per epoch with, e.g., the validation loss. An epoch
    improves on the best value so far when, in ``mode="min"``, the metric is below
    best · (1 − threshold) (``threshold_mode="rel"``) or best − threshold (``"abs"``);
    ``"max"`` mirrors this. After more than ``patience`` epochs without improvement,
    every group's lr becomes max(lr · factor, min_lr) (unless that changes it by no more
    than ``eps``), and the next ``cooldown`` epochs are not counted as bad.

    Args:
        optimizer: the optimizer whose groups' ``lr`` this scheduler lowers.
        mode: ``"min"`` for a metric that should fall (a loss), ``"max"`` for one that
            should rise (an accuracy).
        factor: the multiplier of a reduction, below 1.
        patience: bad epochs tolerated before a reduction.
        threshold: how much better a value must be to count as an improvement.
        threshold_mode: ``"rel"`` (a fraction of the best) or ``"abs"`` (an amount).
        cooldown: epochs after a reduction during which bad epochs are not counted.
        min_lr: a floor for every group, or a list with one floor per group.
        eps: reductions smaller than this are skipped.

    Example:
        >>> import shenjing as sj
        >>> w = sj.tensor([1.0], requires_grad=True)
        >>> opt = sj.optim.SGD([w], lr=0.1)
        >>> sched = sj.optim.lr_scheduler.ReduceLROnPlateau(opt, patience=1, factor=0.5)
        >>> for val_loss in [1.0, 0.9, 0.9, 0.9]:
        ...     sched.step(val_loss)
        >>> sched.get_last_lr()
        [0.05]
    """

    def __init__(
        self,
        optimizer: Optimizer,
        mode: str = "min",
        factor: float = 0.1,
        patience: int = 10,
        threshold: float = 1e-4,
        threshold_mode: str = "rel",
        cooldown: int = 0,
        min_lr: float | list[float] = 0,
        eps: float = 1e-8,
    ) -> None:
        name = type(self).__name__
        if not isinstance(optimizer, Optimizer):
            raise TypeError(
                f"{name}: expected an Optimizer. Received: {type(optimizer).__name__}"
            )
        if mode not in ("min", "max"):
            raise ValueError(f"{name}: mode must be 'min' or 'max'. Received: {mode!r}")
        if threshold_mode not in ("rel", "abs"):
            raise ValueError(
                f"{name}: threshold_mode must be 'rel' or 'abs'. Received: {threshold_mode!r}"
            )
        check_number("factor", factor)
        if not factor < 1.0:
            raise ValueError(f"{name}: factor should be < 1.0. Received: {factor}")
        n_groups = len(optimizer.param_groups)
        if isinstance(min_lr, (list, tuple)):
            if len(min_lr) != n_groups:
                raise ValueError(
                    f"{name}: expected {n_groups} min_lrs, one per parameter group. "
                    f"Received: {len(min_lr)}"
                )
            min_lrs = list(min_lr)
        else:
            min_lrs = [min_lr] * n_groups
        for value in min_lrs:
            check_number("min_lr", value)
        for label, value in (("patience", patience), ("cooldown", cooldown)):
            if not isinstance(value, numbers.Integral) or value < 0:
                raise ValueError(f"{name}: {label} must be an integer >= 0. Received: {value!r}")

        self.optimizer = optimizer
        self.mode, self.factor, self.patience = mode, factor, patience
        self.threshold, self.threshold_mode = threshold, threshold_mode
        self.cooldown, self.min_lrs, self.eps = cooldown, min_lrs, eps
        self.last_epoch = 0
        self.best = math.inf if mode == "min" else -math.inf
        self.num_bad_epochs = 0
        self.cooldown_counter = 0
        self._last_lr = [group["lr"] for group in optimizer.param_groups]

    def is_better(self, value: float, best: float) -> bool:
        """True when ``value`` improves on ``best`` by more than the threshold."""
        if self.mode == "min":
            bar = best * (1 - self.threshold) if self.threshold_mode == "rel" else (
                best - self.threshold
            )
            return value < bar
        bar = best * (1 + self.threshold) if self.threshold_mode == "rel" else (
            best + self.threshold
        )
        return value > bar

    def step(self, metric: float | Tensor) -> None:  # type: ignore[override]
        """Record one epoch's ``metric`` and lower the learning rates if it has plateaued."""
        value = metric.item() if isinstance(metric, Tensor) else float(metric)
        self.last_epoch += 1
        if self.is_better(value, self.best):
            self.best = value
            self.num_bad_epochs = 0
        else:
            self.num_bad_epochs += 1
        if self.cooldown_counter > 0:
            self.cooldown_counter -= 1
            self.num_bad_epochs = 0
        if self.num_bad_epochs > self.patience:
            self._reduce_lrs()
            self.cooldown_counter = self.cooldown
            self.num_bad_epochs = 0
        self._last_lr = [group["lr"] for group in self.optimizer.param_groups]

    def _reduce_lrs(self) -> None:
        if len(self.min_lrs) != len(self.optimizer.param_groups):
            raise RuntimeError(
                f"{type(self).__name__}: the optimizer has {len(self.optimizer.param_groups)} "
                f"parameter groups but min_lrs has {len(self.min_lrs)}; was a group added "
                "after the scheduler was made? Set min_lrs to one value per group."
            )
        for group, min_lr in zip(self.optimizer.param_groups, self.min_lrs, strict=True):
            old_lr = float(group["lr"])
            new_lr = max(old_lr * self.factor, min_lr)
            if old_lr - new_lr > self.eps:
                group["lr"] = new_lr


def _check_positive_int(name: str, label: str, value: Any) -> None:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value <= 0:
        raise ValueError(f"{name}: {label} must be a positive integer. Received: {value!r}")

