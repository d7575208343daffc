"""The backward pass: reverse-mode differentiation over the recorded graph.

The graph is walked without recursion (deep RNN graphs would hit Python's recursion
limit). ``Function.apply`` numbers each node it records, in order, and an op's inputs
are always recorded before the op; so of the nodes waiting for their turn, the one
recorded last has already received the gradients of every op that consumed its output,
and runs next (a heap keeps them in that order). Gradients sent to the same tensor are
*added*, which is what makes fan-out (a tensor used twice) correct. Unlike counting each
node's consumers first, this needs no pass over the graph before the backward one.

Hooks (what data-parallel training needs): ``Tensor.register_post_accumulate_grad_hook``
runs a hook as soon as a leaf's gradient for this pass is complete, while the rest of the
graph is still being walked, and ``queue_callback`` runs a function when the pass ends.
Only when some leaf has a hook does a backward pass count, before walking, how many
graph edges reach each hooked leaf; otherwise it pays one dict check.
"""

from __future__ import annotations

import itertools
import weakref
from collections.abc import Callable
from heapq import heappop, heappush
from typing import TYPE_CHECKING, Any

from shenjing.autograd import function, versions

if TYPE_CHECKING:
    from shenjing.tensor import Tensor

FREED_GRAPH = (
    "Trying to backward through the graph a second time, or after its saved values were "
    "freed. Pass retain_graph=True to the first backward() to keep them."
)

# id(leaf) -> (weak reference to the leaf, {handle id: hook}). Keyed by id, not by the
# tensor, because Tensor.__eq__ is elementwise; the weak reference drops the entry when
# the leaf dies.
_post_accumulate_hooks: dict[int, tuple[weakref.ref, dict[int, Callable[[Tensor], None]]]] = {}
_handle_ids = itertools.count()
_callbacks: list[Callable[[], None]] | None = None  # a list only while a pass runs


class RemovableHandle:
    """What a hook registration returns; ``remove()`` unregisters the hook."""

    def __init__(self, key: int, handle_id: int) -> None:
        self._key = key
        self._id = handle_id

    def remove(self) -> None:
        """Unregister the hook (a no-op when it is already gone)."""
        entry = _post_accumulate_hooks.get(self._key)
        if entry is not None:
            entry[1].pop(self._id, None)
            if not entry[1]:
                del _post_accumulate_hooks[self._key]


def register_post_accumulate_grad_hook(
    leaf: Tensor, hook: Callable[[Tensor], None]
) -> RemovableHandle:
    """Call ``hook(leaf)`` each time a backward pass has finished adding into ``leaf.grad``."""
    key = id(leaf)
    entry = _post_accumulate_hooks.get(key)
    if entry is None or entry[0]() is not leaf:
        # The registry is bound as a default: at interpreter exit the global may be gone.
        ref = weakref.ref(leaf, lambda _, k=key, hooks=_post_accumulate_hooks: hooks.pop(k, None))
        entry = _post_accumulate_hooks[key] = (ref, {})
    handle_id = next(_handle_ids)
    entry[1][handle_id] = hook
    return RemovableHandle(key, handle_id)


def queue_callback(callback: Callable[[], None]) -> None:
    """Run ``callback()`` once the backward pass now running has filled every ``.grad``.

    Only valid from inside a backward pass (e.g. from a gradient hook), as in PyTorch's
    ``Variable._execution_engine.queue_callback``.
    """
    if _callbacks is None:
        raise RuntimeError("queue_callback: no backward pass is running")
    _callbacks.append(callback)


def current_pass() -> object | None:
    """A token for the backward pass now running (a fresh one per pass), None outside.

    A hook that must queue its callback once per pass compares tokens: a flag would stay
    set after a pass that raised half-way.
    """
    return _callbacks


def _count_hooked_uses(root: Tensor) -> dict[int, int]:
    """For each hooked leaf that ``root`` depends on, the number of graph edges into it."""
    counts: dict[int, int] = {}
    if root.grad_fn is None:
        return counts
    seen = {root.grad_fn}
    stack = [root.grad_fn]
    while stack:
        inputs = stack.pop().__dict__.get("inputs")
        if inputs is None:  # a freed graph: the walk itself reports it
            continue
        for t in inputs:
            if not t.requires_grad:
                continue
            parent = t.grad_fn
            if parent is None:
                if id(t) in _post_accumulate_hooks:
                    counts[id(t)] = counts.get(id(t), 0) + 1
            elif parent not in seen:
                seen.add(parent)
                stack.append(parent)
    return counts


def _accumulate(t: Tensor, g: Any, handed_out: set[int], copy: bool) -> None:
    """Add ``g`` into ``t.grad``, copying when the array may be shared with someone else."""
    if g.dtype != t.array.dtype:
        g = g.astype(t.array.dtype)
    elif copy or g.base is not None or id(g) in handed_out:
        g = g.copy()
    handed_out.add(id(g))
    if t.grad is None:
        t.grad = function.make_tensor(g, None)
    else:
        t.grad.array += g


def _run_hooks(t: Tensor) -> None:
    entry = _post_accumulate_hooks.get(id(t))
    if entry is not None:
        for hook in list(entry[1].values()):
            hook(t)


def backward(root: Tensor, gradient: Any, retain_graph: bool = False) -> None:
    """Accumulate d(root)/d(leaf), weighted by ``gradient``, into every leaf's ``.grad``.

    Then run the callbacks that hooks queued during the pass (see ``queue_callback``).
    """
    global _callbacks
    outer = _callbacks
    _callbacks = []
    try:
        _walk(root, gradient, retain_graph)
        # A callback may queue another (PyTorch allows it): run until none are left.
        while _callbacks:
            _callbacks.pop(0)()
    finally:
        _callbacks = outer


def _walk(root: Tensor, gradient: Any, retain_graph: bool) -> None:
    # Arrays already handed to a leaf: a second leaf receiving the same array (``add``
    # passes its gradient through to both inputs) must get its own copy.
    handed_out = {id(gradient)}
    # Hooked leaf id -> graph edges into it still to be walked (None: no hooks anywhere).
    uses = _count_hooked_uses(root) if _post_accumulate_hooks else None
    leaf_grads: dict[int, tuple[Tensor, Any]] = {}
    if root.grad_fn is None:
        leaf_grads[id(root)] = (root, gradient)
    else:
        # A node runs only after every node that consumes its output: those were
        # recorded after it, so the latest-recorded node waiting is always safe to run.
        pending = {root.grad_fn: gradient}
        ready = [(-root.grad_fn.order, root.grad_fn)]
        last_write = function.last_write
        while ready:
            fn = heappop(ready)[1]
            gy = pending.pop(fn)
            inputs = fn.__dict__.get("inputs")
            if inputs is None:
                raise RuntimeError(FREED_GRAPH)
            if fn.order < last_write:  # an in-place write came after this node
                inputs = versions.inputs_as_recorded(fn, inputs)
            if gy is None:  # no gradient reached this node (e.g. through ``step``)
                grads: tuple = (None,) * len(inputs)
            else:
                grads = fn.backward(gy)
                if type(grads) is not tuple:
                    grads = (grads,)
            for t, g in zip(inputs, grads, strict=True):
                if not t.requires_grad:
                    continue
                if g is not None and g.shape != t.array.shape:
                    raise RuntimeError(
                        f"{type(fn).__name__}.backward returned a gradient of shape "
                        f"{g.shape} for an input of shape {t.array.shape}"
                    )
                parent = t.grad_fn
                if parent is None:
                    if g is not None:
                        entry = leaf_grads.get(id(t))
                        leaf_grads[id(t)] = (t, g) if entry is None else (t, entry[1] + g)
                    if uses is not None and id(t) in uses:
                        uses[id(t)] -= 1
                        if uses[id(t)] == 0 and id(t) in leaf_grads:
                            # Complete now: accumulate and tell the hooks while the walk
                            # goes on. Always copied, since pending nodes may share ``g``.
                            _accumulate(t, leaf_grads.pop(id(t))[1], handed_out, copy=True)
                            _run_hooks(t)
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
        _accumulate(t, g, handed_out, copy=False)
        if uses is not None:  # the root itself is a hooked leaf
            _run_hooks(t)
