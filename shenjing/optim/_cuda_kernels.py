"""Optimizer updates as one CuPy elementwise kernel each, for parameters on a GPU.

On NumPy an update is a dozen in-place calls; on a GPU each call is a kernel launch
(a few microseconds each, for arrays the GPU finishes in less), so Adam's update of one
parameter becomes one kernel here. Each kernel does the same float operations, in the
same order, as the NumPy code beside it (up to the compiler fusing a multiply-add),
so results agree with the CPU to rounding. Used only when the array module is CuPy;
the NumPy path is untouched.
"""

from __future__ import annotations

from types import ModuleType
from typing import Any

from shenjing._cuda import available
from shenjing._cuda import elementwise_kernel as _kernel

# ``available`` is part of this module's interface: callers ask it before a kernel.
__all__ = ["available"]


def adam(xp: ModuleType, param: Any, g: Any, exp_avg: Any, exp_avg_sq: Any, beta1: float,
         beta2: float, inv_denominator: float, eps_over_step: float) -> None:
    """m = β₁m + (1 − β₁)g;  v = β₂v + (1 − β₂)g²;  θ −= m / (√v·inv_denominator +
    eps_over_step), in place (the CPU path's rearranged update, see ``Adam``)."""
    t = param.dtype.type
    _kernel(
        xp, "shenjing_adam",
        "T g, T b1, T omb1, T b2, T omb2, T inv, T epsdiv", "T p, T m, T v",
        "m = m * b1 + g * omb1; v = v * b2 + g * g * omb2; p -= m / (sqrt(v) * inv + epsdiv);",
    )(g, t(beta1), t(1 - beta1), t(beta2), t(1 - beta2), t(inv_denominator),
      t(eps_over_step), param, exp_avg, exp_avg_sq)


def sgd_momentum(xp: ModuleType, param: Any, g: Any, buf: Any, lr: float, momentum: float,
                 dampening: float, nesterov: bool) -> None:
    """b = μb + (1 − τ)g;  d = g + μb (Nesterov) or b;  θ −= γd, in place."""
    t = param.dtype.type
    _kernel(
        xp, "shenjing_sgd_momentum",
        "T g, T mu, T omd, T lr, int32 nesterov", "T p, T b",
        "b = b * mu + g * omd; p -= (nesterov ? b * mu + g : b) * lr;",
    )(g, t(momentum), t(1 - dampening), t(lr), xp.int32(nesterov), param, buf)
