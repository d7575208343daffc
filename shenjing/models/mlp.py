"""A fully connected network of any depth and width."""

from __future__ import annotations

from collections.abc import Sequence

import shenjing.nn as nn

ACTIVATIONS: dict[str, type[nn.Module]] = {
    "relu": nn.ReLU, "tanh": nn.Tanh, "sigmoid": nn.Sigmoid, "leaky_relu": nn.LeakyReLU,
    "elu": nn.ELU, "gelu": nn.GELU,
}
"""Activation names the zoo's builders accept, and the module each makes."""


def activation_module(name: str, builder: str) -> nn.Module:
    """A fresh activation module for ``name``; a clear error for an unknown one."""
    if name not in ACTIVATIONS:
        raise ValueError(
            f"{builder}: unknown activation {name!r}. Known: {', '.join(ACTIVATIONS)}"
        )
    return ACTIVATIONS[name]()


def mlp(
    in_features: int = 784,
    hidden: Sequence[int] = (256, 128),
    num_classes: int = 10,
    activation: str = "relu",
    dropout: float = 0.0,
) -> nn.Sequential:
    """Flatten → (Linear → activation → Dropout) per hidden width → Linear to the classes.

    Inputs of any shape (N, ...) are flattened to (N, in_features), so images work as is.
    The output is one logit per class, for ``cross_entropy``.

    Example:
        >>> import shenjing as sj
        >>> from shenjing.models import mlp
        >>> mlp(784, (32,), 10)(sj.zeros(2, 1, 28, 28)).shape
        (2, 10)
    """
    layers: list[nn.Module] = [nn.Flatten()]
    width = in_features
    for size in hidden:
        layers += [nn.Linear(width, size), activation_module(activation, "mlp")]
        if dropout:
            layers.append(nn.Dropout(dropout))
        width = size
    layers.append(nn.Linear(width, num_classes))
    return nn.Sequential(*layers)
