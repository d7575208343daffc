"""The backward pass: reverse-mode differentiation over the recorded graph.

The graph is walked without recursion (deep RNN graphs would hit Python's recursion
limit). ``Function.apply`` numbers each node it records, in order, and an op's inputs
are always recorded before the op; so of the nodes waiting for their turn, the one
recorded last has already received the gradients of every op that consumed its output,
and runs next (a heap keeps them in that order). Gradients sent to the same tensor are
*added*, which is what makes fan-out (a tensor used twice) correct. Unlike counting each
node's consumers first, this needs no pass over the graph before the backward one.
"""

from __future__ import annotations

from heapq import heappop, heappush
from typing import TYPE_CHECKING, Any

from shenjing.autograd import function

if TYPE_CHECKING:
    from shenjing.tensor import Tensor

FREED_GRAPH = (
    "Trying to backward through the graph a second time, or after its saved values were "
    "freed. Pass retain_graph=True to the first backward() to keep them."
)


def backward(root: Tensor, gradient: Any, retain_graph: bool = False) -> None:
    """Accumulate d(root)/d(leaf), weighted by ``gradient``, into every leaf's ``.grad``."""
    # Arrays already handed to a leaf: a second leaf receiving the same array (``add``
    # passes its gradient through to both inputs) must get its own copy.
    handed_out = {id(gradient)}
    leaf_grads: dict[int, tuple[Tensor, Any]] = {}
    if root.grad_fn is None:
        leaf_grads[id(root)] = (root, gradient)
    else:
        # A node runs only after every node that consumes its output: those were
        # recorded after it, so the latest-recorded node waiting is always safe to run.
        pending = {root.grad_fn: gradient}
        ready = [(-root.grad_fn.order, root.grad_fn)]
        while ready:
            fn = heappop(ready)[1]
            gy = pending.pop(fn)
            inputs = fn.__dict__.get("inputs")
            if inputs is None:
                raise RuntimeError(FREED_GRAPH)
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
                elif parent in pending:
                    if g is not None:
                        previous = pending[parent]
                        pending[parent] = g if previous is None else previous + g
                else:
                    pending[parent] = g
                    heappush(ready, (-parent.order, parent))
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
