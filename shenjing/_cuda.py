"""The CuPy ElementwiseKernel compile cache shared by the fused GPU kernels.

The LSTM and GRU steps (``ops/_cuda_kernels.py``) and the optimizer updates
(``optim/_cuda_kernels.py``) each write their math as a CuPy ElementwiseKernel. Both
need the same two things: whether the array module takes such kernels at all, and a
kernel built once per name. CuPy itself is never imported here; ``xp`` is passed in, so
this module is safe to import where CuPy is not installed.

Tests without a GPU register a host compiler for the strict CuPy stand-in
(``host_kernels``; ``shenjing.testing.host_kernels`` compiles the same kernel text as
C++), so the kernels' own source runs, and is checked, on the CPU.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from types import ModuleType
from typing import Any

__all__ = ["available", "elementwise_kernel", "host_kernels", "is_cupy"]

_kernels: dict[tuple[str, str], Any] = {}
_HOST: dict[str, Callable[..., Any]] = {}


def is_cupy(xp: ModuleType) -> bool:
    """Whether ``xp`` is CuPy itself."""
    return xp.__name__ == "cupy"


def available(xp: ModuleType) -> bool:
    """Whether ``xp`` takes the fused ElementwiseKernels: CuPy (unless
    ``SHENJING_KERNELS=0``, which then runs the ops' array code on CuPy, a way around a
    kernel that fails to compile), or a module given a host compiler with
    ``host_kernels`` (in tests, whatever the variable says)."""
    name = xp.__name__
    if name == "cupy":
        return os.environ.get("SHENJING_KERNELS", "1") != "0"
    return name in _HOST


def host_kernels(module_name: str, factory: Callable[..., Any] | None) -> None:
    """Build the kernels of arrays of module ``module_name`` with
    ``factory(params, outputs, body, name)`` (called like ``cupy.ElementwiseKernel``);
    None removes it."""
    if factory is None:
        _HOST.pop(module_name, None)
    else:
        _HOST[module_name] = factory
    for key in [k for k in _kernels if k[0] == module_name]:
        del _kernels[key]


def elementwise_kernel(xp: ModuleType, name: str, params: str, outputs: str,
                       body: str) -> Any:
    """The ElementwiseKernel ``name``, built from ``params``, ``outputs`` and ``body``.

    Names are global: every caller prefixes its own with ``shenjing_`` and the op.
    """
    key = (xp.__name__, name)
    kernel = _kernels.get(key)
    if kernel is None:  # compiled on first use, then cached by CuPy on disk
        build = _HOST.get(xp.__name__, getattr(xp, "ElementwiseKernel", None))
        kernel = _kernels[key] = build(params, outputs, body, name)
    return kernel
