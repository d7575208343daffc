"""The array backend: which array module holds tensor data, the default dtype, and the
one random generator that every random op draws from.

Ops never import NumPy for math on tensor data; they ask ``get_array_module(x)`` for
the module that owns ``x`` (NumPy, or CuPy when it is installed and ``x`` lives on a GPU),
so the same op code runs on both.
"""

from __future__ import annotations

from types import ModuleType
from typing import Any

import numpy as np

try:  # CuPy is optional: only imported to recognise its arrays.
    import cupy as _cupy
except ImportError:  # pragma: no cover - depends on the machine
    _cupy = None

DEFAULT_FLOAT = np.dtype(np.float32)
"""Floating-point data becomes float32 unless a dtype is given."""


def _keep_freed_memory() -> None:
    """Ask glibc's malloc to keep freed arrays' memory for reuse, not hand it to the OS.

    Every op result is a fresh array. With glibc's default (adaptive) thresholds, the
    tens of MB a training step frees go back to the OS and the next step page-faults
    them in again: on LeNet-5 that kernel time doubled the step. Fixed thresholds (arrays
    up to 32 MiB from the heap, which keeps up to 256 MiB free) remove it. Linux with
    glibc only; ``SHENJING_MALLOC_TUNING=0`` turns it off.
    """
    import os
    import sys

    if sys.platform != "linux" or os.environ.get("SHENJING_MALLOC_TUNING") == "0":
        return
    import ctypes

    try:
        libc = ctypes.CDLL("libc.so.6")
        libc.mallopt(-1, 256 << 20)  # M_TRIM_THRESHOLD
        libc.mallopt(-3, 32 << 20)  # M_MMAP_THRESHOLD (glibc's maximum on 64-bit)
    except (OSError, AttributeError):  # musl or another libc: leave it be
        return


_keep_freed_memory()

_generator = np.random.default_rng()


def get_array_module(x: Any) -> ModuleType:
    """Return the array module (``numpy`` or ``cupy``) that owns ``x``."""
    if _cupy is not None and isinstance(x, _cupy.ndarray):
        return _cupy
    return np


def is_array(x: Any) -> bool:
    """True for an ndarray of any backend."""
    return isinstance(x, np.ndarray) or (_cupy is not None and isinstance(x, _cupy.ndarray))


def manual_seed(seed: int) -> None:
    """Seed every source of randomness in shenjing: initialisation, dropout, shuffling.

    Example:
        >>> import shenjing as sj
        >>> sj.manual_seed(0); a = sj.randn(2); sj.manual_seed(0); b = sj.randn(2)
        >>> bool((a.numpy() == b.numpy()).all())
        True
    """
    global _generator
    if not isinstance(seed, (int, np.integer)) or isinstance(seed, bool) or seed < 0:
        raise ValueError(f"manual_seed expects a non-negative integer. Received: {seed!r}")
    _generator = np.random.default_rng(int(seed))


def generator() -> np.random.Generator:
    """The generator behind every random op; replaced by ``manual_seed``."""
    return _generator


def get_rng_state() -> dict:
    """The generator's state, as a plain dict, for exact resume of a training run."""
    return _generator.bit_generator.state


def set_rng_state(state: dict) -> None:
    """Restore a state taken by ``get_rng_state``."""
    _generator.bit_generator.state = state


def as_dtype(dtype: Any) -> np.dtype:
    """Normalise ``"float64"``, ``np.float64`` or a dtype object to a NumPy dtype."""
    try:
        return np.dtype(dtype)
    except TypeError as err:
        raise TypeError(f"Not a dtype: {dtype!r}") from err
