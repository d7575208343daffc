"""Fully connected layers (PyTorch's ``Linear``, Keras's ``Dense``), ``Identity`` and
``Flatten``."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import shenjing.nn.functional as F
from shenjing import creation
from shenjing.nn import init
from shenjing.nn.layers._factory import apply_factory_kwargs
from shenjing.nn.layers.activation import get_activation
from shenjing.nn.module import Module
from shenjing.nn.parameter import Parameter
from shenjing.tensor import Tensor

__all__ = ["Dense", "Flatten", "Identity", "Linear"]

INITIALIZERS: dict[str, Callable[[Tensor], Tensor]] = {
    "glorot_uniform": init.glorot_uniform_,
    "glorot_normal": init.glorot_normal_,
    "xavier_uniform": init.xavier_uniform_,
    "xavier_normal": init.xavier_normal_,
    "he_uniform": init.he_uniform_,
    "he_normal": init.he_normal_,
    "kaiming_uniform": init.kaiming_uniform_,
    "kaiming_normal": init.kaiming_normal_,
    "zeros": init.zeros_,
    "ones": init.ones_,
}
"""Initialiser names that ``Dense`` accepts, each filling a tensor in place."""


def _check_positive(layer: str, name: str, value: Any) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"{layer}: {name} must be a positive integer. Received: {value!r}")


def _check_features(layer: str, x: Tensor, in_features: int) -> None:
    if x.ndim == 0 or x.shape[-1] != in_features:
        raise ValueError(
            f"{layer} expects input with {in_features} features. Received: shape={x.shape}"
        )


class Linear(Module):
    """The fully connected layer y = x Wᵀ + b, over the last axis of x.

    W has PyTorch's layout (out_features, in_features). Initialisation is PyTorch's:
    W ~ kaiming_uniform_(a=√5), i.e. U(−1/√in, 1/√in), and b ~ U(−1/√in, 1/√in).

    Args:
        in_features: size of each input's last axis.
        out_features: size of each output's last axis.
        bias: whether to learn b.

    Example:
        >>> import shenjing as sj
        >>> import shenjing.nn as nn
        >>> nn.Linear(3, 2)(sj.ones(4, 3)).shape
        (4, 2)
    """

    def __init__(self, in_features: int, out_features: int, bias: bool = True,
                 device: Any = None, dtype: Any = None) -> None:
        super().__init__()
        _check_positive("Linear", "in_features", in_features)
        _check_positive("Linear", "out_features", out_features)
        self.in_features = in_features
        self.out_features = out_features
        self.weight = Parameter(creation.zeros(out_features, in_features))
        if bias:
            self.bias = Parameter(creation.zeros(out_features))
        else:
            self.register_parameter("bias", None)
        self.reset_parameters()
        apply_factory_kwargs(self, device, dtype)

    def reset_parameters(self) -> None:
        """Draw fresh weights with PyTorch's default initialisation."""
        init.kaiming_uniform_(self.weight, a=math.sqrt(5))
        if self.bias is not None:
            bound = 1 / math.sqrt(self.in_features)
            init.uniform_(self.bias, -bound, bound)

    def forward(self, x: Tensor) -> Tensor:
        _check_features("Linear", x, self.in_features)
        return F.linear(x, self.weight, self.bias)

    def extra_repr(self) -> str:
        return (
            f"in_features={self.in_features}, out_features={self.out_features}, "
            f"bias={self.bias is not None}"
        )


class Dense(Module):
    """Keras's fully connected layer: y = activation(x Wᵀ + b), with the input size
    inferred from the first input it sees.

    Once built, a Dense is a ``Linear(in_features, units)`` followed by its activation:
    same parameter names (``weight`` of shape (units, in_features), ``bias``), same
    state dict. Until its first call, or ``build(input_shape)``, it has **no parameters**:
    create an optimizer only after calling the model once or building it
    (``model.build((None, 784))``), or pass ``in_features`` to build it at once.

    Args:
        units: size of each output's last axis.
        activation: None or ``"linear"`` for none, a name from ``ACTIVATION_NAMES``
            (``"relu"``, ``"softmax"``, ...), or any callable (such as ``nn.PReLU()``).
        use_bias: whether to learn b.
        kernel_initializer: a name from ``INITIALIZERS`` or a function filling a tensor
            in place (default ``"glorot_uniform"``, as in Keras).
        bias_initializer: likewise for b (default ``"zeros"``).
        in_features: the input size, if known now.

    Example:
        >>> import shenjing as sj
        >>> import shenjing.nn as nn
        >>> layer = nn.Dense(4, activation="relu")
        >>> len(list(layer.parameters()))
        0
        >>> layer(sj.ones(2, 3)).shape, layer.weight.shape
        ((2, 4), (4, 3))
    """

    def __init__(
        self,
        units: int,
        activation: str | Callable[[Tensor], Tensor] | None = None,
        use_bias: bool = True,
        kernel_initializer: str | Callable[[Tensor], Any] = "glorot_uniform",
        bias_initializer: str | Callable[[Tensor], Any] = "zeros",
        in_features: int | None = None,
    ) -> None:
        super().__init__()
        _check_positive("Dense", "units", units)
        self.units = units
        self.use_bias = use_bias
        self.in_features: int | None = None
        self.activation_name = activation if isinstance(activation, str) else None
        # A module activation (PReLU) becomes a child, so its parameters are learned.
        self.activation = get_activation(activation, "Dense")
        self.kernel_initializer = _initializer(kernel_initializer)
        self.bias_initializer = _initializer(bias_initializer)
        self.register_parameter("weight", None)
        self.register_parameter("bias", None)
        if in_features is not None:
            self.build((None, in_features))

    @property
    def built(self) -> bool:
        """Whether the weights exist yet."""
        return self.in_features is not None

    def build(self, input_shape: tuple[int | None, ...], dtype: Any = None) -> Dense:
        """Create ``weight`` (units, input_shape[-1]) and ``bias`` (units,) in ``dtype``
        (float32 by default); a no-op once built with the same input size."""
        in_features = input_shape[-1] if len(input_shape) else None
        if self.built:
            if in_features != self.in_features:
                raise ValueError(
                    f"Dense expects input with {self.in_features} features. Received: "
                    f"input_shape={tuple(input_shape)}"
                )
            return self
        _check_positive("Dense", "the input's last dimension", in_features)
        self.in_features = in_features
        self.weight = Parameter(creation.zeros(self.units, in_features, dtype=dtype))
        self.kernel_initializer(self.weight)
        if self.use_bias:
            self.bias = Parameter(creation.zeros(self.units, dtype=dtype))
            self.bias_initializer(self.bias)
        return self

    def forward(self, x: Tensor) -> Tensor:
        if self.in_features is None:
            self.build(x.shape)
            self.to(x.device)  # the weights are made where the first input lives
        _check_features("Dense", x, self.in_features)
        y = F.linear(x, self.weight, self.bias)
        return y if self.activation is None else self.activation(y)

    def extra_repr(self) -> str:
        fields = [f"units={self.units}"]
        if self.built:
            fields.insert(0, f"in_features={self.in_features}")
        if self.activation_name not in (None, "linear"):
            fields.append(f"activation={self.activation_name}")
        if not self.use_bias:
            fields.append("use_bias=False")
        return ", ".join(fields)


def _initializer(identifier: str | Callable[[Tensor], Any]) -> Callable[[Tensor], Any]:
    if callable(identifier):
        return identifier
    if identifier in INITIALIZERS:
        return INITIALIZERS[identifier]
    raise ValueError(
        f"Dense: unknown initializer {identifier!r}. Known: {', '.join(INITIALIZERS)}"
    )


class Identity(Module):
    """Returns its input unchanged (extra arguments are ignored): a placeholder layer."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__()

    def forward(self, x: Tensor) -> Tensor:
        return x


class Flatten(Module):
    """Merges dims ``start_dim`` to ``end_dim`` into one; by default (N, C, H, W) →
    (N, C·H·W), keeping the batch dim (PyTorch's defaults)."""

    def __init__(self, start_dim: int = 1, end_dim: int = -1) -> None:
        super().__init__()
        self.start_dim = start_dim
        self.end_dim = end_dim

    def forward(self, x: Tensor) -> Tensor:
        return x.flatten(self.start_dim, self.end_dim)

    def extra_repr(self) -> str:
        return f"start_dim={self.start_dim}, end_dim={self.end_dim}"
