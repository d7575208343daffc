"""Activation functions as modules, and the names that ``Dense(activation=...)`` accepts."""

from __future__ import annotations

import warnings
from collections.abc import Callable
from typing import Any

import shenjing.nn.functional as F
from shenjing import creation
from shenjing.autograd import is_grad_enabled
from shenjing.nn.layers._factory import apply_factory_kwargs
from shenjing.nn.module import Module
from shenjing.nn.parameter import Parameter
from shenjing.tensor import Tensor

__all__ = [
    "ELU", "GELU", "LeakyReLU", "LogSoftmax", "PReLU", "ReLU", "Sigmoid", "Softmax",
    "Softplus", "Step", "Tanh",
]

ACTIVATION_NAMES = (
    "elu", "gelu", "leaky_relu", "log_softmax", "relu", "sigmoid", "softmax", "softplus",
    "step", "tanh",
)
"""Names of ``shenjing.nn.functional`` activations that a string may select, besides
``"linear"`` (no activation)."""


def get_activation(
    identifier: str | Callable[[Tensor], Tensor] | None, layer: str = "Dense"
) -> Callable[[Tensor], Tensor] | None:
    """The function an activation argument names: None (or ``"linear"``) for none, a
    callable (function or module) as given, or a name from ``ACTIVATION_NAMES``.

    Raises:
        ValueError: for an unknown name, listing the known ones.
    """
    if identifier is None or identifier == "linear":
        return None
    if callable(identifier):
        return identifier
    if identifier == "step":  # the module, which warns that no gradient flows through it
        return Step()
    if isinstance(identifier, str) and identifier in ACTIVATION_NAMES:
        return getattr(F, identifier)
    known = ", ".join(("linear", *ACTIVATION_NAMES))
    raise ValueError(f"{layer}: unknown activation {identifier!r}. Known: {known}")


class ReLU(Module):
    """ReLU(x) = max(x, 0)."""

    def __init__(self, inplace: bool = False) -> None:
        super().__init__()
        self.inplace = inplace

    def forward(self, x: Tensor) -> Tensor:
        return F.relu(x, self.inplace)


class Sigmoid(Module):
    """σ(x) = 1 / (1 + exp(−x))."""

    def forward(self, x: Tensor) -> Tensor:
        return F.sigmoid(x)


class Tanh(Module):
    """tanh(x)."""

    def forward(self, x: Tensor) -> Tensor:
        return F.tanh(x)


class Step(Module):
    """The perceptron's Heaviside step: 1 for x > 0, else 0 (no gradient flows).

    Its derivative is zero wherever it exists, so a gradient optimizer cannot train
    anything before it: the first training-mode forward pass whose input needs a
    gradient warns once (``UserWarning``). Train a step unit with ``nn.Perceptron``'s
    perceptron rule, or use a sigmoid when gradients must flow.
    """

    _warned_zero_gradient = False

    def forward(self, x: Tensor) -> Tensor:
        if (self.training and x.requires_grad and is_grad_enabled()
                and not self._warned_zero_gradient):
            self._warned_zero_gradient = True
            warnings.warn(
                "Step: the gradient of the step function is zero everywhere (and undefined "
                "at 0), so a gradient optimizer cannot train the layers before it. Use "
                "nn.Perceptron's learning rule, or a sigmoid in place of the step.",
                UserWarning,
                stacklevel=2,
            )
        return F.step(x)


class LeakyReLU(Module):
    """LeakyReLU(x) = x for x > 0, negative_slope·x otherwise."""

    def __init__(self, negative_slope: float = 0.01, inplace: bool = False) -> None:
        super().__init__()
        self.negative_slope, self.inplace = negative_slope, inplace

    def forward(self, x: Tensor) -> Tensor:
        return F.leaky_relu(x, self.negative_slope, self.inplace)

    def extra_repr(self) -> str:
        return f"negative_slope={self.negative_slope}"


class PReLU(Module):
    """PReLU(x) = x for x > 0, a·x otherwise, with the slope a learned.

    Args:
        num_parameters: 1 (one slope shared by every channel) or the number of channels
            (axis 1 of the input).
        init: the slopes' starting value.

    The slopes are the parameter ``weight`` of shape (num_parameters,), as in PyTorch.
    """

    def __init__(self, num_parameters: int = 1, init: float = 0.25,
                 device: Any = None, dtype: Any = None) -> None:
        super().__init__()
        if not isinstance(num_parameters, int) or num_parameters < 1:
            raise ValueError(
                f"PReLU: num_parameters must be a positive integer. Received: {num_parameters!r}"
            )
        self.num_parameters = num_parameters
        self.weight = Parameter(creation.full((num_parameters,), init))
        apply_factory_kwargs(self, device, dtype)

    def forward(self, x: Tensor) -> Tensor:
        return F.prelu(x, self.weight)

    def extra_repr(self) -> str:
        return f"num_parameters={self.num_parameters}"


class ELU(Module):
    """ELU(x) = x for x > 0, α·(exp(x) − 1) otherwise."""

    def __init__(self, alpha: float = 1.0, inplace: bool = False) -> None:
        super().__init__()
        self.alpha, self.inplace = alpha, inplace

    def forward(self, x: Tensor) -> Tensor:
        return F.elu(x, self.alpha, self.inplace)

    def extra_repr(self) -> str:
        return f"alpha={self.alpha}"


class GELU(Module):
    """GELU(x) = x·Φ(x); ``approximate="tanh"`` uses the tanh approximation."""

    def __init__(self, approximate: str = "none") -> None:
        super().__init__()
        if approximate not in ("none", "tanh"):
            raise ValueError(
                f"GELU: approximate must be 'none' or 'tanh'. Received: {approximate!r}"
            )
        self.approximate = approximate

    def forward(self, x: Tensor) -> Tensor:
        return F.gelu(x, approximate=self.approximate)

    def extra_repr(self) -> str:
        return f"approximate={self.approximate!r}"


class Softplus(Module):
    """Softplus(x) = log(1 + exp(β·x)) / β, taken as x where β·x > threshold."""

    def __init__(self, beta: float = 1.0, threshold: float = 20.0) -> None:
        super().__init__()
        self.beta = beta
        self.threshold = threshold

    def forward(self, x: Tensor) -> Tensor:
        return F.softplus(x, self.beta, self.threshold)

    def extra_repr(self) -> str:
        return f"beta={self.beta}, threshold={self.threshold}"


class Softmax(Module):
    """softmax(x)ᵢ = exp(xᵢ) / Σⱼ exp(xⱼ) along ``dim`` (``axis=`` is an alias)."""

    def __init__(self, dim: int = -1, *, axis: int | None = None) -> None:
        super().__init__()
        self.dim = dim if axis is None else axis

    def forward(self, x: Tensor) -> Tensor:
        return F.softmax(x, self.dim)

    def extra_repr(self) -> str:
        return f"dim={self.dim}"


class LogSoftmax(Module):
    """log(softmax(x)) along ``dim`` (``axis=`` is an alias), computed stably."""

    def __init__(self, dim: int = -1, *, axis: int | None = None) -> None:
        super().__init__()
        self.dim = dim if axis is None else axis

    def forward(self, x: Tensor) -> Tensor:
        return F.log_softmax(x, self.dim)

    def extra_repr(self) -> str:
        return f"dim={self.dim}"

