"""``Function``: one node of the computation graph, an op's forward and backward together."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from shenjing.autograd.grad_mode import GradMode
from shenjing.backend import device_of

if TYPE_CHECKING:
    from shenjing.tensor import Tensor


def make_tensor(data: Any, grad_fn: Function | None) -> Tensor:
    """Wrap an op's output array; replaced by ``Tensor._make`` when shenjing.tensor loads.

    This module cannot import tensor.py itself: tensor.py imports the ops, which import
    this module.
    """
    raise RuntimeError("shenjing.tensor has not been imported")


# Graph mode (shenjing/graph/graph.py) sets this while any graph exists: given
# (cls, inputs, params) it returns the symbolic output when the call builds a graph
# operation, else None. Plain eager code pays one global lookup for it.
graph_hook: Callable[[type[Function], tuple, dict], Tensor | None] | None = None


# The dtype rules of mixed precision (shenjing/amp/autocast_mode.py) set this while
# autocast is on or once bfloat16 exists: given (cls, inputs, params) it returns the
# output when it ran the op in other dtypes (autocast's casts, bfloat16 computed in
# float32), else None. Until then plain code pays one global lookup for it.
dtype_hook: Callable[[type[Function], tuple, dict], Tensor | None] | None = None


_recorded = itertools.count()  # numbers the recorded nodes in the order they were made

# The number (from the same count) of the last in-place write through a tensor; -1 before
# any. The backward walk checks a node against in-place writes only when it was recorded
# before this (see shenjing.autograd.versions): one integer comparison per node otherwise.
last_write = -1


def note_write() -> int:
    """Number an in-place write (after every node recorded so far) and remember it."""
    global last_write
    last_write = next(_recorded)
    return last_write


class Function:
    """Base class of every differentiable op.

    A subclass implements ``forward(*arrays, **params)``, which takes and returns raw
    arrays and keeps on ``self`` what backward needs, and ``backward(gy)``, which gets the
    gradient of the loss with respect to the output and returns one gradient per input
    (an array, or ``None`` for an input that needs none), or a bare array when the op
    has a single input. ``self.needs_input_grad`` says which inputs want a gradient.

    Ops are called through ``apply``, which records the node in the graph only when
    recording is on and some input requires a gradient.
    """

    inputs: tuple[Tensor, ...]
    needs_input_grad: tuple[bool, ...]
    order = -1  # when recorded: see ``_recorded`` (a freed node falls back to this)

    def forward(self, *xs: Any, **params: Any) -> Any:
        """Compute the output array from input arrays."""
        raise NotImplementedError

    def backward(self, gy: Any) -> Any:
        """Map the output's gradient to the inputs' gradients."""
        raise NotImplementedError

    @classmethod
    def apply(cls, *inputs: Tensor, **params: Any) -> Tensor:
        """Run the op on tensors and, if any input needs a gradient, record it."""
        if graph_hook is not None:
            built = graph_hook(cls, inputs, params)
            if built is not None:
                return built
        if dtype_hook is not None:
            out = dtype_hook(cls, inputs, params)
            if out is not None:
                return out
        return cls.apply_plain(inputs, params)

    @classmethod
    def apply_plain(cls, inputs: tuple[Tensor, ...], params: dict[str, Any]) -> Tensor:
        """``apply`` without the graph-mode and dtype hooks: the op on these very tensors."""
        if len(inputs) > 1:
            _check_same_device(cls, inputs)
        fn = cls()
        if GradMode.enabled:
            needs = tuple([t.requires_grad for t in inputs])
            if True in needs:
                fn.order = next(_recorded)
                fn.needs_input_grad = needs
                out = fn.forward(*[t.array for t in inputs], **params)
                fn.inputs = inputs
                return make_tensor(out, fn)
        return make_tensor(fn.forward(*[t.array for t in inputs], **params), None)

    def __repr__(self) -> str:
        return f"<{type(self).__name__}>"


def _check_same_device(cls: type[Function], inputs: tuple[Tensor, ...]) -> None:
    """Raise when an op's inputs live on different devices.

    Only the array types are compared (a few pointer checks per op); the device is looked
    up only when they differ, to name both in the error.
    """
    first = type(inputs[0].array)
    for t in inputs[1:]:
        if type(t.array) is not first:
            a, b = device_of(inputs[0].array), device_of(t.array)
            if a != b:
                raise RuntimeError(
                    f"{cls.__name__}: expected all tensors on the same device. Received: "
                    f"tensors on {a} and {b}; move one with .to(device)"
                )
