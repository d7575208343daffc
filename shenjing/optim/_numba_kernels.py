"""Optimizer updates as one compiled loop each, for parameters on the CPU (the kernel
tier, ``shenjing.kernels``).

On NumPy an update is up to a dozen in-place calls, each a pass over the parameter's
memory; here it is one pass, reading each element of the parameter, its gradient and
its state once and writing them back once. Each kernel does the float operations of the
NumPy code beside it (``adam.py``, ``sgd.py``, ``rmsprop.py``), in the same order, so the
results agree with it to float32 rounding (LLVM may contract a multiply and an add into
one FMA). Scalars arrive in the parameter's dtype, so float32 stays float32.

With ``Optimizer.step``'s flat layout (``fused.py``) the small parameters of a group
share one call: the whole update of a small network becomes one loop.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from shenjing import kernels
from shenjing.kernels import kernel


def wanted(param: Any, *state: Any) -> bool:
    """Whether an update of ``param`` runs as a kernel: the tier is on, ``param`` is a
    float32 or float64 NumPy array, and it and the ``state`` arrays the kernel writes are
    C-contiguous (as parameters, their state and the flat buffers are), so that the
    kernel's flat views write into them, not into copies."""
    return (type(param) is np.ndarray and param.dtype in (np.float32, np.float64)
            and kernels.enabled()
            and all(type(a) is np.ndarray and a.dtype == param.dtype
                    and a.flags.c_contiguous for a in (param, *state) if a is not None))


def _flat(*arrays: Any) -> list[Any]:
    return [a.reshape(-1) for a in arrays]


def adam(param: Any, g: Any, exp_avg: Any, exp_avg_sq: Any, max_exp_avg_sq: Any | None,
         beta1: float, beta2: float, inv_denominator: float, eps_over_step: float,
         decay: float) -> None:
    """θ ⊙= decay; m = β₁m + (1 − β₁)g; v = β₂v + (1 − β₂)g²; v̂ = max(v̂, v) with
    amsgrad; θ −= m / (√v̂·inv_denominator + eps_over_step), in place (the rearranged
    update of ``Adam.update_param``; ``decay`` is AdamW's 1 − γλ, else 1)."""
    t = param.dtype.type
    scalars = (t(beta1), t(1 - beta1), t(beta2), t(1 - beta2), t(inv_denominator),
               t(eps_over_step), t(decay))
    if max_exp_avg_sq is None:
        _adam(*_flat(param, g, exp_avg, exp_avg_sq), *scalars)
    else:
        _adam_amsgrad(*_flat(param, g, exp_avg, exp_avg_sq, max_exp_avg_sq), *scalars)


def sgd_momentum(param: Any, g: Any, buf: Any, lr: float, momentum: float, dampening: float,
                 nesterov: bool) -> None:
    """b = μb + (1 − τ)g;  d = g + μb (Nesterov) or b;  θ −= γd, in place."""
    t = param.dtype.type
    scalars = (t(momentum), t(1 - dampening), t(lr))
    if nesterov:
        _sgd_nesterov(*_flat(param, g, buf), *scalars)
    else:
        _sgd_momentum(*_flat(param, g, buf), *scalars)


def rmsprop(param: Any, g: Any, square_avg: Any, grad_avg: Any | None, buf: Any | None,
            alpha: float, eps: float, lr: float, momentum: float) -> None:
    """v = αv + (1 − α)g²; ḡ = αḡ + (1 − α)g and d = √(v − ḡ²) + ε when centered, else
    d = √v + ε; b = μb + g/d and θ −= γb with momentum, else θ −= γ·g/d; in place."""
    t = param.dtype.type
    scalars = (t(alpha), t(1 - alpha), t(eps), t(lr), t(momentum))
    centered, with_momentum = grad_avg is not None, buf is not None
    # Arrays a variant does not use are never read: the state stands in for them.
    arrays = _flat(param, g, square_avg, square_avg if grad_avg is None else grad_avg,
                   square_avg if buf is None else buf)
    _rmsprop(*arrays, *scalars, centered, with_momentum)


# ------------------------------------------------------------------ the kernels


@kernel
def _adam(p: Any, g: Any, m: Any, v: Any, b1: Any, omb1: Any, b2: Any, omb2: Any, inv: Any,
          eps: Any, decay: Any) -> None:
    for k in range(p.size):
        gk = g[k]
        mk = m[k] * b1 + gk * omb1
        vk = v[k] * b2 + gk * gk * omb2
        m[k] = mk
        v[k] = vk
        p[k] = p[k] * decay - mk / (np.sqrt(vk) * inv + eps)


@kernel
def _adam_amsgrad(p: Any, g: Any, m: Any, v: Any, v_max: Any, b1: Any, omb1: Any, b2: Any,
                  omb2: Any, inv: Any, eps: Any, decay: Any) -> None:
    for k in range(p.size):
        gk = g[k]
        mk = m[k] * b1 + gk * omb1
        vk = v[k] * b2 + gk * gk * omb2
        m[k] = mk
        v[k] = vk
        vm = max(v_max[k], vk)
        v_max[k] = vm
        p[k] = p[k] * decay - mk / (np.sqrt(vm) * inv + eps)


@kernel
def _sgd_momentum(p: Any, g: Any, b: Any, mu: Any, omd: Any, lr: Any) -> None:
    for k in range(p.size):
        bk = b[k] * mu + g[k] * omd
        b[k] = bk
        p[k] -= bk * lr


@kernel
def _sgd_nesterov(p: Any, g: Any, b: Any, mu: Any, omd: Any, lr: Any) -> None:
    for k in range(p.size):
        gk = g[k]
        bk = b[k] * mu + gk * omd
        b[k] = bk
        p[k] -= (bk * mu + gk) * lr


@kernel
def _rmsprop(p: Any, g: Any, v: Any, gbar: Any, b: Any, alpha: Any, oma: Any, eps: Any,
             lr: Any, mu: Any, centered: bool, with_momentum: bool) -> None:
    for k in range(p.size):
        gk = g[k]
        vk = v[k] * alpha + gk * gk * oma
        v[k] = vk
        if centered:
            gb = gbar[k] * alpha + gk * oma
            gbar[k] = gb
            d = np.sqrt(vk - gb * gb) + eps
        else:
            d = np.sqrt(vk) + eps
        u = gk / d
        if with_momentum:
            bk = b[k] * mu + u
            b[k] = bk
            p[k] -= bk * lr
        else:
            p[k] -= u * lr
