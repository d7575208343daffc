"""Weight initialisation, in place, with PyTorch's names and formulas.

Every function fills ``tensor.array`` in place (keeping its dtype), draws from the one
seeded generator (``shenjing.backend.generator()``), and returns the tensor.

Fans follow PyTorch's ``_calculate_fan_in_and_fan_out``: for a weight of shape
(out, in, *kernel), ``fan_in = in · ∏kernel`` and ``fan_out = out · ∏kernel``; so a
Linear weight (out, in) has fan_in = in, and a Conv2d weight (out, in, kh, kw) has
fan_in = in·kh·kw.

Example:
    >>> import shenjing as sj
    >>> import shenjing.nn as nn
    >>> w = sj.zeros(256, 128)
    >>> _ = nn.init.kaiming_uniform_(w, nonlinearity="relu")
    >>> bool(abs(w.numpy()).max() <= (6 / 128) ** 0.5)
    True
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from shenjing import backend
from shenjing.ops.explog import erfinv
from shenjing.tensor import Tensor

__all__ = [
    "calculate_gain", "constant_", "glorot_normal_", "glorot_uniform_", "he_normal_",
    "he_uniform_", "kaiming_normal_", "kaiming_uniform_", "normal_", "ones_", "orthogonal_",
    "trunc_normal_", "uniform_", "xavier_normal_", "xavier_uniform_", "zeros_",
]

_LINEAR_GAIN = (
    "linear", "identity", "conv1d", "conv2d", "conv3d", "conv_transpose1d",
    "conv_transpose2d", "conv_transpose3d", "sigmoid",
)


def calculate_gain(nonlinearity: str, param: float | None = None) -> float:
    """The gain that keeps activations' variance steady through ``nonlinearity``.

    linear / conv / sigmoid: 1;  tanh: 5/3;  relu: √2;  selu: 3/4;
    leaky_relu: √(2 / (1 + slope²)), with slope = ``param`` (default 0.01).
    """
    if nonlinearity in _LINEAR_GAIN:
        return 1.0
    if nonlinearity == "tanh":
        return 5.0 / 3
    if nonlinearity == "relu":
        return math.sqrt(2.0)
    if nonlinearity == "selu":
        return 3.0 / 4
    if nonlinearity == "leaky_relu":
        if param is None:
            slope = 0.01
        elif isinstance(param, (int, float)) and not isinstance(param, bool):
            slope = float(param)
        else:
            raise ValueError(f"calculate_gain: negative slope {param!r} is not a number")
        return math.sqrt(2.0 / (1 + slope**2))
    known = ", ".join([*_LINEAR_GAIN, "tanh", "relu", "leaky_relu", "selu"])
    raise ValueError(
        f"calculate_gain: unsupported nonlinearity {nonlinearity!r}. Known: {known}"
    )


def _calculate_fan_in_and_fan_out(tensor: Tensor) -> tuple[int, int]:
    """(fan_in, fan_out) of a weight of shape (out, in, *receptive_field)."""
    if tensor.ndim < 2:
        raise ValueError(
            f"Fan in and fan out need a tensor with at least 2 dimensions. Received: "
            f"shape={tensor.shape}"
        )
    receptive_field = math.prod(tensor.shape[2:])
    return tensor.shape[1] * receptive_field, tensor.shape[0] * receptive_field


def _fan(tensor: Tensor, mode: str) -> int:
    if mode not in ("fan_in", "fan_out"):
        raise ValueError(f"mode must be 'fan_in' or 'fan_out'. Received: {mode!r}")
    fan_in, fan_out = _calculate_fan_in_and_fan_out(tensor)
    return fan_in if mode == "fan_in" else fan_out


def _fill(tensor: Tensor, values: Any) -> Tensor:
    """Write ``values`` into ``tensor``'s array in place, cast to its dtype."""
    xp = backend.get_array_module(tensor.array)
    tensor.array[...] = xp.asarray(values, dtype=tensor.array.dtype)
    return tensor


def _check(name: str, tensor: Any) -> None:
    if not isinstance(tensor, Tensor):
        raise TypeError(f"{name} expects a Tensor. Received: {type(tensor).__name__}")


def uniform_(tensor: Tensor, a: float = 0.0, b: float = 1.0) -> Tensor:
    """Fill with samples of U(a, b)."""
    _check("uniform_", tensor)
    if not a <= b:
        raise ValueError(f"uniform_: need a <= b. Received: a={a}, b={b}")
    return _fill(tensor, backend.generator().uniform(a, b, size=tensor.shape))


def normal_(tensor: Tensor, mean: float = 0.0, std: float = 1.0) -> Tensor:
    """Fill with samples of N(mean, std²)."""
    _check("normal_", tensor)
    if std < 0:
        raise ValueError(f"normal_: std must be non-negative. Received: std={std}")
    return _fill(tensor, backend.generator().normal(mean, std, size=tensor.shape))


def trunc_normal_(tensor: Tensor, mean: float = 0.0, std: float = 1.0, a: float = -2.0,
                  b: float = 2.0) -> Tensor:
    """Fill with N(mean, std²) truncated to [a, b] (bounds in the values' units, as PyTorch).

    Inverse-CDF sampling: u ~ U(Φ(α), Φ(β)) with α = (a - mean)/std, β = (b - mean)/std,
    then x = mean + std·√2·erfinv(2u - 1), so no draw is rejected or clamped away.
    """
    _check("trunc_normal_", tensor)
    if not std > 0 or not a < b:
        raise ValueError(f"trunc_normal_: need std > 0 and a < b. Received: std={std}, "
                         f"a={a}, b={b}")

    def cdf(z: float) -> float:
        return 0.5 * (1.0 + math.erf(z / math.sqrt(2.0)))

    low, high = 2.0 * cdf((a - mean) / std) - 1.0, 2.0 * cdf((b - mean) / std) - 1.0
    u = backend.generator().uniform(low, high, size=tensor.shape)
    values = erfinv(Tensor._make(u, None)).array * (std * math.sqrt(2.0)) + mean
    return _fill(tensor, np.clip(values, a, b))  # clip: rounding at the ends only


def orthogonal_(tensor: Tensor, gain: float = 1.0) -> Tensor:
    """Fill with a (semi-)orthogonal matrix times ``gain`` (Saxe et al., 2013).

    The tensor is read as (rows, numel/rows); a Gaussian matrix of that shape (or its
    transpose, when wider than tall) is QR-factorised, and Q's columns are signed by
    diag(R) so the result is uniform over orthogonal matrices.
    """
    _check("orthogonal_", tensor)
    if tensor.ndim < 2:
        raise ValueError(f"orthogonal_: only tensors with 2 or more dimensions are "
                         f"supported. Received: shape={tensor.shape}")
    if tensor.numel() == 0:
        return tensor
    rows = tensor.shape[0]
    cols = tensor.numel() // rows
    flat = backend.generator().normal(0.0, 1.0, size=(rows, cols))
    if rows < cols:
        flat = flat.T
    q, r = np.linalg.qr(flat)
    q = q * np.sign(np.diag(r))
    if rows < cols:
        q = q.T
    return _fill(tensor, (gain * q).reshape(tensor.shape))


def constant_(tensor: Tensor, val: float) -> Tensor:
    """Fill with ``val``."""
    _check("constant_", tensor)
    tensor.array[...] = val
    return tensor


def zeros_(tensor: Tensor) -> Tensor:
    """Fill with 0."""
    return constant_(tensor, 0)


def ones_(tensor: Tensor) -> Tensor:
    """Fill with 1."""
    return constant_(tensor, 1)


def xavier_uniform_(tensor: Tensor, gain: float = 1.0) -> Tensor:
    """Glorot & Bengio (2010): U(−a, a) with a = gain · √(6 / (fan_in + fan_out))."""
    _check("xavier_uniform_", tensor)
    fan_in, fan_out = _calculate_fan_in_and_fan_out(tensor)
    if tensor.numel() == 0:
        return tensor
    bound = gain * math.sqrt(6.0 / (fan_in + fan_out))
    return _fill(tensor, backend.generator().uniform(-bound, bound, size=tensor.shape))


def xavier_normal_(tensor: Tensor, gain: float = 1.0) -> Tensor:
    """Glorot & Bengio (2010): N(0, std²) with std = gain · √(2 / (fan_in + fan_out))."""
    _check("xavier_normal_", tensor)
    fan_in, fan_out = _calculate_fan_in_and_fan_out(tensor)
    if tensor.numel() == 0:
        return tensor
    std = gain * math.sqrt(2.0 / (fan_in + fan_out))
    return _fill(tensor, backend.generator().normal(0.0, std, size=tensor.shape))


def kaiming_uniform_(
    tensor: Tensor, a: float = 0.0, mode: str = "fan_in", nonlinearity: str = "leaky_relu"
) -> Tensor:
    """He et al. (2015): U(−b, b) with b = gain · √(3 / fan), gain = calculate_gain(
    nonlinearity, a) and fan = fan_in or fan_out (``mode``).

    With the defaults (a = 0) the gain is √2, so b = √(6 / fan_in).
    """
    _check("kaiming_uniform_", tensor)
    fan = _fan(tensor, mode)
    if tensor.numel() == 0:
        return tensor
    bound = calculate_gain(nonlinearity, a) * math.sqrt(3.0 / fan)
    return _fill(tensor, backend.generator().uniform(-bound, bound, size=tensor.shape))


def kaiming_normal_(
    tensor: Tensor, a: float = 0.0, mode: str = "fan_in", nonlinearity: str = "leaky_relu"
) -> Tensor:
    """He et al. (2015): N(0, std²) with std = gain / √fan (see ``kaiming_uniform_``)."""
    _check("kaiming_normal_", tensor)
    fan = _fan(tensor, mode)
    if tensor.numel() == 0:
        return tensor
    std = calculate_gain(nonlinearity, a) / math.sqrt(fan)
    return _fill(tensor, backend.generator().normal(0.0, std, size=tensor.shape))


# Keras's names for the same draws (with the defaults, kaiming's gain is √2, as for ReLU).
glorot_uniform_ = xavier_uniform_
glorot_normal_ = xavier_normal_
he_uniform_ = kaiming_uniform_
he_normal_ = kaiming_normal_
