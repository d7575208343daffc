"""``ReduceLROnPlateau``: lower the learning rate when a monitored metric stalls."""

from __future__ import annotations

import math
import numbers

from shenjing.optim.lr_scheduler.base import LRScheduler
from shenjing.optim.optimizer import Optimizer, check_number
from shenjing.tensor import Tensor

__all__ = ["ReduceLROnPlateau"]


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
