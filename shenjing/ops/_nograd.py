"""One node type for the ops that have no gradient: bitwise and logical ops, tests such
as isnan, counting, nonzero, and the indices that sort, topk or cummax find.

Computing them straight from ``x.array`` would be enough eagerly, but in graph mode it
would bake one example's answer into the graph. As a ``Function`` called under
``no_grad()``, such an op records nothing eagerly and is added to a graph as a node that
runs with the real values.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from shenjing.autograd.function import Function
from shenjing.autograd.grad_mode import no_grad
from shenjing.tensor import Tensor


class NoGradient(Function):
    """y = fn(x₁, …, xₙ, **params) on arrays;  no gradient (an integer or boolean
    result, or indices)."""

    def forward(self, *xs: Any, fn: Callable[..., Any], **params: Any) -> Any:
        return fn(*xs, **params)

    def backward(self, gy: Any) -> Any:  # never reached: only applied under no_grad()
        raise RuntimeError("an op without a gradient was differentiated")


def without_gradient(fn: Callable[..., Any], *tensors: Tensor, **params: Any) -> Tensor:
    """``fn`` (arrays in, one array out) applied to ``tensors``, carrying no gradient."""
    with no_grad():
        return NoGradient.apply(*tensors, fn=fn, **params)
