"""In-place writes and the backward pass: PyTorch's version-counter checks, done lazily.

An in-place write (``t.add_(1)``, ``t[i] = v``, ...) takes a number from the same count
that numbers recorded nodes (``function.note_write``), so "recorded before the write" is
an integer comparison. The write leaves three marks, all outside the hot path:

- ``t._written_at``: the number of the last write through the tensor ``t``;
- ``t._history``: when the write was recorded for autograd, ``t`` got a new ``grad_fn``
  (the in-place op's node); the list keeps what ``t`` was before each such rebase
  (number, old ``grad_fn``, old ``requires_grad``), because nodes recorded earlier hold
  ``t`` itself as their input and must still send their gradient to the old history;
- ``_written_outputs`` on the node that made ``t``: its output was overwritten.

The walk calls ``inputs_as_recorded`` only for a node recorded before the last write
anywhere. It raises PyTorch's error when the node kept (for its backward) an array
sharing memory with one written after it was recorded (an input or its own output), and
otherwise gives the inputs as they were when the node was recorded.

Not tracked, as in PyTorch for ``.data``: writes through another tensor object that
shares the memory (``t.data``, ``t.detach()``, a view).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from shenjing.autograd import function
from shenjing.backend import get_array_module, is_array

if TYPE_CHECKING:
    from shenjing.autograd.function import Function
    from shenjing.tensor import Tensor

_NOT_SAVED = frozenset({"inputs", "needs_input_grad", "order", "_written_outputs"})


def _saved_shares_memory(fn: Function, array: Any) -> bool:
    """Whether ``fn`` kept, for its backward, an array that may share memory with
    ``array`` (its attributes, and the entries of tuples and lists among them). An op
    may say, in ``saved_for``, which input's gradient needs an attribute: it does not
    count when that input needs none (PyTorch saves it only then)."""
    xp = get_array_module(array)
    saved_for = getattr(fn, "saved_for", {})
    for key, value in fn.__dict__.items():
        if key in _NOT_SAVED:
            continue
        if key in saved_for and not fn.needs_input_grad[saved_for[key]]:
            continue
        for saved in value if isinstance(value, (tuple, list)) else (value,):
            if (is_array(saved) and saved.size and get_array_module(saved) is xp
                    and xp.may_share_memory(saved, array)):
                return True
    return False


def _modified_error(fn: Function, array: Any, which: str = "") -> RuntimeError:
    return RuntimeError(
        "one of the variables needed for gradient computation has been modified by an "
        f"inplace operation: [{array.dtype} {tuple(array.shape)}]{which}; "
        f"{type(fn).__name__} saved it for its backward before it was written. Hint: write "
        "into a clone() instead, or use the out-of-place op."
    )


def inputs_as_recorded(fn: Function, inputs: tuple[Tensor, ...]) -> tuple[Tensor, ...]:
    """``fn``'s inputs as they were when ``fn`` was recorded, after checking that no
    array ``fn`` saved was overwritten since."""
    order = fn.order
    for stamp, array in fn.__dict__.get("_written_outputs", ()):
        if stamp > order and _saved_shares_memory(fn, array):
            raise _modified_error(fn, array, f", which is output 0 of {type(fn).__name__}")
    result = None
    for i, t in enumerate(inputs):
        if getattr(t, "_written_at", -1) <= order:
            continue
        if _saved_shares_memory(fn, t.array):
            raise _modified_error(fn, t.array)
        for stamp, grad_fn, requires_grad in getattr(t, "_history", ()):
            if stamp > order:  # the first rebase after fn: what t was when fn saw it
                before = function.make_tensor(t.array, grad_fn)
                before.requires_grad = requires_grad
                result = list(inputs) if result is None else result
                result[i] = before
                break
    return inputs if result is None else tuple(result)


def mark_write(t: Tensor) -> int:
    """Record an in-place write through ``t`` (whatever the grad mode); returns its
    number. The node that made ``t``, if any, learns that its output was overwritten."""
    stamp = function.note_write()
    t._written_at = stamp
    producer = t.grad_fn
    if producer is not None:
        producer.__dict__.setdefault("_written_outputs", []).append((stamp, t.array))
    return stamp


def rebase(t: Tensor, result: Tensor, stamp: int) -> None:
    """Make ``result``'s node the history of ``t``, whose array now holds ``result``'s
    values; nodes recorded before ``stamp`` keep seeing the old history."""
    history = getattr(t, "_history", None)
    if history is None:
        history = t._history = []
    history.append((stamp, t.grad_fn, t.requires_grad))
    t.grad_fn = result.grad_fn
    t.requires_grad = result.requires_grad
