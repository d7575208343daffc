"""Unknown dimensions: the ``None`` of a declared shape, as an integer that knows where
its real size will come from.

A placeholder of shape ``(None, 3)`` gets a batch size only when the graph runs. Users
see that size as Python's ``None`` (``x.shape[0] is None``, as in TensorFlow 2), but the
op functions that build a graph still do arithmetic on shapes: ``mean`` divides by the
number of elements it reduced, ``flatten`` multiplies sizes into a new shape, and they
pass the results to the op as parameters. So they read ``x._sizes``, where each unknown
size is a ``Dim``, which lets that arithmetic happen and be redone later: it is an
``int`` (its value is the size in the small *example* arrays that graph building runs
each op on) that also remembers

- ``alt``: its size in a second, differently sized set of examples, which is how graph
  building tells the dimensions that change with the input from the ones that do not;
- ``expr``: how to compute it when the graph runs: ``("size", tensor, axis)`` for a
  dimension of a tensor, or ``(operator, left, right)`` for arithmetic on dimensions.

A ``Dim`` prints as ``None`` and compares equal to ``None`` and to any other ``Dim``
(two unknown sizes are compatible), but never to a concrete size: ``dim != 1`` holds,
so ``squeeze`` keeps an unknown axis.

Example:
    >>> import shenjing as sj
    >>> g = sj.Graph()
    >>> with g.as_default():
    ...     x = sj.placeholder((None, 3))
    >>> x.shape, x.shape[0] is None, type(x._sizes[0]).__name__
    ((None, 3), True, 'Dim')
"""

from __future__ import annotations

import operator
from collections.abc import Callable
from typing import Any

Evaluator = Callable[[list], int]  # run-time values (indexed by slot) -> the size


class Dim(int):
    """An unknown dimension: an ``int`` equal to its example size, printing as ``None``."""

    alt: int
    expr: tuple

    def __new__(cls, example: int, alt: int, expr: tuple) -> Dim:
        dim = super().__new__(cls, example)
        dim.alt = alt
        dim.expr = expr
        return dim

    # ------------------------------------------------------------ how it prints
    def __repr__(self) -> str:
        return "None"

    __str__ = __repr__

    def __eq__(self, other: object) -> bool:
        return other is None or isinstance(other, Dim)

    def __ne__(self, other: object) -> bool:
        return not self.__eq__(other)

    def __hash__(self) -> int:
        return hash(None)  # equal to None, so it must hash like None

    # ---------------------------------------------------------------- arithmetic
    def __add__(self, other: Any) -> Any:
        return _combine(operator.add, self, other)

    def __radd__(self, other: Any) -> Any:
        return _combine(operator.add, other, self)

    def __sub__(self, other: Any) -> Any:
        return _combine(operator.sub, self, other)

    def __rsub__(self, other: Any) -> Any:
        return _combine(operator.sub, other, self)

    def __mul__(self, other: Any) -> Any:
        return _combine(operator.mul, self, other)

    def __rmul__(self, other: Any) -> Any:
        return _combine(operator.mul, other, self)

    def __floordiv__(self, other: Any) -> Any:
        return _combine(operator.floordiv, self, other)

    def __rfloordiv__(self, other: Any) -> Any:
        return _combine(operator.floordiv, other, self)

    def __neg__(self) -> Any:
        return _combine(operator.sub, 0, self)

    # ------------------------------------------------------------------ run time
    def tensors(self) -> list:
        """The symbolic tensors whose run-time shapes this size is computed from."""
        if self.expr[0] == "size":
            return [self.expr[1]]
        found = []
        for part in self.expr[1:]:
            if isinstance(part, Dim):
                found += part.tensors()
        return found

    def evaluator(self, slot_of: dict[int, int]) -> Evaluator:
        """A function from the run-time value list to this size; ``slot_of`` maps
        ``id(tensor)`` to the tensor's index in that list."""
        if self.expr[0] == "size":
            _, tensor, axis = self.expr
            slot = slot_of[id(tensor)]
            return lambda values: values[slot].shape[axis]
        op, left, right = self.expr
        left_of = left.evaluator(slot_of) if isinstance(left, Dim) else _constant(left)
        right_of = right.evaluator(slot_of) if isinstance(right, Dim) else _constant(right)
        return lambda values: op(left_of(values), right_of(values))


class StaticShape(tuple):
    """A symbolic tensor's shape: a tuple of ints and ``Dim``s (unknown sizes), which
    prints ``None`` for those; ``as_list()`` gives them as ``None`` itself."""

    __slots__ = ()

    def as_list(self) -> list[int | None]:
        """The sizes, with ``None`` for each unknown one (TensorFlow's name)."""
        return [None if isinstance(n, Dim) else n for n in self]


def _constant(value: int) -> Evaluator:
    return lambda values: value


def _combine(op: Callable[[int, int], int], left: Any, right: Any) -> Any:
    """``op(left, right)`` where at least one side is a Dim; another int subclass (bool)
    or a non-integer is left to ``int``'s own arithmetic."""
    if not all(isinstance(v, int) for v in (left, right)):
        return NotImplemented
    example = op(int(left), int(right))
    alt = op(left.alt if isinstance(left, Dim) else left,
             right.alt if isinstance(right, Dim) else right)
    return Dim(example, alt, (op, left, right))


def contains_dim(value: Any) -> bool:
    """Whether ``value`` is a Dim or a tuple/list holding one at any depth."""
    if isinstance(value, Dim):
        return True
    if isinstance(value, (tuple, list)):
        return any(contains_dim(v) for v in value)
    return False


def alt_value(value: Any) -> Any:
    """``value`` with every Dim replaced by its size in the second set of examples."""
    if isinstance(value, Dim):
        return value.alt
    if isinstance(value, (tuple, list)):
        return type(value)(alt_value(v) for v in value)
    return value


def concrete(value: Any) -> Any:
    """``value`` (a dict, tuple or list at any depth) with every Dim replaced by a plain
    ``int`` of its example size: NumPy does not treat an int subclass as a Python int
    when choosing a result's dtype."""
    if isinstance(value, Dim):
        return int(value)
    if isinstance(value, (tuple, list)):
        return type(value)(concrete(v) for v in value)
    if isinstance(value, dict):
        return {k: concrete(v) for k, v in value.items()}
    return value
