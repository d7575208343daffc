"""Numerical gradient checking: central differences in float64 against ``backward()``."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from shenjing import backend


class GradcheckError(AssertionError):
    """Raised by ``gradcheck`` when an analytic gradient disagrees with the numeric one."""


def gradcheck(
    fn: Callable[..., Any],
    inputs: Sequence[Any],
    eps: float = 1e-6,
    atol: float = 1e-5,
    rtol: float = 1e-3,
) -> bool:
    """Check ``backward()`` of ``fn(*inputs)`` against central differences.

    Every floating-point tensor input with ``requires_grad=True`` is checked (if none is
    marked, all floating-point tensors are), after conversion to float64. The output is
    reduced to a scalar with a fixed random weight ``v``, so one backward pass gives
    vᵀJ, and each element of it is compared with

        (f(x + eps·eᵢ)·v − f(x − eps·eᵢ)·v) / (2·eps).

    Args:
        fn: a function of tensors returning a tensor.
        inputs: its arguments; non-tensors are passed through unchanged.
        eps: the finite-difference step.
        atol, rtol: an element passes when |numeric − analytic| <= atol + rtol·|numeric|.

    Returns:
        True when every element passes.

    Raises:
        GradcheckError: naming the input, the index, and the numeric and analytic values.

    Example:
        >>> import shenjing as sj
        >>> x = sj.randn(3, dtype="float64", requires_grad=True)
        >>> sj.gradcheck(lambda t: (t * t).sum(), [x])
        True
    """
    from shenjing.autograd.grad_mode import no_grad
    from shenjing.tensor import Tensor

    args = [_as_float64(a) if isinstance(a, Tensor) else a for a in inputs]
    marked = [i for i, a in enumerate(inputs) if isinstance(a, Tensor) and a.requires_grad]
    checked = marked or [
        i for i, a in enumerate(args) if isinstance(a, Tensor) and a.dtype.kind == "f"
    ]
    if not checked:
        raise ValueError("gradcheck: no floating-point tensor input to check")
    for i in checked:
        args[i].requires_grad_(True)

    out = fn(*args)
    if not isinstance(out, Tensor):
        raise TypeError(f"gradcheck: fn must return a Tensor. Received: {type(out).__name__}")
    weights = np.random.default_rng(0).uniform(0.5, 1.5, size=out.shape)
    (out * Tensor(weights, dtype=out.dtype)).sum().backward()

    def weighted_output() -> float:
        with no_grad():
            return float((fn(*args).numpy() * weights).sum())

    for i in checked:
        x = args[i]
        analytic = x.grad.numpy() if x.grad is not None else np.zeros(x.shape)
        data = x.array
        for index in np.ndindex(*x.shape):
            numeric = central_difference(weighted_output, data, index, eps)
            if abs(numeric - analytic[index]) > atol + rtol * abs(numeric):
                label = f"input {i}" + (f" ({x.name!r})" if x.name else "")
                raise GradcheckError(
                    f"gradcheck failed for {label}, shape {x.shape}, at index {index}: "
                    f"numeric={numeric:.8g}, analytic={float(analytic[index]):.8g}"
                )
    return True


def central_difference(f: Callable[[], float], data: Any, index: tuple, eps: float) -> float:
    """(f(x + ε) − f(x − ε)) / 2ε, moving one element ``data[index]`` in place (and
    restoring it): the numeric derivative of ``f`` with respect to that element."""
    original = data[index].copy()
    data[index] = original + eps
    upper = f()
    data[index] = original - eps
    lower = f()
    data[index] = original
    return (upper - lower) / (2 * eps)


def _as_float64(t: Any) -> Any:
    from shenjing.tensor import Tensor

    if t.dtype.kind != "f":
        return t
    xp = backend.get_array_module(t.array)
    copy = Tensor(xp.array(t.array, dtype=np.float64), dtype=np.float64, name=t.name)
    return copy
