"""Comparisons as functions, PyTorch's ``eq``, ``ne``, ``lt``, ``le``, ``gt``, ``ge`` and
``equal``: boolean results that carry no gradient.

Each defers to the ``Tensor`` operator (``==``, ``<``, ...), so graph mode, which
overrides those operators, records them too.
"""

from __future__ import annotations

from typing import Any

from shenjing.tensor import Tensor, as_tensor

__all__ = ["eq", "equal", "ge", "gt", "le", "lt", "ne"]


def eq(input: Any, other: Any) -> Tensor:
    """input == other elementwise, broadcasting; a bool tensor.

    Example:
        >>> import shenjing as sj
        >>> sj.eq(sj.tensor([1, 2]), 2).tolist()
        [False, True]
    """
    return as_tensor(input) == other


def ne(input: Any, other: Any) -> Tensor:
    """input != other elementwise; a bool tensor."""
    return as_tensor(input) != other


def lt(input: Any, other: Any) -> Tensor:
    """input < other elementwise; a bool tensor."""
    return as_tensor(input) < other


def le(input: Any, other: Any) -> Tensor:
    """input <= other elementwise; a bool tensor."""
    return as_tensor(input) <= other


def gt(input: Any, other: Any) -> Tensor:
    """input > other elementwise; a bool tensor."""
    return as_tensor(input) > other


def ge(input: Any, other: Any) -> Tensor:
    """input >= other elementwise; a bool tensor."""
    return as_tensor(input) >= other


def equal(input: Tensor, other: Tensor) -> bool:
    """True when both tensors have the same shape and the same elements."""
    return as_tensor(input).equal(as_tensor(other))
