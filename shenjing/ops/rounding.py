"""Rounding, signs, and the divisions that round: floor, ceil, round, trunc, frac, sign,
div with a rounding mode, floor_divide, fmod, remainder and copysign.

Rounding is piecewise constant, so its gradient is zero wherever it is defined, which is
what PyTorch returns too. On integer tensors these ops keep the integer dtype and carry
no gradient; an integer division by zero raises ZeroDivisionError as in PyTorch.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from shenjing import _bfloat16
from shenjing.autograd.function import Function
from shenjing.backend import get_array_module
from shenjing.ops._nograd import without_gradient
from shenjing.ops._promote import floating
from shenjing.ops._util import broadcast_error, unbroadcast
from shenjing.ops.elementwise import _lift
from shenjing.tensor import Tensor, as_tensor

__all__ = [
    "ceil", "copysign", "floor", "floor_divide", "fmod", "frac", "remainder", "round",
    "sign", "trunc",
]

# NOTE: a float division by zero gives ±inf or NaN, PyTorch's values, with no warning.
_float_division = np.errstate(divide="ignore", invalid="ignore")


class Rounded(Function):
    """y = round(x) by ``mode`` (floor, ceil, trunc, or to ``decimals`` places, half to
    even);  gx = 0: the steps are flat."""

    def forward(self, x: Any, mode: str, decimals: int = 0) -> Any:
        xp = get_array_module(x)
        if mode == "round":
            return xp.round(x, decimals)
        return getattr(xp, mode)(x)

    def backward(self, gy: Any) -> Any:
        return get_array_module(gy).zeros_like(gy)


class Sign(Function):
    """y = sign(x) ∈ {−1, 0, 1};  gx = 0."""

    def forward(self, x: Any) -> Any:
        return get_array_module(x).sign(x)

    def backward(self, gy: Any) -> Any:
        return get_array_module(gy).zeros_like(gy)


class Frac(Function):
    """y = x − trunc(x);  gx = gy."""

    def forward(self, x: Any) -> Any:
        return x - get_array_module(x).trunc(x)

    def backward(self, gy: Any) -> Any:
        return gy


class RoundedDiv(Function):
    """y = trunc(a / b) or floor(a / b) by ``mode``;  ga = gb = 0."""

    @_float_division
    def forward(self, a: Any, b: Any, mode: str) -> Any:
        xp = get_array_module(a)
        self.a_shape, self.b_shape = a.shape, b.shape
        try:
            q = xp.floor_divide(a, b)
        except ValueError:
            raise broadcast_error(f"div(rounding_mode={mode!r})", a.shape, b.shape) from None
        if mode == "trunc":
            if _bfloat16.kind(q.dtype) in "fc":
                q = xp.trunc(a / b)
            else:  # floor rounds a negative, inexact quotient one below trunc
                q += (q < 0) & (q * b != a)
        return q

    def backward(self, gy: Any) -> tuple[Any, Any]:
        xp = get_array_module(gy)
        return xp.zeros(self.a_shape, gy.dtype), xp.zeros(self.b_shape, gy.dtype)


class _RemainderOfDivision(Function):
    """y = a − q(a / b)·b for a rounding q;  ga = gy,  gb = −gy · q(a / b).

    Fmod and Remainder differ only in the rounding (trunc or floor), so only in the
    NumPy function of the forward and the quotient of the backward; both live here.
    """

    name: str  # the public function, for the broadcast error

    def remainder(self, xp: Any, a: Any, b: Any) -> Any:
        raise NotImplementedError

    def quotient(self, xp: Any, a: Any, b: Any) -> Any:
        raise NotImplementedError

    @_float_division
    def forward(self, a: Any, b: Any) -> Any:
        self.a, self.b = a, b
        try:
            return self.remainder(get_array_module(a), a, b)
        except ValueError:
            raise broadcast_error(self.name, a.shape, b.shape) from None

    @_float_division
    def backward(self, gy: Any) -> tuple[Any, Any]:
        a, b = self.a, self.b
        ga = unbroadcast(gy, a.shape) if self.needs_input_grad[0] else None
        gb = None
        if self.needs_input_grad[1]:
            gb = unbroadcast(-gy * self.quotient(get_array_module(gy), a, b), b.shape)
        return ga, gb


class Fmod(_RemainderOfDivision):
    """y = a − trunc(a / b)·b, with the sign of a (C's fmod);
    ga = gy,  gb = −gy · trunc(a / b)."""

    name = "fmod"

    def remainder(self, xp: Any, a: Any, b: Any) -> Any:
        return xp.fmod(a, b)

    def quotient(self, xp: Any, a: Any, b: Any) -> Any:
        return xp.trunc(a / b)


class Remainder(_RemainderOfDivision):
    """y = a − floor(a / b)·b, with the sign of b (Python's %);
    ga = gy,  gb = −gy · floor(a / b)."""

    name = "remainder"

    def remainder(self, xp: Any, a: Any, b: Any) -> Any:
        return xp.remainder(a, b)

    def quotient(self, xp: Any, a: Any, b: Any) -> Any:
        return xp.floor_divide(a, b)


class CopySign(Function):
    """y = |a| with the sign (sign bit) of b;  ga = gy · y / a (0 where a = 0),  gb = 0."""

    def forward(self, a: Any, b: Any) -> Any:
        self.a, self.b_shape = a, b.shape
        try:
            self.y = get_array_module(a).copysign(a, b)
        except ValueError:
            raise broadcast_error("copysign", a.shape, b.shape) from None
        return self.y

    def backward(self, gy: Any) -> tuple[Any, Any]:
        xp = get_array_module(gy)
        a = self.a
        # y / a is ±1; where a = 0 the ratio is undefined and PyTorch gives 0.
        flips = xp.where(a == 0, 0, xp.where((self.y < 0) == (a < 0), 1, -1)).astype(gy.dtype)
        ga = unbroadcast(gy * flips, a.shape) if self.needs_input_grad[0] else None
        gb = xp.zeros(self.b_shape, gy.dtype) if self.needs_input_grad[1] else None
        return ga, gb


# ----------------------------------------------------------------- the functions


def _rounded(x: Any, mode: str, decimals: int = 0) -> Tensor:
    """An integer or boolean tensor rounds to itself: a copy with no gradient."""
    x = as_tensor(x)
    if _bfloat16.kind(x.dtype) not in "fc":
        return without_gradient(_copy, x)
    return Rounded.apply(x, mode=mode, decimals=decimals)


def floor(input: Tensor) -> Tensor:
    """The largest integer ≤ x, elementwise; integer tensors are returned as they are."""
    return _rounded(input, "floor")


def ceil(input: Tensor) -> Tensor:
    """The smallest integer ≥ x, elementwise."""
    return _rounded(input, "ceil")


def trunc(input: Tensor) -> Tensor:
    """x rounded toward zero, elementwise."""
    return _rounded(input, "trunc")


def round(input: Tensor, *, decimals: int = 0) -> Tensor:
    """x rounded to ``decimals`` places, halves to even (as PyTorch and NumPy)."""
    if not isinstance(decimals, int) or isinstance(decimals, bool):
        raise TypeError(f"round: decimals must be an int. Received: {decimals!r}")
    return _rounded(input, "round", decimals)


def frac(input: Tensor) -> Tensor:
    """The fractional part x − trunc(x), with the sign of x."""
    x = as_tensor(input)
    if _bfloat16.kind(x.dtype) not in "fc":
        raise TypeError(f"frac: expects a floating-point tensor. Received: dtype={x.dtype}")
    return Frac.apply(x)


def sign(input: Tensor) -> Tensor:
    """−1, 0 or 1 by the sign of x, in x's dtype (booleans stay booleans)."""
    x = as_tensor(input)
    if _bfloat16.kind(x.dtype) == "b":
        return without_gradient(_copy, x)
    return Sign.apply(x)


def _division_operands(op: str, a: Any, b: Any) -> tuple[Tensor, Tensor]:
    a, b = _lift(a, b)
    if _bfloat16.kind(a.dtype) not in "fc" and _bfloat16.kind(b.dtype) not in "fc":
        if _bfloat16.kind(a.dtype) == "b" and _bfloat16.kind(b.dtype) == "b":
            raise TypeError(f"{op}: expects numbers, not two boolean tensors")
        if not get_array_module(b.array).all(b.array):
            raise ZeroDivisionError(f"{op}: integer division by zero")
    return a, b


def rounded_div(input: Any, other: Any, rounding_mode: str) -> Tensor:
    """``div`` with ``rounding_mode`` 'trunc' or 'floor' (see ``shenjing.div``)."""
    if rounding_mode not in ("trunc", "floor"):
        raise ValueError(
            f"div: rounding_mode must be None, 'trunc' or 'floor'. Received: {rounding_mode!r}"
        )
    a, b = _division_operands("div", input, other)
    return RoundedDiv.apply(a, b, mode=rounding_mode)


def floor_divide(input: Any, other: Any) -> Tensor:
    """⌊a / b⌋ elementwise, as ``a // b``; like PyTorch's, it has no gradient."""
    a, b = _division_operands("floor_divide", input, other)
    return without_gradient(_floor_quotient, a, b)


def _copy(x: Any) -> Any:
    return x.copy()


@_float_division
def _floor_quotient(a: Any, b: Any) -> Any:
    try:
        return get_array_module(a).floor_divide(a, b)
    except ValueError:
        raise broadcast_error("floor_divide", a.shape, b.shape) from None


def fmod(input: Any, other: Any) -> Tensor:
    """The remainder of a / b rounded toward zero: the sign of a (C's fmod)."""
    return Fmod.apply(*_division_operands("fmod", input, other))


def remainder(input: Any, other: Any) -> Tensor:
    """The remainder of a / b rounded down: the sign of b (Python's ``%``)."""
    return Remainder.apply(*_division_operands("remainder", input, other))


def copysign(input: Any, other: Any) -> Tensor:
    """|a| with the sign of b; integers become float32."""
    a, b = _lift(input, other)
    return CopySign.apply(floating(a), floating(b))
