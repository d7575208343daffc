"""Apple's Metal backend, as ``torch.backends.mps``: not supported by shenjing."""

from __future__ import annotations

__all__ = ["is_available", "is_built"]


def is_available() -> bool:
    """False: shenjing runs on NumPy (CPU) and CuPy (CUDA) only."""
    return False


def is_built() -> bool:
    """False: shenjing has no Metal backend."""
    return False
