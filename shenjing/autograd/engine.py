"""The backward pass: reverse-mode differentiation over the recorded graph.

The graph is walked without recursion (deep RNN graphs would hit Python's recursion
limit): one pass counts, for every node, how many recorded ops consume its output; then
Kahn's algorithm runs each node's ``backward`` once all of its consumers have sent their
gradient. Gradients sent to the same tensor are *added*, which is what makes fan-out
(a tensor used twice) correct.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from shenjing.autograd import function

if TYPE_CHECKING:
    from shenjing.autograd.function import Function
    from shenjing.tensor import Tensor

FREED_GRAPH = (
    "Trying to backward through the graph a second time, or after its saved values were "
    "freed. Pass retain_graph=True to the first backward() to keep them."
)


def _count_consumers(root: Function) -> dict[Function, int]:
    """For each node reachable from ``root``, how many recorded ops use its output."""
    consumers = {root: 0}
    stack = [root]
    while stack:
        fn = stack.pop()
        inputs = fn.__dict__.get("inputs")
        if inputs is None:
            raise RuntimeError(FREED_GRAPH)
        for t in inputs:
            parent = t.grad_fn
            if parent is None:
                continue
            if parent in consumers:
                consumers[parent] += 1
            else:
                consumers[parent] = 1
                stack.append(parent)
    return consumers


def backward(root: Tensor, gradient: Any, retain_graph: bool = False) -> None:
    """Accumulate d(root)/d(leaf), weighted by ``gradient``, into every leaf's ``.grad``."""
    # Arrays already handed to a leaf: a second leaf receiving the same array (``add``
    # passes its gradient through to both inputs) must get its own copy.
    handed_out = {id(gradient)}
    leaf_grads: dict[int, tuple[Tensor, Any]] = {}
    if root.grad_fn is None:
        leaf_grads[id(root)] = (root, gradient)
    else:
        consumers = _count_consumers(root.grad_fn)
        pending = {root.grad_fn: gradient}
        ready = [root.grad_fn]
        while ready:
            fn = ready.pop()
            gy = pending.pop(fn, None)
            inputs = fn.inputs
            if gy is None:  # no gradient reached this node (e.g. through ``step``)
                grads: tuple = (None,) * len(inputs)
            else:
                grads = fn.backward(gy)
                if type(grads) is not tuple:
                    grads = (grads,)
            for t, g in zip(inputs, grads, strict=True):
                if not t.requires_grad:
                    continue
                if g is not None and g.shape != t.data.shape:
                    raise RuntimeError(
                        f"{type(fn).__name__}.backward returned a gradient of shape "
                        f"{g.shape} for an input of shape {t.data.shape}"
                    )
                parent = t.grad_fn
                if parent is None:
                    if g is not None:
                        entry = leaf_grads.get(id(t))
                        leaf_grads[id(t)] = (t, g) if entry is None else (t, entry[1] + g)
                    continue
                if g is not None:
                    previous = pending.get(parent)
                    pending[parent] = g if previous is None else previous + g
                consumers[parent] -= 1
                if consumers[parent] == 0:
                    ready.append(parent)
            if not retain_graph:
                fn.__dict__.clear()  # drop saved arrays and the links to inputs

    for t, g in leaf_grads.values():
        if g.dtype != t.data.dtype:
            g = g.astype(t.data.dtype)
        elif g.base is not None or id(g) in handed_out:
            g = g.copy()
        handed_out.add(id(g))
        if t.grad is None:
            t.grad = function.make_tensor(g, None)
        else:
            t.grad.data += g
