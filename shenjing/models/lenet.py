"""LeNet-5 (LeCun et al., 1998), in its original and its modern form."""

from __future__ import annotations

import shenjing.nn as nn
from shenjing.models.mlp import activation_module


def lenet5(
    num_classes: int = 10,
    in_channels: int = 1,
    activation: str = "relu",
    pooling: str | None = None,
    input_size: int = 28,
) -> nn.Sequential:
    """LeNet-5: conv 6@5x5 (padding 2) → pool 2 → conv 16@5x5 → pool 2 → 120 → 84 → classes.

    ``lenet5()`` is the modern form (ReLU, max pooling); ``lenet5(activation="tanh")``
    (or "sigmoid") is the 1998 form, with average pooling. ``pooling`` ("max" or "avg")
    overrides the choice. For a 28x28 input the feature maps are 6@28x28 → 6@14x14 →
    16@10x10 → 16@5x5 → 400 features.

    Example:
        >>> import shenjing as sj
        >>> from shenjing.models import lenet5
        >>> lenet5()(sj.zeros(2, 1, 28, 28)).shape
        (2, 10)
    """
    if pooling is None:
        pooling = "max" if activation == "relu" else "avg"
    pools = {"max": nn.MaxPool2d, "avg": nn.AvgPool2d}
    if pooling not in pools:
        raise ValueError(f"lenet5: pooling must be 'max' or 'avg'. Received: {pooling!r}")
    side = ((input_size + 4 - 4) // 2 - 4) // 2
    if side < 1:
        raise ValueError(f"lenet5: input_size {input_size} is too small (needs >= 12)")

    def act() -> nn.Module:
        return activation_module(activation, "lenet5")

    return nn.Sequential(
        nn.Conv2d(in_channels, 6, kernel_size=5, padding=2), act(), pools[pooling](2),
        nn.Conv2d(6, 16, kernel_size=5), act(), pools[pooling](2),
        nn.Flatten(),
        nn.Linear(16 * side * side, 120), act(),
        nn.Linear(120, 84), act(),
        nn.Linear(84, num_classes),
    )
