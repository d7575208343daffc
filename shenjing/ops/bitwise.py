"""Bitwise ops on integer and boolean tensors: and, or, xor, not, and shifts.

They are the ``& | ^ ~ << >>`` operators of ``Tensor``. Like PyTorch's, they refuse
floating-point tensors, keep the operands' integer (or boolean) dtype, and carry no
gradient (see ``_nograd.py``).
"""

from __future__ import annotations

from typing import Any

from shenjing import _bfloat16
from shenjing.backend import get_array_module
from shenjing.ops._nograd import without_gradient
from shenjing.ops._util import broadcast_error
from shenjing.ops.elementwise import _lift
from shenjing.tensor import Tensor, as_tensor

__all__ = [
    "bitwise_and", "bitwise_left_shift", "bitwise_not", "bitwise_or", "bitwise_right_shift",
    "bitwise_xor",
]


def _check(op: str, *tensors: Tensor, shift: bool = False) -> None:
    allowed = "iu" if shift else "iub"
    for t in tensors:
        if _bfloat16.kind(t.dtype) not in allowed:
            kinds = "integer" if shift else "integer or boolean"
            raise TypeError(f"{op}: expects {kinds} tensors. Received: dtype={t.dtype}")


def _bitwise(op: str, ufunc: str, a: Any, b: Any, shift: bool = False) -> Tensor:
    a, b = _lift(a, b)
    _check(op, a, b, shift=shift)
    xp = get_array_module(a.array)
    try:
        return without_gradient(getattr(xp, ufunc), a, b)
    except ValueError:
        raise broadcast_error(op, a.shape, b.shape) from None


def bitwise_and(input: Any, other: Any) -> Tensor:
    """a & b elementwise (logical and for booleans)."""
    return _bitwise("bitwise_and", "bitwise_and", input, other)


def bitwise_or(input: Any, other: Any) -> Tensor:
    """a | b elementwise."""
    return _bitwise("bitwise_or", "bitwise_or", input, other)


def bitwise_xor(input: Any, other: Any) -> Tensor:
    """a ^ b elementwise."""
    return _bitwise("bitwise_xor", "bitwise_xor", input, other)


def bitwise_not(input: Tensor) -> Tensor:
    """~x: every bit flipped (logical not for booleans); ~x = −x − 1 for signed integers."""
    x = as_tensor(input)
    _check("bitwise_not", x)
    return without_gradient(get_array_module(x.array).invert, x)


def bitwise_left_shift(input: Any, other: Any) -> Tensor:
    """a << b elementwise: a·2ᵇ for integers."""
    return _bitwise("bitwise_left_shift", "left_shift", input, other, shift=True)


def bitwise_right_shift(input: Any, other: Any) -> Tensor:
    """a >> b elementwise: ⌊a / 2ᵇ⌋ for integers (arithmetic shift)."""
    return _bitwise("bitwise_right_shift", "right_shift", input, other, shift=True)
