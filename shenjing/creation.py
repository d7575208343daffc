"""Making tensors: from data, filled with a constant, or drawn from the seeded generator."""

from __future__ import annotations

from typing import Any

import numpy as np

from shenjing import backend
from shenjing.tensor import Tensor


def _shape(shape: tuple[Any, ...]) -> tuple[int, ...]:
    """Accept ``zeros(2, 3)`` and ``zeros((2, 3))`` alike."""
    if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
        shape = tuple(shape[0])
    for n in shape:
        if not isinstance(n, (int, np.integer)) or n < 0:
            raise ValueError(f"A shape needs non-negative integers. Received: {shape}")
    return tuple(int(n) for n in shape)


def on_device(t: Tensor, device: Any) -> Tensor:
    """``t`` (just made on the host) moved to ``device``; ``t`` itself when None.

    Every creation function ends with this, so each takes PyTorch's ``device=``. Random
    ones draw on the host first, so one seed gives the same values on every device.
    """
    if device is not None:
        t.data = backend.to_device(t.data, backend.Device(device))
    return t


def _float_dtype(dtype: Any) -> np.dtype:
    return backend.DEFAULT_FLOAT if dtype is None else backend.as_dtype(dtype)


def tensor(
    data: Any,
    dtype: Any = None,
    requires_grad: bool = False,
    name: str | None = None,
    device: Any = None,
) -> Tensor:
    """A tensor holding a copy of ``data``; floats become float32, integers int64.

    Example:
        >>> import shenjing as sj
        >>> sj.tensor([[1.0, 2.0]], name="x").dtype
        dtype('float32')
    """
    return on_device(Tensor(data, requires_grad=requires_grad, dtype=dtype, name=name), device)


def from_numpy(array: np.ndarray) -> Tensor:
    """A tensor sharing ``array``'s memory and keeping its dtype."""
    if not backend.is_array(array):
        raise TypeError(f"from_numpy expects an ndarray. Received: {type(array).__name__}")
    return Tensor._make(array, None)


def zeros(
    *shape: Any, dtype: Any = None, requires_grad: bool = False, device: Any = None
) -> Tensor:
    """A tensor of zeros."""
    return on_device(
        Tensor(np.zeros(_shape(shape), _float_dtype(dtype)), requires_grad, dtype), device
    )


def ones(
    *shape: Any, dtype: Any = None, requires_grad: bool = False, device: Any = None
) -> Tensor:
    """A tensor of ones."""
    return on_device(
        Tensor(np.ones(_shape(shape), _float_dtype(dtype)), requires_grad, dtype), device
    )


def full(
    shape: Any,
    fill_value: float,
    dtype: Any = None,
    requires_grad: bool = False,
    device: Any = None,
) -> Tensor:
    """A tensor of ``shape`` with every element ``fill_value``."""
    shape = _shape((shape,) if isinstance(shape, int) else tuple(shape))
    return on_device(
        Tensor(np.full(shape, fill_value, _float_dtype(dtype)), requires_grad, dtype), device
    )


def zeros_like(
    t: Tensor, dtype: Any = None, requires_grad: bool = False, device: Any = None
) -> Tensor:
    """Zeros with ``t``'s shape and dtype, on ``t``'s device unless told."""
    return zeros(
        t.shape, dtype=dtype or t.dtype, requires_grad=requires_grad, device=device or t.device
    )


def ones_like(
    t: Tensor, dtype: Any = None, requires_grad: bool = False, device: Any = None
) -> Tensor:
    """Ones with ``t``'s shape and dtype, on ``t``'s device unless told."""
    return ones(
        t.shape, dtype=dtype or t.dtype, requires_grad=requires_grad, device=device or t.device
    )


def randn(
    *shape: Any, dtype: Any = None, requires_grad: bool = False, device: Any = None
) -> Tensor:
    """Samples of the standard normal distribution, from the seeded generator."""
    data = backend.generator().standard_normal(_shape(shape))
    return on_device(Tensor(data, requires_grad, _float_dtype(dtype)), device)


def rand(
    *shape: Any, dtype: Any = None, requires_grad: bool = False, device: Any = None
) -> Tensor:
    """Samples of the uniform distribution on [0, 1), from the seeded generator."""
    data = backend.generator().random(_shape(shape))
    return on_device(Tensor(data, requires_grad, _float_dtype(dtype)), device)


def arange(
    start: float,
    stop: float | None = None,
    step: float = 1,
    dtype: Any = None,
    device: Any = None,
) -> Tensor:
    """Evenly spaced values in [start, stop); integers stay int64, floats become float32."""
    data = np.arange(start, stop, step) if stop is not None else np.arange(start)
    return on_device(Tensor(data, dtype=dtype), device)
