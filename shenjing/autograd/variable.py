"""``autograd.Variable``: PyTorch's pre-0.4 wrapper, which since 0.4 makes a Tensor.

``Variable(t, requires_grad=r)`` is a tensor sharing ``t``'s memory, without history (a
leaf), requiring a gradient when ``r`` is set: ``t.detach().requires_grad_(r)``. Old
programs (``Variable(x)`` around every input) run unchanged.
"""

from __future__ import annotations

import warnings
from typing import Any

__all__ = ["Variable"]


def Variable(data: Any, requires_grad: bool = False, volatile: bool = False) -> Any:
    """``data`` as a leaf tensor sharing its memory, with ``requires_grad`` as given."""
    from shenjing.tensor import Tensor

    if not isinstance(data, Tensor):
        raise TypeError(f"Variable data has to be a tensor, but got {type(data).__name__}")
    if volatile:
        warnings.warn("volatile was removed and now has no effect. Use `with "
                      "shenjing.no_grad():` instead.", UserWarning, stacklevel=2)
    return data.detach().requires_grad_(bool(requires_grad))
