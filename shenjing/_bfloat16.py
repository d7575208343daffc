"""bfloat16, loaded on first use from the optional ``ml_dtypes`` package.

NumPy has no bfloat16; ``ml_dtypes`` adds one (round-to-nearest-even casts from float32,
as PyTorch's). It is imported only when bfloat16 is first asked for, so ``import
shenjing`` stays fast and works without it. Its NumPy ``kind`` is ``'V'``, not ``'f'``:
code that asks "is this a float?" uses ``kind`` below.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

_dtype: np.dtype | None = None
_listeners: list[Callable[[], None]] = []

INSTALL_HINT = ("bfloat16 needs the ml_dtypes package: pip install ml_dtypes "
                "(or pip install 'shenjing[bf16]')")


def dtype() -> np.dtype:
    """The bfloat16 NumPy dtype; ImportError naming the install when ml_dtypes is missing."""
    global _dtype
    if _dtype is None:
        try:
            import ml_dtypes
        except ImportError as err:
            raise ImportError(INSTALL_HINT) from err
        _dtype = np.dtype(ml_dtypes.bfloat16)
        for listener in _listeners:
            listener()
    return _dtype


def on_load(listener: Callable[[], None]) -> None:
    """Call ``listener`` once bfloat16 is loaded (now, if it is already)."""
    _listeners.append(listener)
    if _dtype is not None:
        listener()


def is_bfloat16(dt: Any) -> bool:
    """Whether ``dt`` is bfloat16 (False, without importing anything, before it is loaded)."""
    if _dtype is None:
        # An array made with ml_dtypes directly, before shenjing loaded it.
        if getattr(dt, "name", None) == "bfloat16":
            dtype()
            return True
        return False
    return dt == _dtype


def kind(dt: np.dtype) -> str:
    """NumPy's ``dtype.kind``, with ``'f'`` for bfloat16 (ml_dtypes reports ``'V'``)."""
    k = dt.kind
    if k == "V" and is_bfloat16(dt):
        return "f"
    return k
