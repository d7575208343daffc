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
import copy
import math
import numbers
from collections.abc import Iterable
from typing import Any

from shenjing.optim.optimizer import Optimizer, check_number
from shenjing.tensor import Tensor

__all__ = [
    "CosineAnnealingLR", "CosineAnnealingWarmRestarts", "ExponentialLR", "LRScheduler",
    "LambdaLR", "LinearLR", "MultiStepLR", "OneCycleLR", "ReduceLROnPlateau", "StepLR",
]


class LRScheduler:
    """Base class: ``step()``, ``get_last_lr()``, ``state_dict()``, ``load_state_dict()``.

    A subclass implements ``lr_at(base_lr, epoch)``, the learning rate of a group whose
    ``initial_lr`` is ``base_lr`` at epoch ``epoch``.

    Args:
        optimizer: the optimizer whose groups' ``lr`` this scheduler sets.
        last_epoch: the index of the last epoch, to resume a run (each group must then
            hold its ``initial_lr``); -1 starts afresh.

    Attributes:
        base_lrs: each group's ``initial_lr``.
        last_epoch: the epoch whose learning rates are in the optimizer.
    """

    def __init__(self, optimizer: Optimizer, last_epoch: int = -1) -> None:
        if not isinstance(optimizer, Optimizer):
            raise TypeError(
                f"{type(self).__name__}: expected an Optimizer. "
                f"Received: {type(optimizer).__name__}"
            )
        self.optimizer = optimizer
        if last_epoch == -1:
            for group in optimizer.param_groups:
                group.setdefault("initial_lr", group["lr"])
        else:
            for i, group in enumerate(optimizer.param_groups):
                if "initial_lr" not in group:
                    raise KeyError(
                        f"{type(self).__name__}: param_groups[{i}] has no 'initial_lr', "
                        f"needed to resume at last_epoch={last_epoch}; load the optimizer's "
                        "state dict first, or start with last_epoch=-1"
                    )
        self.base_lrs = [group["initial_lr"] for group in optimizer.param_groups]
        self.last_epoch = last_epoch
        self.step()

    def lr_at(self, base_lr: float, epoch: int) -> float:
        """The learning rate at ``epoch`` of a group that started at ``base_lr``."""
        raise NotImplementedError(f"{type(self).__name__} does not implement lr_at")

    def get_lr(self) -> list[float]:
        """Each group's learning rate at ``last_epoch``."""
        return [self.lr_at(base_lr, self.last_epoch) for base_lr in self.base_lrs]

    def step(self) -> None:
        """Move to the next epoch and set every group's learning rate for it."""
        self.last_epoch += 1
        lrs = self.get_lr()
        for group, lr in zip(self.optimizer.param_groups, lrs, strict=True):
            group["lr"] = lr
        self._last_lr = lrs

    def get_last_lr(self) -> list[float]:
        """The learning rates this scheduler last set, one per group."""
        return list(self._last_lr)

    def state_dict(self) -> dict[str, Any]:
        """Everything but the optimizer (save that with its own ``state_dict``)."""
        return {
            key: copy.deepcopy(value) for key, value in self.__dict__.items()
            if key != "optimizer"
        }

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Restore a snapshot taken by ``state_dict()`` of the same kind of scheduler."""
        unknown = sorted(set(state_dict) - set(self.__dict__) - {"optimizer"})
        if unknown:
            raise ValueError(
                f"{type(self).__name__}.load_state_dict: unknown keys {unknown}; was the "
                "state saved by another kind of scheduler?"
            )
        self.__dict__.update(copy.deepcopy(state_dict))


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
        self, optimizer: Optimizer, T_max: int, eta_min: float = 0, last_epoch: int = -1
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


class LambdaLR(LRScheduler):
    """lr(t) = lr₀ · λ(t), with ``lr_lambda`` one function or one per parameter group."""

    def __init__(self, optimizer: Optimizer, lr_lambda: Any, last_epoch: int = -1) -> None:
        groups = len(optimizer.param_groups) if isinstance(optimizer, Optimizer) else 0
        lambdas = list(lr_lambda) if isinstance(lr_lambda, (list, tuple)) else (
            [lr_lambda] * groups)
        if len(lambdas) != groups or not all(callable(f) for f in lambdas):
            raise ValueError(f"LambdaLR: expected one function or {groups} functions (one "
                             f"per parameter group). Received: {lr_lambda!r}")
        self.lr_lambdas = lambdas
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


class CosineAnnealingWarmRestarts(LRScheduler):
    """SGDR (Loshchilov & Hutter, 2017): a half cosine from lr₀ to ``eta_min`` over T_i
    epochs, then a restart; T_0 first, each next cycle T_mult times longer.

    lr = η_min + (lr₀ − η_min) · (1 + cos(π·T_cur / T_i)) / 2. ``step(epoch)`` also takes
    a fractional epoch (``epoch + batch / batches``), as PyTorch's.
    """

    def __init__(self, optimizer: Optimizer, T_0: int, T_mult: int = 1,
                 eta_min: float = 0.0, last_epoch: int = -1) -> None:
        _check_positive_int(type(self).__name__, "T_0", T_0)
        _check_positive_int(type(self).__name__, "T_mult", T_mult)
        check_number("eta_min", eta_min)
        self.T_0, self.T_i, self.T_mult, self.eta_min = T_0, T_0, T_mult, eta_min
        self.T_cur = last_epoch
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list[float]:
        cosine = (1 + math.cos(math.pi * self.T_cur / self.T_i)) / 2
        return [self.eta_min + (base_lr - self.eta_min) * cosine for base_lr in self.base_lrs]

    def step(self, epoch: float | None = None) -> None:  # type: ignore[override]
        """The next epoch, or ``epoch`` (possibly fractional)."""
        if epoch is None and self.last_epoch < 0:
            epoch = 0
        if epoch is None:
            epoch = self.last_epoch + 1
            self.T_cur += 1
            if self.T_cur >= self.T_i:
                self.T_cur -= self.T_i
                self.T_i *= self.T_mult
        elif epoch < 0:
            raise ValueError(f"CosineAnnealingWarmRestarts: expected a non-negative epoch. "
                             f"Received: {epoch}")
        elif epoch >= self.T_0 and self.T_mult == 1:
            self.T_cur = epoch % self.T_0
        elif epoch >= self.T_0:
            n = int(math.log(epoch / self.T_0 * (self.T_mult - 1) + 1, self.T_mult))
            self.T_cur = epoch - self.T_0 * (self.T_mult**n - 1) / (self.T_mult - 1)
            self.T_i = self.T_0 * self.T_mult**n
        else:
            self.T_i, self.T_cur = self.T_0, epoch
        self.last_epoch = math.floor(epoch)
        lrs = self.get_lr()
        for group, lr in zip(self.optimizer.param_groups, lrs, strict=True):
            group["lr"] = lr
        self._last_lr = lrs


class OneCycleLR(LRScheduler):
    """The 1cycle policy (Smith & Topin, 2018), stepped once per batch: the rate rises
    from max_lr/div_factor to ``max_lr`` over the first ``pct_start`` of the steps, then
    falls to max_lr/(div_factor·final_div_factor) (cosine or linear), while the momentum
    (or Adam's β₁) moves the other way between ``max_momentum`` and ``base_momentum``.
    PyTorch's arguments and phases, ``three_phase`` included."""

    def __init__(self, optimizer: Optimizer, max_lr: Any, total_steps: int | None = None,
                 epochs: int | None = None, steps_per_epoch: int | None = None,
                 pct_start: float = 0.3, anneal_strategy: str = "cos",
                 cycle_momentum: bool = True, base_momentum: float = 0.85,
                 max_momentum: float = 0.95, div_factor: float = 25.0,
                 final_div_factor: float = 1e4, three_phase: bool = False,
                 last_epoch: int = -1) -> None:
        name = type(self).__name__
        if total_steps is None:
            if epochs is None or steps_per_epoch is None:
                raise ValueError(f"{name}: give total_steps, or epochs and steps_per_epoch")
            _check_positive_int(name, "epochs", epochs)
            _check_positive_int(name, "steps_per_epoch", steps_per_epoch)
            total_steps = epochs * steps_per_epoch
        _check_positive_int(name, "total_steps", total_steps)
        if not 0 <= pct_start <= 1 or anneal_strategy not in ("cos", "linear"):
            raise ValueError(f"{name}: pct_start must be in [0, 1] and anneal_strategy 'cos' "
                             f"or 'linear'. Received: {pct_start!r}, {anneal_strategy!r}")
        groups = optimizer.param_groups
        max_lrs = list(max_lr) if isinstance(max_lr, (list, tuple)) else [max_lr] * len(groups)
        if len(max_lrs) != len(groups):
            raise ValueError(f"{name}: expected {len(groups)} values of max_lr. Received: "
                             f"{len(max_lrs)}")
        self.total_steps, self.cycle_momentum = total_steps, cycle_momentum
        self.anneal = anneal_strategy
        self.use_beta1 = "betas" in optimizer.defaults
        if cycle_momentum and not self.use_beta1 and "momentum" not in optimizer.defaults:
            raise ValueError("optimizer must support momentum or beta1 with `cycle_momentum` "
                             "option enabled")
        up = float(pct_start * total_steps) - 1
        if three_phase:
            self.phases = [(up, "initial_lr", "max_lr", "max_momentum", "base_momentum"),
                           (2 * up, "max_lr", "initial_lr", "base_momentum", "max_momentum"),
                           (total_steps - 1, "initial_lr", "min_lr", "max_momentum",
                            "max_momentum")]
        else:
            self.phases = [(up, "initial_lr", "max_lr", "max_momentum", "base_momentum"),
                           (total_steps - 1, "max_lr", "min_lr", "base_momentum",
                            "max_momentum")]
        for group, top in zip(groups, max_lrs, strict=True):
            if last_epoch == -1:
                group["initial_lr"] = top / div_factor
                group["max_lr"], group["min_lr"] = top, group["initial_lr"] / final_div_factor
            if cycle_momentum and last_epoch == -1:
                group["max_momentum"], group["base_momentum"] = max_momentum, base_momentum
                self._set_momentum(group, max_momentum)
        super().__init__(optimizer, last_epoch)

    def _set_momentum(self, group: dict[str, Any], momentum: float) -> None:
        if self.use_beta1:
            group["betas"] = (momentum, *group["betas"][1:])
        else:
            group["momentum"] = momentum

    def _anneal(self, start: float, end: float, pct: float) -> float:
        if self.anneal == "cos":
            return end + (start - end) / 2.0 * (math.cos(math.pi * pct) + 1)
        return (end - start) * pct + start

    def get_lr(self) -> list[float]:
        step = self.last_epoch
        if step > self.total_steps:
            raise ValueError(f"Tried to step {step} times. The specified number of total "
                             f"steps is {self.total_steps}")
        lrs = []
        for group in self.optimizer.param_groups:
            start = 0.0
            for i, (end, lr_from, lr_to, m_from, m_to) in enumerate(self.phases):
                if step <= end or i == len(self.phases) - 1:
                    pct = (step - start) / (end - start)
                    lrs.append(self._anneal(group[lr_from], group[lr_to], pct))
                    if self.cycle_momentum:
                        self._set_momentum(group, self._anneal(group[m_from], group[m_to], pct))
                    break
                start = end
        return lrs


def _check_positive_int(name: str, label: str, value: Any) -> None:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value <= 0:
        raise ValueError(f"{name}: {label} must be a positive integer. Received: {value!r}")
