"""Elementwise arithmetic: each output element depends on the matching input elements.

Binary ops broadcast like NumPy; their backward sums the gradient back to each input's
shape with ``unbroadcast``. Their operands' dtypes meet by PyTorch's promotion rule, kept
in one place, ``_lift``.
"""

from __future__ import annotations

import operator
from typing import Any

import numpy as np

from shenjing import _bfloat16
from shenjing.autograd.function import Function
from shenjing.backend import DEFAULT_FLOAT, get_array_module
from shenjing.ops._util import broadcast_error, unbroadcast
from shenjing.tensor import Tensor, as_tensor

__all__ = [
    "abs", "add", "astype", "clip", "clone", "div", "exp", "log", "maximum", "minimum", "mul",
    "neg", "pow", "sqrt", "sub", "where",
]


def _binary(op: str, forward: Any, a: Any, b: Any) -> Any:
    try:
        return forward(a, b)
    except ValueError:
        raise broadcast_error(op, a.shape, b.shape) from None


class Add(Function):
    """y = a + b;  ga = gy, gb = gy (each summed back to its input's shape)."""

    def forward(self, a: Any, b: Any) -> Any:
        self.a_shape, self.b_shape = a.shape, b.shape
        return _binary("add", operator.add, a, b)

    def backward(self, gy: Any) -> tuple[Any, Any]:
        return unbroadcast(gy, self.a_shape), unbroadcast(gy, self.b_shape)


class Sub(Function):
    """y = a - b;  ga = gy, gb = -gy."""

    def forward(self, a: Any, b: Any) -> Any:
        self.a_shape, self.b_shape = a.shape, b.shape
        return _binary("sub", operator.sub, a, b)

    def backward(self, gy: Any) -> tuple[Any, Any]:
        gb = -unbroadcast(gy, self.b_shape) if self.needs_input_grad[1] else None
        return unbroadcast(gy, self.a_shape), gb


class Mul(Function):
    """y = a * b;  ga = gy * b, gb = gy * a."""

    # Which input's gradient needs each saved array: an in-place write to a after this
    # node was recorded matters only when b needs a gradient (autograd/versions.py).
    saved_for = {"a": 1, "b": 0}

    def forward(self, a: Any, b: Any) -> Any:
        self.a, self.b = a, b
        return _binary("mul", operator.mul, a, b)

    def backward(self, gy: Any) -> tuple[Any, Any]:
        a, b = self.a, self.b
        ga = unbroadcast(gy * b, a.shape) if self.needs_input_grad[0] else None
        gb = unbroadcast(gy * a, b.shape) if self.needs_input_grad[1] else None
        return ga, gb


class Div(Function):
    """y = a / b;  ga = gy / b, gb = -gy * y / b."""

    def forward(self, a: Any, b: Any) -> Any:
        self.a_shape, self.b = a.shape, b
        self.y = _binary("div", operator.truediv, a, b)
        return self.y

    def backward(self, gy: Any) -> tuple[Any, Any]:
        b = self.b
        ga = unbroadcast(gy / b, self.a_shape) if self.needs_input_grad[0] else None
        gb = unbroadcast(-gy * self.y / b, b.shape) if self.needs_input_grad[1] else None
        return ga, gb


class Neg(Function):
    """y = -x;  gx = -gy."""

    def forward(self, x: Any) -> Any:
        return -x

    def backward(self, gy: Any) -> Any:
        return -gy


class Pow(Function):
    """y = a ** b for a tensor exponent;  ga = gy * b * a ** (b - 1) (0 where b = 0),
    gb = gy * y * log(a) (0 where a = 0 and b >= 0).

    The zeros are PyTorch's: they keep x ** 0 and 0 ** b from giving nan gradients.
    """

    @np.errstate(divide="ignore")  # 0 ** -1 is inf, silently, as in PyTorch
    def forward(self, a: Any, b: Any) -> Any:
        self.a, self.b = a, b
        self.y = _binary("pow", operator.pow, a, b)
        return self.y

    @np.errstate(divide="ignore", invalid="ignore")
    def backward(self, gy: Any) -> tuple[Any, Any]:
        a, b, y = self.a, self.b, self.y
        xp = get_array_module(a)
        ga = gb = None
        if self.needs_input_grad[0]:
            ga = unbroadcast(xp.where(b == 0, 0.0, gy * b * a ** (b - 1)).astype(gy.dtype),
                             a.shape)
        if self.needs_input_grad[1]:
            at_zero = (a == 0) & (b >= 0)
            gb = unbroadcast(xp.where(at_zero, 0.0, gy * y * xp.log(a)).astype(gy.dtype),
                             b.shape)
        return ga, gb


class PowScalar(Function):
    """y = x ** p for a constant p;  gx = gy * p * x ** (p - 1) (0 for p = 0, as PyTorch)."""

    def forward(self, x: Any, exponent: float) -> Any:
        self.x, self.exponent = x, exponent
        return x**exponent

    def backward(self, gy: Any) -> Any:
        p = self.exponent
        if p == 2:
            return gy * (2 * self.x)
        if p == 0:
            return get_array_module(gy).zeros_like(gy)
        return gy * (p * self.x ** (p - 1))


class Exp(Function):
    """y = exp(x);  gx = gy * y."""

    def forward(self, x: Any) -> Any:
        self.y = get_array_module(x).exp(x)
        return self.y

    def backward(self, gy: Any) -> Any:
        # NOTE: reusing y = exp(x) is cheaper and exactly the derivative.
        return gy * self.y


class Log(Function):
    """y = log(x);  gx = gy / x."""

    def forward(self, x: Any) -> Any:
        self.x = x
        return get_array_module(x).log(x)

    def backward(self, gy: Any) -> Any:
        return gy / self.x


class Sqrt(Function):
    """y = sqrt(x);  gx = gy / (2 y)."""

    def forward(self, x: Any) -> Any:
        self.y = get_array_module(x).sqrt(x)
        return self.y

    def backward(self, gy: Any) -> Any:
        return gy / (2 * self.y)


class Abs(Function):
    """y = |x|;  gx = gy * sign(x) (zero at x = 0)."""

    def forward(self, x: Any) -> Any:
        self.x = x
        return get_array_module(x).abs(x)

    def backward(self, gy: Any) -> Any:
        return gy * get_array_module(gy).sign(self.x)


class Clip(Function):
    """y = min(max(x, lo), hi);  gx = gy where lo <= x <= hi, else 0."""

    def forward(self, x: Any, lo: float | None, hi: float | None) -> Any:
        xp = get_array_module(x)
        self.inside = xp.ones(x.shape, dtype=bool)
        if lo is not None:
            self.inside &= x >= lo
        if hi is not None:
            self.inside &= x <= hi
        return xp.clip(x, lo, hi)

    def backward(self, gy: Any) -> Any:
        return gy * self.inside


class Maximum(Function):
    """y = max(a, b) elementwise;  the gradient goes to the larger input, halved on ties."""

    def forward(self, a: Any, b: Any) -> Any:
        xp = get_array_module(a)
        self.a_shape, self.b_shape = a.shape, b.shape
        y = _binary("maximum", xp.maximum, a, b)
        self.share_a = xp.where(a > b, 1.0, xp.where(a == b, 0.5, 0.0)).astype(y.dtype)
        return y

    def backward(self, gy: Any) -> tuple[Any, Any]:
        ga = gy * self.share_a
        return unbroadcast(ga, self.a_shape), unbroadcast(gy - ga, self.b_shape)


class Minimum(Function):
    """y = min(a, b) elementwise;  the gradient goes to the smaller input, halved on ties."""

    def forward(self, a: Any, b: Any) -> Any:
        xp = get_array_module(a)
        self.a_shape, self.b_shape = a.shape, b.shape
        y = _binary("minimum", xp.minimum, a, b)
        self.share_a = xp.where(a < b, 1.0, xp.where(a == b, 0.5, 0.0)).astype(y.dtype)
        return y

    def backward(self, gy: Any) -> tuple[Any, Any]:
        ga = gy * self.share_a
        return unbroadcast(ga, self.a_shape), unbroadcast(gy - ga, self.b_shape)


class Where(Function):
    """y = a where cond else b;  ga = gy where cond, gb = gy elsewhere; cond gets none."""

    def forward(self, cond: Any, a: Any, b: Any) -> Any:
        xp = get_array_module(a)
        self.cond, self.a_shape, self.b_shape = cond, a.shape, b.shape
        try:
            return xp.where(cond, a, b)
        except ValueError:
            raise broadcast_error("where", cond.shape, a.shape, b.shape) from None

    def backward(self, gy: Any) -> tuple[None, Any, Any]:
        zero = gy.dtype.type(0)
        xp = get_array_module(gy)
        ga = unbroadcast(xp.where(self.cond, gy, zero), self.a_shape)
        gb = unbroadcast(xp.where(self.cond, zero, gy), self.b_shape)
        return None, ga, gb


class Clone(Function):
    """y = a copy of x;  gx = gy."""

    def forward(self, x: Any) -> Any:
        return x.copy()

    def backward(self, gy: Any) -> Any:
        return gy


class Cast(Function):
    """y = x converted to ``dtype``;  gx = gy converted back to x's dtype."""

    def forward(self, x: Any, dtype: Any) -> Any:
        self.x_dtype = x.dtype
        return _narrow(x, dtype)

    def backward(self, gy: Any) -> Any:
        return _narrow(gy, self.x_dtype)


def _narrow(x: Any, dtype: Any) -> Any:
    """``x.astype(dtype)``; a float too large for a narrower dtype becomes inf without
    NumPy's overflow warning, as in PyTorch (a GradScaler then finds the inf and skips)."""
    if isinstance(x, np.ndarray) and np.dtype(dtype).itemsize < x.itemsize:
        with np.errstate(over="ignore"):
            return x.astype(dtype)
    return x.astype(dtype)


# ----------------------------------------------------------------- the functions


# PyTorch's categories for type promotion: bool < integer < floating < complex.
_CATEGORY = {"b": 0, "u": 1, "i": 1, "f": 2, "c": 3}


def _lift(a: Any, b: Any) -> tuple[Tensor, Tensor]:
    """Both operands as tensors of one dtype, by PyTorch's promotion rule.

    - A Python or NumPy scalar of the same or a lower category takes the tensor's dtype
      (int64 + 1 is int64, float32 + np.float64(2) is float32); of a higher category it
      brings that category's default (int64 + 1.5 is float32, bool + 1 is int64).
    - Of two tensors, a higher category wins with its own dtype (int64 + float16 is
      float16); within a category a 0-d tensor gives way to one with dims (float32 [n] +
      float64 0-d is float32), else NumPy's promotion applies (float32 + float64 is
      float64).
    """
    if isinstance(a, Tensor):
        if isinstance(b, Tensor):
            if a.array.dtype == b.array.dtype:  # the hot path: nothing to decide
                return a, b
            return _promoted(a, b)
        if isinstance(b, _SCALARS):
            dtype = _scalar_dtype(b, a.array.dtype)
            return _cast_to(a, dtype), _constant(b, dtype, a)
        return _promoted(a, as_tensor(b))
    if isinstance(b, Tensor):
        if isinstance(a, _SCALARS):
            dtype = _scalar_dtype(a, b.array.dtype)
            return _constant(a, dtype, b), _cast_to(b, dtype)
        return _promoted(as_tensor(a), b)
    return _promoted(as_tensor(a), as_tensor(b))


_SCALARS = (float, int, np.number, np.bool_)  # bool is an int


def _scalar_dtype(value: Any, dtype: np.dtype) -> np.dtype:
    """The dtype a scalar ``value`` and a tensor of ``dtype`` meet in."""
    if _bfloat16.kind(dtype) in "fc":  # the common case: every real scalar takes the tensor's dtype
        return dtype
    if isinstance(value, (float, np.floating)):
        return DEFAULT_FLOAT
    if _bfloat16.kind(dtype) == "b" and not isinstance(value, (bool, np.bool_)):
        return np.dtype(np.int64)
    return dtype


def _constant(value: Any, dtype: np.dtype, like: Tensor) -> Tensor:
    return Tensor._make(get_array_module(like.array).asarray(value, dtype=dtype), None)


def _promoted(a: Tensor, b: Tensor) -> tuple[Tensor, Tensor]:
    da, db = a.array.dtype, b.array.dtype
    ca, cb = _CATEGORY[_bfloat16.kind(da)], _CATEGORY[_bfloat16.kind(db)]
    if ca != cb:
        dtype = da if ca > cb else db
    elif (a.ndim == 0) != (b.ndim == 0):
        dtype = db if a.ndim == 0 else da
    else:
        dtype = np.promote_types(da, db)
    return _cast_to(a, dtype), _cast_to(b, dtype)


def _cast_to(t: Tensor, dtype: Any) -> Tensor:
    return t if t.array.dtype == dtype else Cast.apply(t, dtype=dtype)


def add(a: Any, b: Any, *, alpha: float = 1) -> Tensor:
    """a + alpha·b, broadcasting (``alpha`` as in PyTorch)."""
    if alpha != 1:
        b = mul(b, alpha)
    return Add.apply(*_lift(a, b))


def sub(a: Any, b: Any, *, alpha: float = 1) -> Tensor:
    """a - alpha·b, broadcasting."""
    if alpha != 1:
        b = mul(b, alpha)
    return Sub.apply(*_lift(a, b))


def mul(a: Any, b: Any) -> Tensor:
    """a * b elementwise, broadcasting."""
    return Mul.apply(*_lift(a, b))


def div(a: Any, b: Any, *, rounding_mode: str | None = None) -> Tensor:
    """a / b elementwise, broadcasting; ``rounding_mode`` 'trunc' or 'floor' rounds the
    quotient (with no gradient, and keeping integer dtypes) as PyTorch's ``div`` does.
    True division of integers gives float32, as in PyTorch."""
    if rounding_mode is not None:
        from shenjing.ops.rounding import rounded_div  # rounding builds on this module

        return rounded_div(a, b, rounding_mode)
    a, b = _lift(a, b)
    if _bfloat16.kind(a.array.dtype) not in "fc":  # true division of integers gives floats
        a, b = _cast_to(a, DEFAULT_FLOAT), _cast_to(b, DEFAULT_FLOAT)
    return Div.apply(a, b)


def neg(x: Tensor) -> Tensor:
    """-x."""
    return Neg.apply(x)


def pow(a: Any, b: Any) -> Tensor:
    """a ** b; b may be a Python number (a constant) or a tensor."""
    if isinstance(a, Tensor) and isinstance(b, (int, float)) and not isinstance(b, bool):
        if isinstance(b, float) and _bfloat16.kind(a.array.dtype) not in "fc":
            a = _cast_to(a, DEFAULT_FLOAT)  # int ** 0.5 is a float32, as in PyTorch
        return PowScalar.apply(a, exponent=b)
    return Pow.apply(*_lift(a, b))


def exp(x: Tensor) -> Tensor:
    """e ** x."""
    return Exp.apply(x)


def log(x: Tensor) -> Tensor:
    """Natural logarithm."""
    return Log.apply(x)


def sqrt(x: Tensor) -> Tensor:
    """Square root."""
    return Sqrt.apply(x)


def abs(x: Tensor) -> Tensor:
    """|x|."""
    return Abs.apply(x)


def clip(x: Tensor, min: float | None = None, max: float | None = None) -> Tensor:
    """x limited to [min, max]; either bound may be None."""
    if min is None and max is None:
        raise ValueError("clip: at least one of min and max must be given")
    return Clip.apply(x, lo=min, hi=max)


def maximum(a: Any, b: Any) -> Tensor:
    """The larger of a and b, elementwise."""
    return Maximum.apply(*_lift(a, b))


def minimum(a: Any, b: Any) -> Tensor:
    """The smaller of a and b, elementwise."""
    return Minimum.apply(*_lift(a, b))


def where(cond: Any, a: Any = None, b: Any = None) -> Any:
    """a where cond is true, b elsewhere; ``where(cond)`` alone is ``nonzero(cond,
    as_tuple=True)``, as in PyTorch."""
    if a is None and b is None:
        from shenjing.ops.gather_scatter import nonzero  # gather_scatter builds on this module

        return nonzero(cond, as_tuple=True)
    a, b = _lift(a, b)
    cond = as_tensor(cond)
    if _bfloat16.kind(cond.dtype) != "b":
        raise TypeError(f"where: cond must be boolean. Received: dtype={cond.dtype}")
    return Where.apply(cond, a, b)


def astype(x: Tensor, dtype: Any) -> Tensor:
    """x converted to ``dtype``."""
    return Cast.apply(x, dtype=dtype)


def clone(x: Tensor) -> Tensor:
    """A copy of ``x`` that stays in the graph (the gradient passes straight through)."""
    return Clone.apply(x)
