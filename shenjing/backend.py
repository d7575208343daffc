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
