"""``Parameter``: a tensor that a ``Module`` owns and an optimizer updates."""

from __future__ import annotations

from typing import Any

from shenjing.tensor import Tensor


class Parameter(Tensor):
    """A leaf tensor that is part of a module's learnable state.

    Assigning a ``Parameter`` to a module attribute registers it, so it appears in
    ``module.parameters()`` and ``module.state_dict()``. A parameter requires a gradient
    unless told otherwise.

    Args:
        data: a Tensor (its array is shared, not copied) or array-like data (copied;
            floats become float32 as for ``sj.tensor``).
        requires_grad: whether ``backward()`` fills ``.grad``.

    Example:
        >>> import shenjing as sj
        >>> import shenjing.nn as nn
        >>> w = nn.Parameter(sj.zeros(2, 3))
        >>> w.requires_grad, w.is_leaf
        (True, True)
    """

    __slots__ = ()

    def __init__(self, data: Any, requires_grad: bool = True) -> None:
        if isinstance(data, Tensor):
            # Share the array, as PyTorch does: ``Parameter(sj.randn(3))`` copies nothing.
            self.array = data.array
            self.grad = None
            self.grad_fn = None
            self.name = data.name
            self.requires_grad = False
        else:
            super().__init__(data)
        if requires_grad:
            self.requires_grad_(True)

    def __repr__(self) -> str:
        return "Parameter containing:\n" + super().__repr__()
