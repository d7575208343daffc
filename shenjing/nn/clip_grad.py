"""Gradient clipping: bound the gradients in place between ``backward()`` and ``step()``.

Exploding gradients (deep or recurrent networks) make one bad batch undo many good
steps; clipping by the joint norm keeps the gradient's direction and bounds its length.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Iterable
from typing import Any

from shenjing.backend import get_array_module
from shenjing.tensor import Tensor

__all__ = ["clip_grad_norm_", "clip_grad_value_"]


def clip_grad_norm_(
    parameters: Tensor | Iterable[Tensor],
    max_norm: float,
    norm_type: float = 2.0,
    error_if_nonfinite: bool = False,
) -> Tensor:
    """Scale every gradient in place so that their joint ``norm_type``-norm is at most
    ``max_norm``, as ``torch.nn.utils.clip_grad_norm_``.

    The joint norm is the norm of all gradients concatenated into one vector::

        total = ‖(‖g₁‖ₚ, ‖g₂‖ₚ, ...)‖ₚ        (p = inf: the largest |gᵢⱼ|)
        gᵢ = gᵢ · min(1, max_norm / (total + 1e-6))

    Args:
        parameters: a tensor or tensors whose ``.grad`` to clip; those without one are
            skipped.
        max_norm: the largest joint norm allowed.
        norm_type: p > 0, or ``math.inf`` for the max norm.
        error_if_nonfinite: raise when the joint norm is NaN or infinite instead of
            scaling the gradients by NaN.

    Returns:
        The joint norm before clipping, as a 0-d tensor.

    Example:
        >>> import shenjing as sj
        >>> from shenjing.nn.clip_grad import clip_grad_norm_
        >>> w = sj.tensor([0.0, 0.0], requires_grad=True)
        >>> w.grad = sj.tensor([3.0, 4.0])
        >>> clip_grad_norm_([w], max_norm=1.0).item()
        5.0
        >>> [round(v, 4) for v in w.grad.tolist()]
        [0.6, 0.8]
    """
    grads = _grads("clip_grad_norm_", parameters)
    if isinstance(max_norm, bool) or not isinstance(max_norm, numbers.Real):
        raise TypeError(f"clip_grad_norm_: max_norm must be a number. Received: {max_norm!r}")
    p = float(norm_type)
    if not p > 0:
        raise ValueError(
            f"clip_grad_norm_: norm_type must be positive or inf. Received: {norm_type!r}"
        )
    if not grads:
        return Tensor(0.0)
    xp = get_array_module(grads[0])
    total = _vector_norm(xp.stack([_vector_norm(g, p) for g in grads]), p)
    if error_if_nonfinite and not bool(xp.isfinite(total)):
        raise RuntimeError(
            f"clip_grad_norm_: the joint {norm_type}-norm of the gradients is "
            f"{float(total)}; pass error_if_nonfinite=False to scale by it anyway"
        )
    scale = max_norm / (total + 1e-6)
    # A scale of 1 or more leaves the gradients as they are: skip the pass over them.
    if not scale >= 1:
        for g in grads:
            g *= scale
    return Tensor._make(xp.asarray(total), None)


def clip_grad_value_(parameters: Tensor | Iterable[Tensor], clip_value: float) -> None:
    """Clip every gradient element in place to [-clip_value, clip_value], as
    ``torch.nn.utils.clip_grad_value_``.

    Args:
        parameters: a tensor or tensors whose ``.grad`` to clip; those without one are
            skipped.
        clip_value: the largest magnitude allowed, >= 0.

    Example:
        >>> import shenjing as sj
        >>> from shenjing.nn.clip_grad import clip_grad_value_
        >>> w = sj.tensor([0.0, 0.0, 0.0], requires_grad=True)
        >>> w.grad = sj.tensor([-3.0, 0.5, 2.0])
        >>> clip_grad_value_([w], 1.0)
        >>> w.grad.tolist()
        [-1.0, 0.5, 1.0]
    """
    grads = _grads("clip_grad_value_", parameters)
    if isinstance(clip_value, bool) or not isinstance(clip_value, numbers.Real):
        raise TypeError(
            f"clip_grad_value_: clip_value must be a number. Received: {clip_value!r}"
        )
    if not clip_value >= 0:
        raise ValueError(f"clip_grad_value_: clip_value must be >= 0. Received: {clip_value}")
    for g in grads:
        get_array_module(g).clip(g, -clip_value, clip_value, out=g)


def _grads(name: str, parameters: Tensor | Iterable[Tensor]) -> list[Any]:
    """The gradient arrays of ``parameters`` (one tensor or many), skipping missing ones."""
    if isinstance(parameters, Tensor):
        parameters = [parameters]
    grads = []
    for i, p in enumerate(parameters):
        if not isinstance(p, Tensor):
            raise TypeError(f"{name}: parameter {i} is a {type(p).__name__}, not a Tensor")
        if p.grad is not None:
            grads.append(p.grad.array)
    return grads


def _vector_norm(x: Any, p: float) -> Any:
    """‖x‖ₚ of all elements of ``x`` (0 for an empty array), as a 0-d array."""
    xp = get_array_module(x)
    if x.size == 0:
        return xp.zeros((), dtype=x.dtype)
    if p == 2:
        flat = x.ravel()
        return xp.sqrt(xp.vdot(flat, flat))  # one BLAS pass, no temporary
    if p == math.inf:
        return xp.maximum(x.max(), -x.min())
    if p == 1:
        return xp.abs(x).sum()
    return (xp.abs(x) ** p).sum() ** (1 / p)
