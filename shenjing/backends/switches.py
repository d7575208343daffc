"""Process-wide switches PyTorch programs set at the top: ``sj.set_float32_matmul_precision``
and ``sj.use_deterministic_algorithms``, accepted with PyTorch's checks.

Neither changes a number here: NumPy's float32 matmul is always full float32 (PyTorch's
``"highest"``; TF32 and bfloat16 passes exist only on GPUs), and every op already runs
deterministically on one thread. They are kept so the getters read back what was set.
"""

from __future__ import annotations

__all__ = [
    "are_deterministic_algorithms_enabled", "get_float32_matmul_precision",
    "set_float32_matmul_precision", "use_deterministic_algorithms",
]

_PRECISIONS = ("highest", "high", "medium")


class _Switches:
    precision = "highest"
    deterministic = False


def set_float32_matmul_precision(precision: str) -> None:
    """Record ``"highest"``, ``"high"`` or ``"medium"`` (no effect on the CPU's matmul)."""
    if precision not in _PRECISIONS:
        raise ValueError(
            f"set_float32_matmul_precision: precision must be one of {list(_PRECISIONS)}. "
            f"Received: {precision!r}")
    _Switches.precision = precision


def get_float32_matmul_precision() -> str:
    """The precision last set (``"highest"`` at start, as PyTorch)."""
    return _Switches.precision


def use_deterministic_algorithms(mode: bool, *, warn_only: bool = False) -> None:
    """Record the mode; shenjing's ops are deterministic whatever it says."""
    if not isinstance(mode, bool):
        raise TypeError(
            f"use_deterministic_algorithms: mode must be a bool. Received: {mode!r}")
    _Switches.deterministic = mode


def are_deterministic_algorithms_enabled() -> bool:
    """The mode last given to ``use_deterministic_algorithms``."""
    return _Switches.deterministic
