"""The Tensor methods and operators of the ops added for PyTorch users (issue 12):
``% // & | ^ ~ << >>`` with their reflected forms, ``x.sin()``, ``x.sort()``,
``x.gather(...)`` and the rest (the in-place forms ``add_``, ``mul_``, ... are in
``_tensor_inplace.py``).

They live here, attached to ``Tensor`` when ``shenjing.tensor`` finishes loading, so that
tensor.py keeps the core methods. A method means what the PyTorch method of that name
means: ``x.op(*args)`` is ``op(x, *args)``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from shenjing import ops
from shenjing.ops import reorder
from shenjing.tensor import Tensor

# Methods that are the op of the same name with the tensor as its first argument.
SAME_AS_OP = [
    "acos", "acosh", "all", "allclose", "any", "argsort", "asin", "asinh", "atan", "atan2",
    "atanh", "bitwise_and", "bitwise_left_shift", "bitwise_not", "bitwise_or",
    "bitwise_right_shift", "bitwise_xor", "bmm", "ceil", "chunk", "clamp", "copysign", "cos",
    "cosh", "count_nonzero", "cummax", "cummin", "cumprod", "cumsum", "diag", "diagonal", "dot",
    "erf", "erfinv", "exp2", "expm1", "floor", "floor_divide", "fmod", "frac",
    "gather", "index_select", "isclose", "isfinite", "isinf", "isnan", "lerp", "log1p",
    "log2", "log10", "logaddexp", "logcumsumexp", "logical_and", "logical_not",
    "logical_or", "logical_xor", "masked_fill", "masked_select", "maximum", "median",
    "minimum", "mm", "mode", "movedim", "mv", "narrow", "neg", "nonzero", "prod", "reciprocal",
    "outer", "remainder", "roll", "round", "rsqrt", "scatter", "scatter_add", "scatter_reduce",
    "sign", "sin", "sinh", "sort", "square", "take", "tan", "tensor_split", "topk", "tril",
    "triu", "trunc", "unflatten",
]


def _same_as(name: str) -> Callable[..., Any]:
    op = getattr(ops, name)

    def method(self: Tensor, *args: Any, **kwargs: Any) -> Any:
        return op(self, *args, **kwargs)

    method.__name__ = method.__qualname__ = name
    method.__doc__ = f"``{name}(self, ...)``: {op.__doc__}"
    return method


def add(self: Tensor, other: Any, *, alpha: float = 1) -> Tensor:
    """self + alpha·other."""
    return ops.add(self, other, alpha=alpha)


def sub(self: Tensor, other: Any, *, alpha: float = 1) -> Tensor:
    """self − alpha·other."""
    return ops.sub(self, other, alpha=alpha)


def mul(self: Tensor, other: Any) -> Tensor:
    """self · other elementwise."""
    return ops.mul(self, other)


def div(self: Tensor, other: Any, *, rounding_mode: str | None = None) -> Tensor:
    """self / other, rounded by ``rounding_mode`` ('trunc' or 'floor') when given."""
    return ops.div(self, other, rounding_mode=rounding_mode)


def flip(self: Tensor, *dims: Any) -> Tensor:
    """The tensor reversed along ``dims``, given as ints or as one sequence."""
    return ops.flip(self, dims[0] if len(dims) == 1 else dims)


def unfold(self: Tensor, dimension: int, size: int, step: int) -> Tensor:
    """The windows of ``size`` elements every ``step`` along ``dimension``, as a new last
    dim (the window index takes that dimension's place)."""
    return reorder.unfold(self, dimension, size, step)


def split(self: Tensor, split_size: Any, dim: int = 0) -> tuple[Tensor, ...]:
    """Pieces of ``split_size`` (an int, or each piece's size) along ``dim``."""
    return ops.split(self, split_size, dim)


# ------------------------------------------------------------------ operators


def _reflected(op: Callable[[Any, Any], Tensor]) -> Callable[[Tensor, Any], Tensor]:
    def method(self: Tensor, other: Any) -> Tensor:
        return op(other, self)

    return method


OPERATORS = {
    "__mod__": ops.remainder, "__floordiv__": ops.floor_divide, "__and__": ops.bitwise_and,
    "__or__": ops.bitwise_or, "__xor__": ops.bitwise_xor,
    "__lshift__": ops.bitwise_left_shift, "__rshift__": ops.bitwise_right_shift,
}


def _attach() -> None:
    methods: dict[str, Callable[..., Any]] = {name: _same_as(name) for name in SAME_AS_OP}
    methods.update({m.__name__: m for m in (add, sub, mul, div, flip, unfold, split)})
    for name, op in OPERATORS.items():
        methods[name] = lambda self, other, op=op: op(self, other)
        methods["__r" + name[2:]] = _reflected(op)
    methods["__invert__"] = lambda self: ops.bitwise_not(self)
    for name, method in methods.items():
        # Loud, not silent, if a method of the same name was added to tensor.py meanwhile.
        if name in vars(Tensor):
            raise RuntimeError(f"Tensor.{name} is defined twice: in tensor.py and in {__name__}")
        setattr(Tensor, name, method)


_attach()
