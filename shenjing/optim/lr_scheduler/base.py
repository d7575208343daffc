"""The base of every schedule: ``step()``, the learning rates it sets, saving and resuming."""

from __future__ import annotations

import copy
import numbers
from typing import Any

from shenjing.optim.optimizer import Optimizer

__all__ = ["LRScheduler"]


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


def check_positive_int(name: str, label: str, value: Any) -> None:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value <= 0:
        raise ValueError(f"{name}: {label} must be a positive integer. Received: {value!r}")
