"""cuDNN's switches, as ``torch.backends.cudnn``: settings that programs write and read.

shenjing does not call cuDNN, so ``is_available()`` is False and ``version()`` None; the
flags keep what is assigned to them, and every run is deterministic whatever they say.
"""

from __future__ import annotations

__all__ = ["allow_tf32", "benchmark", "deterministic", "enabled", "is_available", "version"]

enabled: bool = True
benchmark: bool = False
deterministic: bool = False
allow_tf32: bool = True


def is_available() -> bool:
    """False: shenjing's GPU path does not use cuDNN."""
    return False


def version() -> int | None:
    """None: no cuDNN library is loaded."""
    return None
