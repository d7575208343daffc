"""``einsum``: sums of products over named indices, differentiable in every operand.

The gradient of one operand is itself an einsum: of the output's gradient with the other
operands, onto that operand's indices. Two cases need more than that one call: an index
that appears only in that operand (summed away in the forward pass) comes back by
broadcasting, and an index repeated within it (a diagonal, as in "ii->") is written
back onto that diagonal.
"""

from __future__ import annotations

import string
from collections.abc import Sequence
from typing import Any

from shenjing.autograd.function import Function
from shenjing.backend import get_array_module
from shenjing.tensor import Tensor, as_tensor

__all__ = ["einsum"]


def parse(equation: str, shapes: Sequence[tuple[int, ...]]) -> tuple[list[str], str]:
    """The operands' index letters and the output's, with every "..." spelled out as
    letters the equation does not use, and an implicit output (no "->") made explicit:
    the letters that occur once, in alphabetical order, after the ellipsis letters."""
    equation = equation.replace(" ", "")
    lhs, arrow, rhs = equation.partition("->")
    terms = lhs.split(",")
    if len(terms) != len(shapes):
        raise ValueError(f"einsum: the equation {equation!r} has {len(terms)} operands. "
                         f"Received: {len(shapes)} tensors")
    free = [c for c in string.ascii_letters if c not in equation]
    ellipsis_rank = 0
    for term, shape in zip(terms, shapes, strict=True):
        letters = len(term.replace("...", ""))
        if "..." in term:
            ellipsis_rank = max(ellipsis_rank, len(shape) - letters)
        elif letters != len(shape):
            raise ValueError(f"einsum: term {term!r} names {letters} dims of a tensor of "
                             f"shape {shape}")
    spelled = "".join(free[:ellipsis_rank])
    expanded = []
    for term, shape in zip(terms, shapes, strict=True):
        if "..." in term:
            rank = len(shape) - len(term.replace("...", ""))
            term = term.replace("...", spelled[ellipsis_rank - rank:])
        expanded.append(term)
    if arrow:
        output = rhs.replace("...", spelled)
    else:
        joined = "".join(expanded)
        output = spelled + "".join(
            sorted(c for c in set(joined) if joined.count(c) == 1 and c not in spelled))
    return expanded, output


class Einsum(Function):
    """y = einsum(terms -> output, x₁, …, xₙ);
    gxₖ = einsum(output, x_{j≠k} -> termₖ) of gy and the other operands, broadcast over
    the indices only xₖ has, placed on the diagonal of an index xₖ repeats, and summed
    over the size-1 dims that broadcasting stretched."""

    def forward(self, *xs: Any, terms: list[str], output: str) -> Any:
        xp = get_array_module(xs[0])
        self.terms, self.output = terms, output
        self.sizes = sizes = {}
        for term, x in zip(terms, xs, strict=True):
            for c, n in zip(term, x.shape, strict=True):
                if sizes.get(c, 1) not in (1, n) and n != 1:
                    raise ValueError(f"einsum: index {c!r} has sizes {sizes[c]} and {n}")
                sizes[c] = max(sizes.get(c, 1), n)
        self.xs = xs
        equation = ",".join(terms) + "->" + output
        # NOTE: optimize lets NumPy hand products to BLAS (tensordot): 4x on "ij,kj->ik".
        return xp.einsum(equation, *xs, optimize=len(xs) > 1)

    def backward(self, gy: Any) -> tuple[Any, ...]:
        xp = get_array_module(gy)
        grads = []
        for k, (term, x) in enumerate(zip(self.terms, self.xs, strict=True)):
            if not self.needs_input_grad[k]:
                grads.append(None)
                continue
            others = [(t, o) for j, (t, o) in enumerate(zip(self.terms, self.xs, strict=True))
                      if j != k]
            present = set(self.output).union(*(t for t, _ in others))
            unique = "".join(dict.fromkeys(term))
            reachable = "".join(c for c in unique if c in present)
            g = xp.einsum(",".join([self.output, *(t for t, _ in others)]) + "->" + reachable,
                          gy, *(o for _, o in others), optimize=bool(others))
            # Indices only this operand has were summed away: every element got gy.
            full = tuple(self.sizes[c] for c in unique)
            lined_up = [g.shape[reachable.index(c)] if c in reachable else 1 for c in unique]
            g = xp.broadcast_to(g.reshape(lined_up), full)
            grads.append(self._onto(g, unique, term, x.shape, xp))
        return tuple(grads)

    def _onto(self, g: Any, unique: str, term: str, shape: tuple[int, ...], xp: Any) -> Any:
        """g over the distinct indices ``unique``, written onto x's dims ``term`` (a
        repeated index puts g on a diagonal) and summed over x's broadcast size-1 dims."""
        if len(unique) != len(term):
            dims = [self.sizes[c] for c in term]
            out = xp.zeros(dims, dtype=g.dtype)
            index = tuple(
                xp.arange(self.sizes[c]).reshape(
                    [-1 if u == c else 1 for u in unique]) for c in term)
            out[index] = g
            g = out
        stretched = tuple(i for i, n in enumerate(shape) if n == 1 and g.shape[i] != 1)
        return g.sum(axis=stretched, keepdims=True) if stretched else g


def einsum(equation: str, *operands: Any) -> Tensor:
    """Sums of products over named indices, as PyTorch's and NumPy's einsum ("ij,jk->ik"
    is a matrix product, "ii->" a trace, "...ij->...ji" a batched transpose).

    Example:
        >>> import shenjing as sj
        >>> sj.einsum("ij,j->i", sj.ones(2, 3), sj.ones(3)).tolist()
        [3.0, 3.0]
    """
    if len(operands) == 1 and isinstance(operands[0], (list, tuple)):
        operands = tuple(operands[0])
    if not isinstance(equation, str) or not operands:
        raise TypeError("einsum: expects an equation string and one or more tensors")
    tensors = [as_tensor(t) for t in operands]
    terms, output = parse(equation, [t.shape for t in tensors])
    return Einsum.apply(*tensors, terms=terms, output=output)
