"""The CuPy ElementwiseKernel compile cache shared by the fused GPU kernels.

The LSTM step (``ops/_cuda_kernels.py``) and the optimizer updates
(``optim/_cuda_kernels.py``) each write their math as a CuPy ElementwiseKernel. Both
need the same two things: whether the array module is CuPy at all, and a kernel built
once per name. CuPy itself is never imported here; ``xp`` is passed in, so this module is
safe to import where CuPy is not installed.
"""

from __future__ import annotations

from types import ModuleType
from typing import Any

__all__ = ["available", "elementwise_kernel"]

_kernels: dict[str, Any] = {}


def available(xp: ModuleType) -> bool:
    """Whether ``xp`` is CuPy, whose ElementwiseKernel the fused kernels need."""
    return xp.__name__ == "cupy"


def elementwise_kernel(xp: ModuleType, name: str, params: str, outputs: str,
                       body: str) -> Any:
    """The ElementwiseKernel ``name``, built from ``params``, ``outputs`` and ``body``.

    Names are global: every caller prefixes its own with ``shenjing_`` and the op.
    """
    kernel = _kernels.get(name)
    if kernel is None:  # compiled on first use, then cached by CuPy on disk
        kernel = _kernels[name] = xp.ElementwiseKernel(params, outputs, body, name)
    return kernel
