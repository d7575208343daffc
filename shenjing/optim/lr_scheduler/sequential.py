"""``SequentialLR``: one schedule after another, switching at milestone epochs."""

from __future__ import annotations

import bisect
from collections.abc import Sequence
from typing import Any

from shenjing.optim.lr_scheduler.base import LRScheduler
from shenjing.optim.optimizer import Optimizer

__all__ = ["SequentialLR"]


class SequentialLR(LRScheduler):
    """Run ``schedulers[0]`` until ``milestones[0]``, then ``schedulers[1]`` from its own
    epoch 0, and so on (a warm-up followed by a decay, typically).

    As in PyTorch, making it restores every group's ``initial_lr`` and undoes the first
    step each scheduler took when it was made; then the first scheduler takes epoch 0.

    Example:
        >>> import shenjing as sj
        >>> from shenjing.optim import lr_scheduler as S
        >>> opt = sj.optim.SGD([sj.tensor([1.0], requires_grad=True)], lr=1.0)
        >>> warmup = S.LinearLR(opt, start_factor=0.25, total_iters=2)
        >>> decay = S.ExponentialLR(opt, gamma=0.5)
        >>> sched = S.SequentialLR(opt, [warmup, decay], milestones=[2])
        >>> lrs = []
        >>> for epoch in range(5):
        ...     lrs.append(sched.get_last_lr()[0])
        ...     opt.step()
        ...     sched.step()
        >>> lrs
        [0.25, 0.625, 1.0, 0.5, 0.25]
    """

    def __init__(self, optimizer: Optimizer, schedulers: Sequence[LRScheduler],
                 milestones: Sequence[int], last_epoch: int = -1) -> None:
        schedulers, milestones = list(schedulers), list(milestones)
        if not schedulers:
            raise ValueError("SequentialLR: expected at least one scheduler")
        for i, scheduler in enumerate(schedulers):
            if not isinstance(scheduler, LRScheduler) or scheduler.optimizer is not optimizer:
                raise ValueError(f"SequentialLR: schedulers[{i}] must be a scheduler of the "
                                 "optimizer passed to SequentialLR")
        if len(milestones) != len(schedulers) - 1:
            raise ValueError(f"SequentialLR: expected {len(schedulers) - 1} milestones for "
                             f"{len(schedulers)} schedulers. Received: {milestones}")
        self.optimizer = optimizer
        self._schedulers, self._milestones = schedulers, milestones
        self.last_epoch = last_epoch + 1
        for group in optimizer.param_groups:
            group["lr"] = group["initial_lr"]
        self.base_lrs = [group["initial_lr"] for group in optimizer.param_groups]
        for scheduler in schedulers:
            scheduler.last_epoch -= 1
        schedulers[0].step()
        self._last_lr = schedulers[0].get_last_lr()

    def step(self) -> None:
        """Move to the next epoch: the scheduler whose stretch it is steps, from its own
        epoch 0 on the milestone where it takes over."""
        self.last_epoch += 1
        index = bisect.bisect_right(self._milestones, self.last_epoch)
        scheduler = self._schedulers[index]
        if index > 0 and self._milestones[index - 1] == self.last_epoch:
            scheduler.last_epoch = -1  # its closed form restarts at epoch 0
        scheduler.step()
        self._last_lr = scheduler.get_last_lr()

    def state_dict(self) -> dict[str, Any]:
        """This scheduler's position and each inner scheduler's own state."""
        state = {key: value for key, value in self.__dict__.items()
                 if key not in ("optimizer", "_schedulers")}
        state["_schedulers"] = [s.state_dict() for s in self._schedulers]
        return state

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Restore a snapshot taken by ``state_dict()``, inner schedulers included."""
        state = dict(state_dict)
        inner = state.pop("_schedulers", None)
        if inner is None or len(inner) != len(self._schedulers):
            raise ValueError("SequentialLR.load_state_dict: expected the states of "
                             f"{len(self._schedulers)} schedulers")
        super().load_state_dict(state)
        for scheduler, saved in zip(self._schedulers, inner, strict=True):
            scheduler.load_state_dict(saved)
