"""``shenjing.cuda``: whether a GPU is usable, as ``torch.cuda``.

The GPU backend is CuPy (``pip install 'shenjing[cuda]'``); without it, or without a
visible GPU, ``is_available()`` is False and everything runs on NumPy as before.
"""

from __future__ import annotations

from shenjing import backend

__all__ = ["device_count", "is_available", "synchronize"]


def device_count() -> int:
    """How many GPUs CuPy sees (0 without CuPy)."""
    return backend.device_count("cuda")


def is_available() -> bool:
    """True when CuPy is installed and sees at least one GPU."""
    return device_count() > 0


def synchronize() -> None:
    """Wait for every kernel queued on the current GPU (for timing); a no-op without one."""
    if is_available():
        backend.device_type("cuda").xp.cuda.Device().synchronize()
