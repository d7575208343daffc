"""Limiting and blending: clamp (clip with tensor bounds too) and lerp."""

from __future__ import annotations

from typing import Any

from shenjing import _bfloat16
from shenjing.autograd.function import Function
from shenjing.backend import get_array_module
from shenjing.ops._promote import floating
from shenjing.ops._util import broadcast_error, unbroadcast
from shenjing.ops.elementwise import clip
from shenjing.tensor import Tensor, as_tensor

__all__ = ["clamp", "lerp"]


class ClampTensor(Function):
    """y = min(max(x, lo), hi) for tensor bounds;  gx = gy where lo ≤ x ≤ hi,
    glo = gy where x < lo,  ghi = gy where x > hi (and x ≥ lo)."""

    def forward(self, x: Any, lo: Any, hi: Any) -> Any:
        xp = get_array_module(x)
        self.shapes = x.shape, lo.shape, hi.shape
        try:
            y = xp.minimum(xp.maximum(x, lo), hi)
        except ValueError:
            raise broadcast_error("clamp", x.shape, lo.shape, hi.shape) from None
        self.below, self.above = x < lo, (x > hi) & (x >= lo)
        return y

    def backward(self, gy: Any) -> tuple[Any, Any, Any]:
        zero = gy.dtype.type(0)
        xp = get_array_module(gy)
        below, above = self.below, self.above
        gx = unbroadcast(xp.where(below | above, zero, gy), self.shapes[0])
        glo = unbroadcast(xp.where(below, gy, zero), self.shapes[1])
        ghi = unbroadcast(xp.where(above, gy, zero), self.shapes[2])
        return gx, glo, ghi


class Lerp(Function):
    """y = a + w·(b − a);  ga = gy·(1 − w),  gb = gy·w,  gw = gy·(b − a)."""

    def forward(self, a: Any, b: Any, w: Any) -> Any:
        self.a, self.b, self.w = a, b, w
        try:
            return a + w * (b - a)
        except ValueError:
            raise broadcast_error("lerp", a.shape, b.shape, w.shape) from None

    def backward(self, gy: Any) -> tuple[Any, Any, Any]:
        a, b, w = self.a, self.b, self.w
        needs = self.needs_input_grad
        ga = unbroadcast(gy * (1 - w), a.shape) if needs[0] else None
        gb = unbroadcast(gy * w, b.shape) if needs[1] else None
        gw = unbroadcast(gy * (b - a), w.shape) if needs[2] else None
        return ga, gb, gw


def clamp(input: Tensor, min: Any = None, max: Any = None) -> Tensor:
    """x limited to [min, max], as PyTorch's ``clamp``: either bound may be None, a
    number, or a tensor that broadcasts with x (then it gets a gradient where it binds).
    Where min > max every element becomes max.
    """
    if min is None and max is None:
        raise ValueError("clamp: at least one of min and max must be given")
    x = as_tensor(input)
    if _bfloat16.kind(x.dtype) in "biu" and any(isinstance(b, float) or (
            isinstance(b, Tensor) and _bfloat16.kind(b.dtype) == "f") for b in (min, max)):
        x = floating(x)  # PyTorch promotes an integer tensor clamped by a float
    if not isinstance(min, Tensor) and not isinstance(max, Tensor):
        return clip(x, min, max)
    xp = get_array_module(x.array)
    lo = as_tensor(-xp.inf if min is None else min, x)
    hi = as_tensor(xp.inf if max is None else max, x)
    return ClampTensor.apply(x, lo, hi)


def lerp(input: Tensor, end: Tensor, weight: Any) -> Tensor:
    """input + weight·(end − input): linear interpolation; ``weight`` a number or tensor."""
    a, b = as_tensor(input), as_tensor(end)
    if _bfloat16.kind(a.dtype) != "f" or b.dtype != a.dtype:
        raise TypeError(
            f"lerp: input and end must be floating-point tensors of one dtype. Received: "
            f"{a.dtype} and {b.dtype}"
        )
    return Lerp.apply(a, b, as_tensor(weight, a))
