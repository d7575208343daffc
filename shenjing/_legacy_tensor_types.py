"""PyTorch's legacy tensor classes: ``sj.FloatTensor(2, 3)``, ``sj.LongTensor([1, 2])``,
``isinstance(x, sj.FloatTensor)``, and their ``sj.cuda.*Tensor`` twins.

Each name is a class whose instances are never made: calling it makes an ordinary Tensor
of its dtype, and ``isinstance`` asks whether a Tensor has that dtype on that device
type, as in PyTorch. Called with integers (or a ``Size``/shape) it gives a tensor of that
shape (PyTorch leaves it uninitialised; here it is zeros); with a list, tuple or array it
gives that data in its dtype; with a Tensor of its dtype it gives that tensor. The CUDA
classes make a tensor on the GPU and raise TypeError without one, as in PyTorch.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from shenjing import cuda, dtypes
from shenjing.creation import tensor, zeros
from shenjing.tensor import Tensor

__all__ = [
    "BoolTensor", "ByteTensor", "CharTensor", "DoubleTensor", "FloatTensor", "HalfTensor",
    "IntTensor", "LongTensor", "ShortTensor",
]

_DTYPES = {
    "FloatTensor": dtypes.float32, "DoubleTensor": dtypes.float64,
    "HalfTensor": dtypes.float16, "LongTensor": dtypes.int64, "IntTensor": dtypes.int32,
    "ShortTensor": dtypes.int16, "CharTensor": dtypes.int8, "ByteTensor": dtypes.uint8,
    "BoolTensor": dtypes.bool,
}


class _LegacyType(type):
    """The metaclass: calling a class makes a Tensor; isinstance checks dtype and device."""

    dtype: np.dtype
    device_type: str

    def __instancecheck__(cls, obj: Any) -> bool:
        return (isinstance(obj, Tensor) and obj.dtype == cls.dtype
                and obj.device.type == cls.device_type)

    def __call__(cls, *args: Any, device: Any = None) -> Tensor:  # type: ignore[override]
        where = device if device is not None else cls.device_type
        if cls.device_type == "cuda" and not cuda.is_available():
            raise TypeError(f"type {cls.__qualname__} not available: no GPU "
                            "(shenjing.cuda.is_available() is False)")
        if len(args) == 1 and isinstance(args[0], Tensor):
            if args[0].dtype != cls.dtype:
                raise TypeError(f"{cls.__qualname__}: expected a tensor of dtype "
                                f"{cls.dtype}. Received dtype {args[0].dtype}")
            return args[0]
        if len(args) == 1 and isinstance(args[0], tuple):
            # PyTorch reads a tuple as data and a torch.Size as a shape; shenjing's
            # shapes are plain tuples, so a tuple would be read wrongly one way or the
            # other: refuse it and say which spelling means which.
            raise TypeError(
                f"{cls.__qualname__}: a tuple is ambiguous here (PyTorch reads it as "
                f"data, but x.shape is a tuple too). Received: {args[0]!r}; pass sizes "
                f"unpacked, {cls.__qualname__}(*shape), or data as a list")
        if len(args) == 1 and isinstance(args[0], (list, np.ndarray)):
            data = np.asarray(args[0])
            return tensor(data.astype(cls.dtype), dtype=cls.dtype, device=where)
        shape = args
        if not shape:
            shape = (0,)
        if not all(isinstance(n, (int, np.integer)) and n >= 0 for n in shape):
            raise TypeError(f"{cls.__qualname__}: expected sizes (non-negative integers) "
                            f"or data (a list or array). Received: {args!r}")
        return zeros(*shape, dtype=cls.dtype, device=where)


def _make(name: str, device_type: str) -> type:
    qualname = name if device_type == "cpu" else f"cuda.{name}"
    return _LegacyType(name, (), {"dtype": _DTYPES[name], "device_type": device_type,
                                  "__qualname__": qualname,
                                  "__doc__": f"PyTorch's legacy {qualname} class."})


FloatTensor = _make("FloatTensor", "cpu")
DoubleTensor = _make("DoubleTensor", "cpu")
HalfTensor = _make("HalfTensor", "cpu")
LongTensor = _make("LongTensor", "cpu")
IntTensor = _make("IntTensor", "cpu")
ShortTensor = _make("ShortTensor", "cpu")
CharTensor = _make("CharTensor", "cpu")
ByteTensor = _make("ByteTensor", "cpu")
BoolTensor = _make("BoolTensor", "cpu")

# shenjing.cuda sits below the engine, so its classes are registered from here.
for _name in __all__:
    setattr(cuda, _name, _make(_name, "cuda"))
