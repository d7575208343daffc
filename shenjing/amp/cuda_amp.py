"""``shenjing.cuda.amp``: PyTorch's older spelling of ``amp`` for the GPU.

``torch.cuda.amp.autocast(...)`` is ``torch.amp.autocast("cuda", ...)`` and
``torch.cuda.amp.GradScaler(...)`` is ``torch.amp.GradScaler("cuda", ...)``; PyTorch
deprecates both with a FutureWarning, and so does this module. Programs written for it
(``from torch.cuda.amp import autocast``, ``@autocast()`` on ``forward``) run unchanged.

``shenjing.cuda`` sits below the engine, so it cannot import ``amp``; ``amp`` registers
this module as ``shenjing.cuda.amp`` instead (the floor above registers the convenience).
"""

from __future__ import annotations

import sys
import warnings
from typing import Any

from shenjing import cuda
from shenjing.amp.autocast_mode import autocast as _autocast
from shenjing.amp.grad_scaler import GradScaler as _GradScaler

__all__ = ["GradScaler", "autocast"]


class autocast(_autocast):
    """``amp.autocast("cuda", dtype, enabled, cache_enabled)``, deprecated as in PyTorch.

    Only ops on CUDA tensors are autocast, so on CPU tensors it changes nothing.
    """

    def __init__(self, enabled: bool = True, dtype: Any = "float16",
                 cache_enabled: bool = True) -> None:
        warnings.warn(
            "`shenjing.cuda.amp.autocast(args...)` is deprecated. Please use "
            "`shenjing.amp.autocast('cuda', args...)` instead.", FutureWarning, stacklevel=2)
        super().__init__("cuda", dtype=dtype, enabled=enabled, cache_enabled=cache_enabled)


class GradScaler(_GradScaler):
    """``amp.GradScaler("cuda", ...)``, deprecated as in PyTorch."""

    def __init__(self, init_scale: float = 2.0**16, growth_factor: float = 2.0,
                 backoff_factor: float = 0.5, growth_interval: int = 2000,
                 enabled: bool = True) -> None:
        warnings.warn(
            "`shenjing.cuda.amp.GradScaler(args...)` is deprecated. Please use "
            "`shenjing.amp.GradScaler('cuda', args...)` instead.", FutureWarning,
            stacklevel=2)
        super().__init__("cuda", init_scale=init_scale, growth_factor=growth_factor,
                         backoff_factor=backoff_factor, growth_interval=growth_interval,
                         enabled=enabled)


def register() -> None:
    """Make ``import shenjing.cuda.amp`` and ``shenjing.cuda.amp.autocast`` work."""
    module = sys.modules[__name__]
    sys.modules["shenjing.cuda.amp"] = module
    cuda.amp = module  # type: ignore[attr-defined]
