"""``shenjing.cuda``: whether a GPU is usable, as ``torch.cuda``.

The GPU backend is CuPy (``pip install 'shenjing[cuda]'``); without it, or without a
visible GPU, ``is_available()`` is False and everything runs on NumPy as before.
"""

from __future__ import annotations

import numpy as np

from shenjing import backend

__all__ = ["device_count", "empty_cache", "is_available", "manual_seed", "manual_seed_all",
           "synchronize"]


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


def manual_seed(seed: int) -> None:
    """Seed the GPU's random generator (not the CPU's); ignored without a GPU, as in
    PyTorch, so seeding code written for either runs anywhere."""
    if not isinstance(seed, (int, np.integer)) or isinstance(seed, bool) or seed < 0:
        raise ValueError(f"cuda.manual_seed expects a non-negative integer. Received: {seed!r}")
    if is_available():
        backend.seed_device_generator(backend.device_type("cuda").xp, int(seed))


def manual_seed_all(seed: int) -> None:
    """Seed every GPU's generator: one generator serves the GPUs here, so ``manual_seed``."""
    manual_seed(seed)


def empty_cache() -> None:
    """Return the GPU memory CuPy holds in its pool but no array uses; a no-op without one."""
    if is_available():
        backend.device_type("cuda").xp.get_default_memory_pool().free_all_blocks()
