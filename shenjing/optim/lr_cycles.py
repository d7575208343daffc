"""More of PyTorch's schedules: by a user's function (``LambdaLR``, ``MultiplicativeLR``),
one cycle per run (``OneCycleLR``) and cosine annealing with warm restarts
(``CosineAnnealingWarmRestarts``). Re-exported by ``shenjing.optim.lr_scheduler``."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

from shenjing.optim.lr_base import LRScheduler
from shenjing.optim.optimizer import Optimizer, check_number

__all__ = ["CosineAnnealingWarmRestarts", "LambdaLR", "MultiplicativeLR", "OneCycleLR"]


def _per_group(name: str, optimizer: Optimizer, value: Any, label: str) -> list[Any]:
    """``value`` once per parameter group (a list must have one entry per group)."""
    groups = len(optimizer.param_groups)
    if isinstance(value, (list, tuple)):
        if len(value) != groups:
            raise ValueError(f"Expected {groups} {label}, but got {len(value)}")
        return list(value)
    return [value] * groups


class _FunctionSchedule(LRScheduler):
    """A schedule given by one function of the epoch per group; the functions are not
    saved by ``state_dict`` (as in PyTorch, a plain function is code, not state)."""

    def __init__(self, optimizer: Optimizer, lr_lambda: Any, last_epoch: int) -> None:
        self.lr_lambdas: list[Callable[[int], float]] = _per_group(
            type(self).__name__, optimizer, lr_lambda, "lr_lambdas")
        super().__init__(optimizer, last_epoch)

    def state_dict(self) -> dict[str, Any]:
        return {**super().state_dict(), "lr_lambdas": [None] * len(self.lr_lambdas)}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        lambdas = self.lr_lambdas
        super().load_state_dict({k: v for k, v in state_dict.items() if k != "lr_lambdas"})
        self.lr_lambdas = lambdas


class LambdaLR(_FunctionSchedule):
    """lr(t) = lr₀ · λ(t), with ``lr_lambda`` one function or one per parameter group.

    Example:
        >>> import shenjing as sj
        >>> opt = sj.optim.SGD([sj.tensor([1.0], requires_grad=True)], lr=0.1)
        >>> sched = sj.optim.lr_scheduler.LambdaLR(opt, lambda epoch: 0.5 ** epoch)
        >>> sched.step(); round(sched.get_last_lr()[0], 6)
        0.05
    """

    def __init__(self, optimizer: Optimizer, lr_lambda: Any, last_epoch: int = -1) -> None:
        super().__init__(optimizer, lr_lambda, last_epoch)

    def get_lr(self) -> list[float]:
        return [base * f(self.last_epoch) for base, f in zip(self.base_lrs, self.lr_lambdas,
                                                              strict=True)]


class MultiplicativeLR(_FunctionSchedule):
    """lr(t) = lr(t − 1) · λ(t) for t > 0: each epoch multiplies the current rate."""

    def __init__(self, optimizer: Optimizer, lr_lambda: Any, last_epoch: int = -1) -> None:
        super().__init__(optimizer, lr_lambda, last_epoch)

    def get_lr(self) -> list[float]:
        groups = self.optimizer.param_groups
        if self.last_epoch <= 0:
            return [group["lr"] for group in groups]
        return [group["lr"] * f(self.last_epoch) for group, f in zip(groups, self.lr_lambdas,
                                                                       strict=True)]


class OneCycleLR(LRScheduler):
    """The 1cycle policy (Smith & Topin, 2018), stepped once per batch: the rate rises from
    max_lr/div_factor to max_lr over ``pct_start`` of ``total_steps``, then falls to
    max_lr/(div_factor·final_div_factor); momentum (SGD's ``momentum`` or Adam's β₁)
    moves the opposite way between ``max_momentum`` and ``base_momentum``.

    Each phase anneals from a to b over its steps, with p the fraction done:
    cos: b + (a − b)(1 + cos πp)/2;  linear: a + (b − a)p. ``three_phase`` goes up, back
    down to the start, then to the minimum (momentum down, up, flat), as in fastai.

    Example:
        >>> import shenjing as sj
        >>> opt = sj.optim.SGD([sj.tensor([1.0], requires_grad=True)], lr=0.1, momentum=0.9)
        >>> sched = sj.optim.lr_scheduler.OneCycleLR(opt, max_lr=1.0, total_steps=10)
        >>> round(sched.get_last_lr()[0], 6), opt.param_groups[0]["momentum"]
        (0.04, 0.95)
    """

    def __init__(
        self,
        optimizer: Optimizer,
        max_lr: float | list[float],
        total_steps: int | None = None,
        epochs: int | None = None,
        steps_per_epoch: int | None = None,
        pct_start: float = 0.3,
        anneal_strategy: str = "cos",
        cycle_momentum: bool = True,
        base_momentum: float | list[float] = 0.85,
        max_momentum: float | list[float] = 0.95,
        div_factor: float = 25.0,
        final_div_factor: float = 1e4,
        three_phase: bool = False,
        last_epoch: int = -1,
    ) -> None:
        if total_steps is not None:
            if not isinstance(total_steps, int) or total_steps <= 0:
                raise ValueError(f"Expected positive integer total_steps, but got {total_steps}")
            self.total_steps = total_steps
        elif epochs is not None and steps_per_epoch is not None:
            for label, value in (("epochs", epochs), ("steps_per_epoch", steps_per_epoch)):
                if not isinstance(value, int) or value <= 0:
                    raise ValueError(f"Expected positive integer {label}, but got {value}")
            self.total_steps = epochs * steps_per_epoch
        else:
            raise ValueError("You must define either total_steps OR (epochs AND steps_per_epoch)")
        check_number("pct_start", pct_start)
        if not 0 <= pct_start <= 1:
            raise ValueError(f"Expected float between 0 and 1 pct_start, but got {pct_start}")
        if anneal_strategy not in ("cos", "linear"):
            raise ValueError(f"anneal_strategy must be one of 'cos' or 'linear', instead got "
                             f"{anneal_strategy}")
        self.anneal_strategy = anneal_strategy
        # (last step of the phase, the group keys it anneals lr and momentum between)
        end = float(pct_start * self.total_steps) - 1
        if three_phase:
            self.phases = [
                (end, "initial_lr", "max_lr", "max_momentum", "base_momentum"),
                (float(2 * pct_start * self.total_steps) - 2, "max_lr", "initial_lr",
                 "base_momentum", "max_momentum"),
                (self.total_steps - 1, "initial_lr", "min_lr", "max_momentum", "max_momentum"),
            ]
        else:
            self.phases = [
                (end, "initial_lr", "max_lr", "max_momentum", "base_momentum"),
                (self.total_steps - 1, "max_lr", "min_lr", "base_momentum", "max_momentum"),
            ]
        groups = optimizer.param_groups
        if last_epoch == -1:
            for group, top in zip(groups, _per_group("OneCycleLR", optimizer, max_lr, "max_lr"),
                                  strict=True):
                group["initial_lr"] = top / div_factor
                group["max_lr"] = top
                group["min_lr"] = group["initial_lr"] / final_div_factor
        self.cycle_momentum = cycle_momentum
        if cycle_momentum:
            if "momentum" not in optimizer.defaults and "betas" not in optimizer.defaults:
                raise ValueError("optimizer must support momentum or beta1 with "
                                 "`cycle_momentum` option enabled")
            self.use_beta1 = "betas" in optimizer.defaults
            bases = _per_group("OneCycleLR", optimizer, base_momentum, "base_momentum")
            tops = _per_group("OneCycleLR", optimizer, max_momentum, "max_momentum")
            if last_epoch == -1:
                for group, low, high in zip(groups, bases, tops, strict=True):
                    self._set_momentum(group, high)
                    group["max_momentum"], group["base_momentum"] = high, low
        super().__init__(optimizer, last_epoch)

    def _set_momentum(self, group: dict[str, Any], value: float) -> None:
        if self.use_beta1:
            group["betas"] = (value, *group["betas"][1:])
        else:
            group["momentum"] = value

    def _anneal(self, start: float, end: float, pct: float) -> float:
        if self.anneal_strategy == "cos":
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
            for i, (end, lr_a, lr_b, m_a, m_b) in enumerate(self.phases):
                if step <= end or i == len(self.phases) - 1:
                    pct = (step - start) / (end - start)
                    lrs.append(self._anneal(group[lr_a], group[lr_b], pct))
                    if self.cycle_momentum:
                        self._set_momentum(group, self._anneal(group[m_a], group[m_b], pct))
                    break
                start = end
        return lrs


class CosineAnnealingWarmRestarts(LRScheduler):
    """SGDR (Loshchilov & Hutter, 2017): cosine annealing that restarts every T_i epochs,
    T_0 first, then each period T_mult times the last:

        lr = η_min + (lr₀ − η_min)(1 + cos(π T_cur / T_i)) / 2

    ``step(epoch)`` accepts a fractional epoch (step within an epoch: ``epoch + i/iters``).

    Example:
        >>> import shenjing as sj
        >>> opt = sj.optim.SGD([sj.tensor([1.0], requires_grad=True)], lr=1.0)
        >>> sched = sj.optim.lr_scheduler.CosineAnnealingWarmRestarts(opt, T_0=2)
        >>> sched.step(); sched.step(); sched.get_last_lr()
        [1.0]
    """

    def __init__(self, optimizer: Optimizer, T_0: int, T_mult: int = 1,  # noqa: N803
                 eta_min: float = 0.0, last_epoch: int = -1) -> None:
        if isinstance(T_0, bool) or not isinstance(T_0, int) or T_0 <= 0:
            raise ValueError(f"Expected positive integer T_0, but got {T_0}")
        if isinstance(T_mult, bool) or not isinstance(T_mult, int) or T_mult < 1:
            raise ValueError(f"Expected integer T_mult >= 1, but got {T_mult}")
        if isinstance(eta_min, bool) or not isinstance(eta_min, (int, float)):
            raise ValueError(f"Expected float or int eta_min, but got {eta_min} of type "
                             f"{type(eta_min).__name__}")
        self.T_0, self.T_i, self.T_mult, self.eta_min = T_0, T_0, T_mult, eta_min
        self.T_cur = last_epoch
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list[float]:
        share = (1 + math.cos(math.pi * self.T_cur / self.T_i)) / 2
        return [self.eta_min + (base - self.eta_min) * share for base in self.base_lrs]

    def step(self, epoch: float | None = None) -> None:  # type: ignore[override]
        """Move to the next epoch, or to ``epoch`` (which may be fractional)."""
        if epoch is None and self.last_epoch < 0:
            epoch = 0
        if epoch is None:
            epoch = self.last_epoch + 1
            self.T_cur += 1
            if self.T_cur >= self.T_i:
                self.T_cur -= self.T_i
                self.T_i *= self.T_mult
        else:
            if epoch < 0:
                raise ValueError(f"Expected non-negative epoch, but got {epoch}")
            if epoch >= self.T_0:
                if self.T_mult == 1:
                    self.T_cur = epoch % self.T_0
                else:  # which period epoch falls in: T_0(T_mult^n − 1)/(T_mult − 1) ≤ epoch
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
