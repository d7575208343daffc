"""Exponentials, logarithms, powers and the error function, elementwise.

The forms PyTorch users reach for beside exp and log: base-2 and base-10 versions,
log1p/expm1 (accurate near zero), logaddexp (stable), and the reciprocal family.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from shenjing.autograd.function import Function
from shenjing.backend import get_array_module
from shenjing.ops._erf import erf as _erf
from shenjing.ops._promote import floating
from shenjing.ops._util import broadcast_error, unbroadcast
from shenjing.ops.elementwise import _lift
from shenjing.tensor import Tensor

__all__ = [
    "erf", "erfinv", "exp2", "expm1", "log1p", "log2", "log10", "logaddexp", "reciprocal",
    "rsqrt", "square",
]

_LN2 = math.log(2.0)
_LN10 = math.log(10.0)
_TWO_OVER_SQRT_PI = 2.0 / math.sqrt(math.pi)
_SQRT_PI_OVER_2 = math.sqrt(math.pi) / 2.0

# NOTE: log of a non-positive number and 1/0 are NaN and ±inf, PyTorch's values, with
# no warning.
_poles_are_inf = np.errstate(invalid="ignore", divide="ignore")


class Exp2(Function):
    """y = 2ˣ;  gx = gy · y · ln 2."""

    def forward(self, x: Any) -> Any:
        self.y = get_array_module(x).exp2(x)
        return self.y

    def backward(self, gy: Any) -> Any:
        return gy * self.y * _LN2


class Expm1(Function):
    """y = eˣ − 1;  gx = gy · (y + 1)."""

    def forward(self, x: Any) -> Any:
        self.y = get_array_module(x).expm1(x)
        return self.y

    def backward(self, gy: Any) -> Any:
        return gy * (self.y + 1)


class Log2(Function):
    """y = log₂ x;  gx = gy / (x ln 2)."""

    @_poles_are_inf
    def forward(self, x: Any) -> Any:
        self.x = x
        return get_array_module(x).log2(x)

    def backward(self, gy: Any) -> Any:
        return gy / (self.x * _LN2)


class Log10(Function):
    """y = log₁₀ x;  gx = gy / (x ln 10)."""

    @_poles_are_inf
    def forward(self, x: Any) -> Any:
        self.x = x
        return get_array_module(x).log10(x)

    def backward(self, gy: Any) -> Any:
        return gy / (self.x * _LN10)


class Log1p(Function):
    """y = log(1 + x);  gx = gy / (1 + x)."""

    @_poles_are_inf
    def forward(self, x: Any) -> Any:
        self.x = x
        return get_array_module(x).log1p(x)

    def backward(self, gy: Any) -> Any:
        return gy / (1 + self.x)


class Square(Function):
    """y = x²;  gx = 2 gy x."""

    def forward(self, x: Any) -> Any:
        self.x = x
        return x * x

    def backward(self, gy: Any) -> Any:
        return gy * (2 * self.x)


class Reciprocal(Function):
    """y = 1 / x;  gx = −gy · y²."""

    @_poles_are_inf
    def forward(self, x: Any) -> Any:
        self.y = 1 / x
        return self.y

    def backward(self, gy: Any) -> Any:
        return -gy * self.y * self.y


class Rsqrt(Function):
    """y = 1 / √x;  gx = −gy · y³ / 2."""

    @_poles_are_inf
    def forward(self, x: Any) -> Any:
        self.y = 1 / get_array_module(x).sqrt(x)
        return self.y

    def backward(self, gy: Any) -> Any:
        y = self.y
        return gy * (-0.5 * y * y * y)


class Erf(Function):
    """y = erf(x) = (2/√π) ∫₀ˣ exp(−t²) dt;  gx = gy · (2/√π) · exp(−x²).

    Also the op behind ONNX's Erf, in both directions (PyTorch exports exact GELU with it).
    """

    def forward(self, x: Any) -> Any:
        self.x = x
        return _erf(x)

    def backward(self, gy: Any) -> Any:
        x = self.x
        return gy * (_TWO_OVER_SQRT_PI * get_array_module(gy).exp(-x * x))


class Erfinv(Function):
    """y = erf⁻¹(x) for x in (−1, 1);  gx = gy · (√π/2) · exp(y²).

    Forward: Giles' single-precision approximation ("Approximating the erfinv function",
    GPU Gems 3), then two Newton steps on erf(y) − x = 0, which bring it to the precision
    of the erf helper in float64 as well.
    """

    @_poles_are_inf
    def forward(self, x: Any) -> Any:
        xp = get_array_module(x)
        y = _giles_erfinv(x, xp)
        for _ in range(2):
            # Newton: y ← y − (erf(y) − x) / erf'(y); finite only strictly inside (−1, 1).
            step = (_erf(y) - x) / (_TWO_OVER_SQRT_PI * xp.exp(-y * y))
            y = y - xp.where(xp.isfinite(y), step, 0)
        y = xp.where(xp.abs(x) == 1, x * xp.inf, y)
        self.y = xp.where(xp.abs(x) > 1, xp.nan, y).astype(x.dtype)
        return self.y

    def backward(self, gy: Any) -> Any:
        y = self.y
        return gy * (_SQRT_PI_OVER_2 * get_array_module(gy).exp(y * y))


def _giles_erfinv(x: Any, xp: Any) -> Any:
    w = -xp.log((1 - x) * (1 + x))
    central = w < 5
    w1 = w - 2.5
    p1 = 2.81022636e-08
    for c in (3.43273939e-07, -3.5233877e-06, -4.39150654e-06, 0.00021858087,
              -0.00125372503, -0.00417768164, 0.246640727, 1.50140941):
        p1 = p1 * w1 + c
    w2 = xp.sqrt(xp.maximum(w, 5)) - 3
    p2 = -0.000200214257
    for c in (0.000100950558, 0.00134934322, -0.00367342844, 0.00573950773,
              -0.0076224613, 0.00943887047, 1.00167406, 2.83297682):
        p2 = p2 * w2 + c
    return (xp.where(central, p1, p2) * x).astype(x.dtype)


class LogAddExp(Function):
    """y = log(eᵃ + eᵇ), computed as max + log1p(exp(−|a − b|));
    ga = gy · exp(a − y),  gb = gy · exp(b − y)."""

    def forward(self, a: Any, b: Any) -> Any:
        xp = get_array_module(a)
        self.a, self.b = a, b
        try:
            self.y = xp.logaddexp(a, b)
        except ValueError:
            raise broadcast_error("logaddexp", a.shape, b.shape) from None
        return self.y

    def backward(self, gy: Any) -> tuple[Any, Any]:
        xp = get_array_module(gy)
        a, b, y = self.a, self.b, self.y
        ga = unbroadcast(gy * xp.exp(a - y), a.shape) if self.needs_input_grad[0] else None
        gb = unbroadcast(gy * xp.exp(b - y), b.shape) if self.needs_input_grad[1] else None
        return ga, gb


# ----------------------------------------------------------------- the functions


def exp2(input: Tensor) -> Tensor:
    """2 to the power of each element."""
    return Exp2.apply(floating(input))


def expm1(input: Tensor) -> Tensor:
    """eˣ − 1, accurate for small x."""
    return Expm1.apply(floating(input))


def log2(input: Tensor) -> Tensor:
    """Base-2 logarithm."""
    return Log2.apply(floating(input))


def log10(input: Tensor) -> Tensor:
    """Base-10 logarithm."""
    return Log10.apply(floating(input))


def log1p(input: Tensor) -> Tensor:
    """log(1 + x), accurate for small x."""
    return Log1p.apply(floating(input))


def square(input: Tensor) -> Tensor:
    """x², keeping an integer tensor's dtype as PyTorch does."""
    return Square.apply(input)


def reciprocal(input: Tensor) -> Tensor:
    """1 / x; integers become float32."""
    return Reciprocal.apply(floating(input))


def rsqrt(input: Tensor) -> Tensor:
    """1 / √x."""
    return Rsqrt.apply(floating(input))


def erf(input: Tensor) -> Tensor:
    """The error function, (2/√π) ∫₀ˣ exp(−t²) dt, elementwise (``torch.erf``).

    Example:
        >>> import shenjing as sj
        >>> round(sj.erf(sj.tensor([1.0])).item(), 4)
        0.8427
    """
    return Erf.apply(floating(input))


def erfinv(input: Tensor) -> Tensor:
    """The inverse of erf on (−1, 1); ±inf at ±1, NaN outside."""
    return Erfinv.apply(floating(input))


def logaddexp(input: Any, other: Any) -> Tensor:
    """log(eᵃ + eᵇ) elementwise, without overflow."""
    a, b = _lift(input, other)
    return LogAddExp.apply(floating(a), floating(b))
