"""PyTorch's dtype names, as NumPy dtypes: ``sj.float32``, ``sj.long``, ``sj.half``, ...

Each name is a ``numpy.dtype``, so it works as ``dtype=`` anywhere and compares equal to
a tensor's ``.dtype``. ``bfloat16`` comes from the optional ``ml_dtypes`` package, loaded
the first time the name is used (``sj.bfloat16``). ``type_name`` gives the legacy class
names that ``Tensor.type()`` returns (``'shenjing.FloatTensor'`` where PyTorch says
``'torch.FloatTensor'``).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from shenjing import _bfloat16

__all__ = [
    "bool", "double", "float", "float16", "float32", "float64", "half", "int", "int8",
    "int16", "int32", "int64", "long", "short", "uint8",
]

float16 = half = np.dtype(np.float16)
float32 = float = np.dtype(np.float32)
float64 = double = np.dtype(np.float64)
uint8 = np.dtype(np.uint8)
int8 = np.dtype(np.int8)
int16 = short = np.dtype(np.int16)
int32 = int = np.dtype(np.int32)
int64 = long = np.dtype(np.int64)
bool = np.dtype(np.bool_)

_TYPE_NAMES = {
    float16: "HalfTensor", float32: "FloatTensor", float64: "DoubleTensor",
    uint8: "ByteTensor", int8: "CharTensor", int16: "ShortTensor", int32: "IntTensor",
    int64: "LongTensor", bool: "BoolTensor",
}
_BY_NAME = {f"{prefix}.{name}": dtype for dtype, name in _TYPE_NAMES.items()
            for prefix in ("shenjing", "torch")}


def __getattr__(name: str) -> Any:
    """``bfloat16``, loaded on first use (ImportError naming the install without ml_dtypes)."""
    if name == "bfloat16":
        return _bfloat16.dtype()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def type_name(dtype: Any) -> str:
    """The legacy tensor class name of ``dtype``, e.g. ``'shenjing.FloatTensor'``."""
    if _bfloat16.is_bfloat16(dtype):
        return "shenjing.BFloat16Tensor"
    name = _TYPE_NAMES.get(np.dtype(dtype))
    if name is None:
        raise TypeError(f"type(): no tensor type name for dtype {dtype}")
    return f"shenjing.{name}"


def from_type_name(name: str) -> np.dtype:
    """The dtype behind a legacy class name (``'shenjing.FloatTensor'`` or PyTorch's
    ``'torch.FloatTensor'``)."""
    if name in ("shenjing.BFloat16Tensor", "torch.BFloat16Tensor"):
        return _bfloat16.dtype()
    if name not in _BY_NAME:
        raise TypeError(f"type(): unknown tensor type {name!r}; expected one of "
                        f"{sorted(n for n in _BY_NAME if n.startswith('shenjing'))}")
    return _BY_NAME[name]


def get_default_dtype() -> np.dtype:
    """The dtype Python floats become in a new tensor: float32, as in PyTorch."""
    return float32


def set_default_dtype(d: Any) -> None:
    """Accept float32 (the default, which stays); refuse any other dtype.

    shenjing makes floating tensors as float32 everywhere and has no global switch to
    float64: pass ``dtype=`` where a tensor is made, or cast a module with ``.double()``.
    """
    if np.dtype(d) != float32:
        raise ValueError(
            f"set_default_dtype: shenjing's default floating dtype is fixed at float32. "
            f"Received: {d!r}; pass dtype= when making tensors, or call .double() on the "
            f"module")
