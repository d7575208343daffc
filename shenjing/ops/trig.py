"""Trigonometric and hyperbolic functions and their inverses, elementwise.

Each backward is the textbook derivative, evaluated on the saved input (or, where it is
cheaper and as exact, on the saved output).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from shenjing.autograd.function import Function
from shenjing.backend import get_array_module
from shenjing.ops._promote import floating
from shenjing.ops._util import broadcast_error, unbroadcast
from shenjing.ops.elementwise import _lift
from shenjing.tensor import Tensor

__all__ = [
    "acos", "acosh", "asin", "asinh", "atan", "atan2", "atanh", "cos", "cosh", "sin", "sinh",
    "tan",
]

# NOTE: outside its domain an inverse function is NaN (±inf at atanh(±1)), PyTorch's value,
# with no warning.
_outside_domain_is_nan = np.errstate(invalid="ignore", divide="ignore")


class Sin(Function):
    """y = sin(x);  gx = gy · cos(x)."""

    def forward(self, x: Any) -> Any:
        self.x = x
        return get_array_module(x).sin(x)

    def backward(self, gy: Any) -> Any:
        return gy * get_array_module(gy).cos(self.x)


class Cos(Function):
    """y = cos(x);  gx = -gy · sin(x)."""

    def forward(self, x: Any) -> Any:
        self.x = x
        return get_array_module(x).cos(x)

    def backward(self, gy: Any) -> Any:
        return -gy * get_array_module(gy).sin(self.x)


class Tan(Function):
    """y = tan(x);  gx = gy · (1 + y²)."""

    def forward(self, x: Any) -> Any:
        self.y = get_array_module(x).tan(x)
        return self.y

    def backward(self, gy: Any) -> Any:
        # NOTE: 1 + tan² = sec², from the output: no cos to divide by.
        return gy * (1 + self.y * self.y)


class Asin(Function):
    """y = asin(x);  gx = gy / √(1 − x²)."""

    @_outside_domain_is_nan
    def forward(self, x: Any) -> Any:
        self.x = x
        return get_array_module(x).arcsin(x)

    def backward(self, gy: Any) -> Any:
        return gy / get_array_module(gy).sqrt(1 - self.x * self.x)


class Acos(Function):
    """y = acos(x);  gx = −gy / √(1 − x²)."""

    @_outside_domain_is_nan
    def forward(self, x: Any) -> Any:
        self.x = x
        return get_array_module(x).arccos(x)

    def backward(self, gy: Any) -> Any:
        return -gy / get_array_module(gy).sqrt(1 - self.x * self.x)


class Atan(Function):
    """y = atan(x);  gx = gy / (1 + x²)."""

    def forward(self, x: Any) -> Any:
        self.x = x
        return get_array_module(x).arctan(x)

    def backward(self, gy: Any) -> Any:
        return gy / (1 + self.x * self.x)


class Sinh(Function):
    """y = sinh(x);  gx = gy · cosh(x)."""

    def forward(self, x: Any) -> Any:
        self.x = x
        return get_array_module(x).sinh(x)

    def backward(self, gy: Any) -> Any:
        return gy * get_array_module(gy).cosh(self.x)


class Cosh(Function):
    """y = cosh(x);  gx = gy · sinh(x)."""

    def forward(self, x: Any) -> Any:
        self.x = x
        return get_array_module(x).cosh(x)

    def backward(self, gy: Any) -> Any:
        return gy * get_array_module(gy).sinh(self.x)


class Asinh(Function):
    """y = asinh(x);  gx = gy / √(x² + 1)."""

    def forward(self, x: Any) -> Any:
        self.x = x
        return get_array_module(x).arcsinh(x)

    def backward(self, gy: Any) -> Any:
        return gy / get_array_module(gy).sqrt(self.x * self.x + 1)


class Acosh(Function):
    """y = acosh(x) for x ≥ 1;  gx = gy / √(x² − 1)."""

    @_outside_domain_is_nan
    def forward(self, x: Any) -> Any:
        self.x = x
        return get_array_module(x).arccosh(x)

    def backward(self, gy: Any) -> Any:
        return gy / get_array_module(gy).sqrt(self.x * self.x - 1)


class Atanh(Function):
    """y = atanh(x) for |x| < 1;  gx = gy / (1 − x²)."""

    @_outside_domain_is_nan
    def forward(self, x: Any) -> Any:
        self.x = x
        return get_array_module(x).arctanh(x)

    def backward(self, gy: Any) -> Any:
        return gy / (1 - self.x * self.x)


class Atan2(Function):
    """y = atan2(a, b), the angle of the point (b, a);
    ga = gy · b / (a² + b²),  gb = −gy · a / (a² + b²)."""

    def forward(self, a: Any, b: Any) -> Any:
        xp = get_array_module(a)
        self.a, self.b = a, b
        try:
            return xp.arctan2(a, b)
        except ValueError:
            raise broadcast_error("atan2", a.shape, b.shape) from None

    def backward(self, gy: Any) -> tuple[Any, Any]:
        a, b = self.a, self.b
        scale = gy / (a * a + b * b)
        ga = unbroadcast(scale * b, a.shape) if self.needs_input_grad[0] else None
        gb = unbroadcast(-scale * a, b.shape) if self.needs_input_grad[1] else None
        return ga, gb


# ----------------------------------------------------------------- the functions


def sin(input: Tensor) -> Tensor:
    """sin(x) elementwise."""
    return Sin.apply(floating(input))


def cos(input: Tensor) -> Tensor:
    """cos(x) elementwise."""
    return Cos.apply(floating(input))


def tan(input: Tensor) -> Tensor:
    """tan(x) elementwise."""
    return Tan.apply(floating(input))


def asin(input: Tensor) -> Tensor:
    """Inverse sine; NaN outside [-1, 1], as in PyTorch."""
    return Asin.apply(floating(input))


def acos(input: Tensor) -> Tensor:
    """Inverse cosine; NaN outside [-1, 1]."""
    return Acos.apply(floating(input))


def atan(input: Tensor) -> Tensor:
    """Inverse tangent."""
    return Atan.apply(floating(input))


def sinh(input: Tensor) -> Tensor:
    """Hyperbolic sine."""
    return Sinh.apply(floating(input))


def cosh(input: Tensor) -> Tensor:
    """Hyperbolic cosine."""
    return Cosh.apply(floating(input))


def asinh(input: Tensor) -> Tensor:
    """Inverse hyperbolic sine."""
    return Asinh.apply(floating(input))


def acosh(input: Tensor) -> Tensor:
    """Inverse hyperbolic cosine; NaN below 1."""
    return Acosh.apply(floating(input))


def atanh(input: Tensor) -> Tensor:
    """Inverse hyperbolic tangent; NaN outside [-1, 1], ±inf at ±1."""
    return Atanh.apply(floating(input))


def atan2(input: Any, other: Any) -> Tensor:
    """The angle of the point (other, input) in (−π, π], elementwise and broadcasting."""
    a, b = _lift(input, other)
    return Atan2.apply(floating(a), floating(b))
