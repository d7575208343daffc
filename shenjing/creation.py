"""Making tensors: from data, filled with a constant, or drawn from the seeded generator."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from shenjing import backend
from shenjing.tensor import Tensor


def _shape(shape: tuple[Any, ...]) -> tuple[int, ...]:
    """Accept ``zeros(2, 3)`` and ``zeros((2, 3))`` alike (sizes as varargs or a tuple)."""
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
        t.array = backend.to_device(t.array, backend.Device(device))
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


def ones(*shape: Any, dtype: Any = None, requires_grad: bool = False, device: Any = None) -> Tensor:
    """A tensor of ones."""
    return on_device(
        Tensor(np.ones(_shape(shape), _float_dtype(dtype)), requires_grad, dtype), device
    )


def _fill_dtype(fill_value: Any, dtype: Any) -> np.dtype:
    """PyTorch's dtype for a fill: bool for a bool, int64 for an int, else float32."""
    if dtype is not None:
        return backend.as_dtype(dtype)
    if isinstance(fill_value, (bool, np.bool_)):
        return np.dtype(bool)
    if isinstance(fill_value, (int, np.integer)):
        return np.dtype(np.int64)
    return backend.DEFAULT_FLOAT


def full(
    size: Any,
    fill_value: Any,
    *,
    dtype: Any = None,
    requires_grad: bool = False,
    device: Any = None,
) -> Tensor:
    """A tensor of ``size`` with every element ``fill_value``; its dtype follows the
    value as in PyTorch (float32, int64 or bool) unless ``dtype`` is given."""
    shape = _shape((size,) if isinstance(size, int) else tuple(size))
    dtype = _fill_dtype(fill_value, dtype)
    return on_device(Tensor(np.full(shape, fill_value, dtype), requires_grad, dtype), device)


def full_like(
    input: Tensor,
    fill_value: Any,
    *,
    dtype: Any = None,
    requires_grad: bool = False,
    device: Any = None,
) -> Tensor:
    """``fill_value`` everywhere, with ``input``'s shape and (unless given) dtype."""
    return full(
        input.shape,
        fill_value,
        dtype=dtype or input.dtype,
        requires_grad=requires_grad,
        device=device or input.device,
    )


def empty(*size: Any, dtype: Any = None, requires_grad: bool = False, device: Any = None) -> Tensor:
    """A tensor whose elements are not set (whatever the memory held)."""
    return on_device(
        Tensor._make(np.empty(_shape(size), _float_dtype(dtype)), None).requires_grad_(
            requires_grad
        ),
        device,
    )


def empty_like(
    input: Tensor, *, dtype: Any = None, requires_grad: bool = False, device: Any = None
) -> Tensor:
    """An unset tensor with ``input``'s shape and dtype."""
    return empty(
        input.shape,
        dtype=dtype or input.dtype,
        requires_grad=requires_grad,
        device=device or input.device,
    )


def zeros_like(
    input: Tensor, *, dtype: Any = None, requires_grad: bool = False, device: Any = None
) -> Tensor:
    """Zeros with ``input``'s shape and dtype."""
    return zeros(
        input.shape,
        dtype=dtype or input.dtype,
        requires_grad=requires_grad,
        device=device or input.device,
    )


def ones_like(
    input: Tensor, *, dtype: Any = None, requires_grad: bool = False, device: Any = None
) -> Tensor:
    """Ones with ``input``'s shape and dtype."""
    return ones(
        input.shape,
        dtype=dtype or input.dtype,
        requires_grad=requires_grad,
        device=device or input.device,
    )


def eye(
    n: int,
    m: int | None = None,
    *,
    dtype: Any = None,
    requires_grad: bool = False,
    device: Any = None,
) -> Tensor:
    """The n×m (n×n by default) matrix with ones on the diagonal."""
    _shape((n,) if m is None else (n, m))
    return on_device(Tensor(np.eye(n, m), requires_grad, _float_dtype(dtype)), device)


def randn(*size: Any, dtype: Any = None, requires_grad: bool = False, device: Any = None) -> Tensor:
    """Samples of the standard normal distribution, from the seeded generator."""
    data = backend.generator().standard_normal(_shape(size))
    return on_device(Tensor(data, requires_grad, _float_dtype(dtype)), device)


def rand(*size: Any, dtype: Any = None, requires_grad: bool = False, device: Any = None) -> Tensor:
    """Samples of the uniform distribution on [0, 1), from the seeded generator."""
    data = backend.generator().random(_shape(size))
    return on_device(Tensor(data, requires_grad, _float_dtype(dtype)), device)


def randn_like(
    input: Tensor, *, dtype: Any = None, requires_grad: bool = False, device: Any = None
) -> Tensor:
    """Standard normal samples with ``input``'s shape and (floating) dtype."""
    return randn(
        input.shape,
        dtype=dtype or input.dtype,
        requires_grad=requires_grad,
        device=device or input.device,
    )


def rand_like(
    input: Tensor, *, dtype: Any = None, requires_grad: bool = False, device: Any = None
) -> Tensor:
    """Uniform [0, 1) samples with ``input``'s shape and (floating) dtype."""
    return rand(
        input.shape,
        dtype=dtype or input.dtype,
        requires_grad=requires_grad,
        device=device or input.device,
    )


def randint(
    *args: Any, size: Any = None, dtype: Any = None, requires_grad: bool = False, device: Any = None
) -> Tensor:
    """Integers drawn uniformly from [low, high), as PyTorch's ``randint(low=0, high,
    size)``: ``randint(high, size)`` or ``randint(low, high, size)``; int64 by default.

    Example:
        >>> import shenjing as sj
        >>> sj.randint(3, 10, (2, 2)).dtype
        dtype('int64')
    """
    if size is None and args:
        *args, size = args
    if size is None or len(args) not in (1, 2):
        raise TypeError(
            f"randint: expects (high, size) or (low, high, size). Received: {(*args, size)!r}"
        )
    low, high = (0, args[0]) if len(args) == 1 else args
    if not high > low:
        raise ValueError(f"randint: high must exceed low. Received: low={low}, high={high}")
    data = backend.generator().integers(
        low, high, _shape((size,) if isinstance(size, int) else tuple(size))
    )
    return on_device(Tensor(data, requires_grad, np.int64 if dtype is None else dtype), device)


def randperm(
    n: int, *, dtype: Any = None, requires_grad: bool = False, device: Any = None
) -> Tensor:
    """A random permutation of 0, …, n − 1 (int64 by default)."""
    _shape((n,))
    return on_device(
        Tensor(
            backend.generator().permutation(n), requires_grad, np.int64 if dtype is None else dtype
        ),
        device,
    )


def normal(
    mean: Any,
    std: Any,
    size: Any = None,
    *,
    dtype: Any = None,
    requires_grad: bool = False,
    device: Any = None,
) -> Tensor:
    """Normal samples: of shape ``size`` for number mean and std, else elementwise with
    the broadcast shape of tensor (or number) mean and std. Draws carry no gradient."""
    if any(isinstance(v, Tensor) for v in (mean, std)):
        if size is not None:
            raise TypeError("normal: size is only for number mean and std")
        m, s = (v.numpy() if isinstance(v, Tensor) else v for v in (mean, std))
        out_dtype = next(v.dtype for v in (mean, std) if isinstance(v, Tensor))
        shape = np.broadcast_shapes(np.shape(m), np.shape(s))
    else:
        if size is None:
            raise TypeError("normal: number mean and std need a size")
        m, s, out_dtype = mean, std, _float_dtype(dtype)
        shape = _shape((size,) if isinstance(size, int) else tuple(size))
    if np.any(np.asarray(s) < 0):
        raise ValueError(f"normal: std must be non-negative. Received: {std!r:.60}")
    data = backend.generator().normal(m, s, shape)
    return on_device(Tensor(data, requires_grad, out_dtype if dtype is None else dtype), device)


def arange(
    start: float,
    end: float | None = None,
    step: float = 1,
    *,
    dtype: Any = None,
    requires_grad: bool = False,
    device: Any = None,
) -> Tensor:
    """Values from ``start`` (0 when only one bound is given) up to, not including,
    ``end``, every ``step``: int64 when all three are integers, else float32 (PyTorch's).

    Example:
        >>> import shenjing as sj
        >>> sj.arange(0, 1, 0.25).tolist()
        [0.0, 0.25, 0.5, 0.75]
    """
    if end is None:
        start, end = 0, start
    if step == 0:
        raise ValueError("arange: step must be nonzero")
    if (end - start) * step < 0:
        raise ValueError(
            f"arange: end {end} cannot be reached from start {start} by steps of {step}"
        )
    integral = all(isinstance(v, (int, np.integer)) for v in (start, end, step))
    if dtype is None:
        dtype = np.int64 if integral else backend.DEFAULT_FLOAT
    count = math.ceil((end - start) / step)
    # Values computed in float64 as start + i·step, then cast: PyTorch's values.
    data = start + np.arange(count, dtype=np.int64 if integral else np.float64) * step
    return on_device(Tensor(data, requires_grad, dtype), device)


def linspace(
    start: float,
    end: float,
    steps: int,
    *,
    dtype: Any = None,
    requires_grad: bool = False,
    device: Any = None,
) -> Tensor:
    """``steps`` evenly spaced values from ``start`` to ``end``, both included."""
    if not isinstance(steps, int) or steps < 0:
        raise ValueError(f"linspace: steps must be a non-negative int. Received: {steps!r}")
    return on_device(
        Tensor(np.linspace(start, end, steps), requires_grad, _float_dtype(dtype)), device
    )


def logspace(
    start: float,
    end: float,
    steps: int,
    base: float = 10.0,
    *,
    dtype: Any = None,
    requires_grad: bool = False,
    device: Any = None,
) -> Tensor:
    """``steps`` values base ** t for t evenly spaced from ``start`` to ``end``."""
    if not isinstance(steps, int) or steps < 0:
        raise ValueError(f"logspace: steps must be a non-negative int. Received: {steps!r}")
    return on_device(
        Tensor(np.logspace(start, end, steps, base=base), requires_grad, _float_dtype(dtype)),
        device,
    )
