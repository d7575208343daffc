"""Optimizers (one file per family) and learning-rate schedules.

Every optimizer follows PyTorch's update rule, argument names and defaults, and updates
parameters in place. ``lr_scheduler`` holds the schedules.

Example:
    >>> import shenjing as sj
    >>> w = sj.tensor([1.0, 2.0], requires_grad=True)
    >>> opt = sj.optim.Adam([w], lr=1e-3)
    >>> w.grad = sj.tensor([0.5, -0.5])
    >>> opt.step(); opt.zero_grad()
    >>> w.grad is None
    True
"""

from shenjing.optim import fused, lr_scheduler
from shenjing.optim.adadelta import Adadelta
from shenjing.optim.adagrad import Adagrad
from shenjing.optim.adam import Adam, AdamW
from shenjing.optim.adamax import Adamax
from shenjing.optim.nadam import NAdam
from shenjing.optim.optimizer import Optimizer
from shenjing.optim.radam import RAdam
from shenjing.optim.rmsprop import RMSprop, RMSpropNesterov
from shenjing.optim.sgd import SGD

# The updates that are elementwise, so shenjing.optim.fused may run a group as one buffer.
fused.register_elementwise(SGD, Adam, Adamax, Adagrad, Adadelta, RMSprop, RMSpropNesterov, NAdam,
                           RAdam)

__all__ = [
    "SGD", "Adadelta", "Adagrad", "Adam", "AdamW", "Adamax", "NAdam", "Optimizer", "RAdam",
    "RMSprop", "RMSpropNesterov", "lr_scheduler",
]
