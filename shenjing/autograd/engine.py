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
# id(leaf) -> (weak reference, {handle id: hook}): ``Tensor.register_hook`` on leaves.
_leaf_grad_hooks: dict[int, tuple[weakref.ref, dict[int, Callable[[Tensor], Any]]]] = {}
_handle_ids = itertools.count()
_callbacks: list[Callable[[], None]] | None = None  # a list only while a pass runs


class RemovableHandle:
    """What a hook registration returns; ``remove()`` unregisters the hook."""

    def __init__(self, hooks: dict[int, Callable], handle_id: int,
                 registry: dict[int, Any] | None = None, key: int = 0) -> None:
        self._hooks = hooks
        self._id = handle_id
        self._registry = registry  # where ``hooks`` is filed under ``key``, if anywhere
        self._key = key

    def remove(self) -> None:
        """Unregister the hook (a no-op when it is already gone)."""
        self._hooks.pop(self._id, None)
        if self._registry is not None and not self._hooks:
            entry = self._registry.get(self._key)
            if entry is not None and entry[1] is self._hooks:
                del self._registry[self._key]


def _leaf_registry_entry(
    registry: dict[int, tuple[weakref.ref, dict[int, Callable]]], leaf: Tensor
) -> dict[int, Callable]:
    """The hooks of ``leaf`` in ``registry`` (made on first use; dropped with the leaf)."""
    key = id(leaf)
    entry = registry.get(key)
    if entry is None or entry[0]() is not leaf:
        # The registry is bound as a default: at interpreter exit the global may be gone.
        ref = weakref.ref(leaf, lambda _, k=key, hooks=registry: hooks.pop(k, None))
        entry = registry[key] = (ref, {})
    return entry[1]


def register_post_accumulate_grad_hook(
    leaf: Tensor, hook: Callable[[Tensor], None]
) -> RemovableHandle:
    """Call ``hook(leaf)`` each time a backward pass has finished adding into ``leaf.grad``."""
    hooks = _leaf_registry_entry(_post_accumulate_hooks, leaf)
    handle_id = next(_handle_ids)
    hooks[handle_id] = hook
    return RemovableHandle(hooks, handle_id, _post_accumulate_hooks, id(leaf))


def register_grad_hook(t: Tensor, hook: Callable[[Tensor], Any]) -> RemovableHandle:
    """Call ``hook(grad)`` when the gradient with respect to ``t`` is complete in a pass;
    a Tensor it returns replaces the gradient (``Tensor.register_hook``).

    A leaf's hooks run before its gradient is added into ``.grad``; a non-leaf's are kept
    on the node that made it and run before that node's backward.
    """
    if t.grad_fn is None:
        hooks = _leaf_registry_entry(_leaf_grad_hooks, t)
        registry: dict | None = _leaf_grad_hooks
    else:
        hooks = t.grad_fn.__dict__.setdefault("grad_hooks", {})
        registry = None
    handle_id = next(_handle_ids)
    hooks[handle_id] = hook
    return RemovableHandle(hooks, handle_id, registry, id(t))


def retain_grad(t: Tensor) -> None:
    """Fill a non-leaf's ``.grad`` during backward passes (leaves always have one).

    Kept among the node's gradient hooks (under the key "retain", run after the others
    as in PyTorch), so that the walk checks one key per node."""
    if t.grad_fn is not None:
        t.grad_fn.__dict__.setdefault("grad_hooks", {})["retain"] = weakref.ref(t)


def _run_grad_hooks(hooks: dict[int, Callable], g: Any) -> Any:
    """``g`` after each hook has seen it and, if it returned a tensor, replaced it."""
    for key, hook in list(hooks.items()):
        if key == "retain":
            continue
        result = hook(function.make_tensor(g, None))
        if result is not None:
            replaced = getattr(result, "array", result)
            if replaced.shape != g.shape:
                raise RuntimeError(f"hook {hook!r} returned a gradient of shape "
                                   f"{replaced.shape} for a gradient of shape {g.shape}")
            g = replaced
    return g


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
    """Add ``g`` into ``t.grad``, copying when the array may be shared with someone else;
    the leaf's gradient hooks see ``g`` first."""
    if _leaf_grad_hooks:
        entry = _leaf_grad_hooks.get(id(t))
        if entry is not None:
            g = _run_grad_hooks(entry[1], g)
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
            state = fn.__dict__
            inputs = state.get("inputs")
            if inputs is None:
                raise RuntimeError(FREED_GRAPH)
            if fn.order < last_write:  # an in-place write came after this node
                inputs = versions.inputs_as_recorded(fn, inputs)
            if gy is not None and "grad_hooks" in state:
                gy = _at_non_leaf(state["grad_hooks"], gy)
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
                state.clear()  # drop saved arrays and the links to inputs

    for t, g in leaf_grads.values():
        _accumulate(t, g, handed_out, copy=False)
        if uses is not None:  # the root itself is a hooked leaf
            _run_hooks(t)


def _at_non_leaf(hooks: dict[Any, Any], gy: Any) -> Any:
    """The complete gradient of a node's output, after its tensor's hooks; kept in that
    tensor's ``.grad`` when it retains its gradient."""
    gy = _run_grad_hooks(hooks, gy)
    ref = hooks.get("retain")
    t = ref() if ref is not None else None
    if t is not None:
        if t.grad is None:
            t.grad = function.make_tensor(gy.copy(), None)
        else:
            t.grad.array += gy
    return gy
