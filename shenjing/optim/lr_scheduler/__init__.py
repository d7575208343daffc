"""Learning-rate schedules: change each parameter group's ``lr`` as training goes on.

As in PyTorch, a scheduler sets the learning rates for epoch 0 when it is made, and
``step()`` (once per epoch, after ``optimizer.step()``) moves to the next epoch.
Schedules are computed in closed form from each group's ``initial_lr``, so an ``lr``
changed by hand is replaced at the next ``step()`` (``MultiplicativeLR`` and
``ReduceLROnPlateau``, which scale the current rate, excepted).

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

from shenjing.optim.lr_scheduler.base import LRScheduler
from shenjing.optim.lr_scheduler.cosine import (
    CosineAnnealingLR,
    CosineAnnealingWarmRestarts,
    OneCycleLR,
)
from shenjing.optim.lr_scheduler.plateau import ReduceLROnPlateau
from shenjing.optim.lr_scheduler.sequential import SequentialLR
from shenjing.optim.lr_scheduler.simple import (
    ConstantLR,
    ExponentialLR,
    LambdaLR,
    LinearLR,
    MultiplicativeLR,
    MultiStepLR,
    PolynomialLR,
    StepLR,
)

__all__ = [
    "ConstantLR", "CosineAnnealingLR", "CosineAnnealingWarmRestarts", "ExponentialLR",
    "LRScheduler", "LambdaLR", "LinearLR", "MultiStepLR", "MultiplicativeLR", "OneCycleLR",
    "PolynomialLR", "ReduceLROnPlateau", "SequentialLR", "StepLR",
]
