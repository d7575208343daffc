"""Adam and AdamW: bias-corrected first and second moment estimates of the gradient."""

from __future__ import annotations

import math
from typing import Any

from shenjing.backend import get_array_module
from shenjing.optim import _cuda_kernels as cuda_kernels
from shenjing.optim import _numba_kernels as cpu_kernels
from shenjing.optim.optimizer import Array, Optimizer, ParamsLike, check_betas, check_common


class Adam(Optimizer):
    """Adam (Kingma & Ba, 2015): momentum on the gradient, scaled per coordinate by a
    running RMS of the gradient, both corrected for their zero start.

    For each parameter θ at step t, with learning rate γ, (β₁, β₂), weight decay λ and
    moments m, v that start at zero::

        g = ∇ + λθ                      (with maximize: g = −∇ + λθ)
        m = β₁m + (1 − β₁) g
        v = β₂v + (1 − β₂) g²
        v̂ = max(v̂, v)   if amsgrad,   v̂ = v   otherwise
        θ = θ − γ/(1 − β₁ᵗ) · m / (√v̂ / √(1 − β₂ᵗ) + ε)

    ε is added outside the root, after the bias correction (PyTorch's form).

    Args:
        params: tensors or parameter groups to optimize.
        lr: learning rate γ.
        betas: (β₁, β₂), the decays of the two moment estimates.
        eps: ε, added to the denominator for stability.
        weight_decay: λ, the L2 penalty's coefficient (added to the gradient; see
            ``AdamW`` for decay decoupled from the gradient).
        amsgrad: use the running maximum of v (Reddi et al., 2018).
        maximize: ascend the objective instead of descending it.

    Example:
        >>> import shenjing as sj
        >>> w = sj.tensor([3.0], requires_grad=True)
        >>> opt = sj.optim.Adam([w], lr=0.1)
        >>> for _ in range(300):
        ...     w.grad = sj.tensor(2 * w.array)
        ...     opt.step()
        >>> abs(w.item()) < 0.05
        True
    """

    decoupled_weight_decay = False
    """True in AdamW: decay θ directly instead of adding λθ to the gradient."""

    def __init__(
        self,
        params: ParamsLike | None = None,
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 0,
        amsgrad: bool = False,
        maximize: bool = False,
    ) -> None:
        defaults = {
            "lr": lr, "betas": betas, "eps": eps, "weight_decay": weight_decay,
            "amsgrad": amsgrad, "maximize": maximize,
        }
        super().__init__(params, defaults)

    def check_hyperparameters(self, group: dict[str, Any]) -> None:
        check_common(group)
        check_betas(group["betas"])

    def has_device_kernel(self, xp: Any, group: dict[str, Any]) -> bool:
        return cuda_kernels.available(xp) and not group["amsgrad"]

    def init_state(self, param: Array, group: dict[str, Any]) -> dict[str, Any]:
        xp = get_array_module(param)
        state = {"step": 0, "exp_avg": xp.zeros_like(param), "exp_avg_sq": xp.zeros_like(param)}
        if group["amsgrad"]:
            state["max_exp_avg_sq"] = xp.zeros_like(param)
        return state

    def update_param(
        self, param: Array, grad: Array, state: dict[str, Any], group: dict[str, Any]
    ) -> None:
        xp = get_array_module(param)
        lr, (beta1, beta2), weight_decay = group["lr"], group["betas"], group["weight_decay"]
        if lr != 0 and cpu_kernels.wanted(param, state["exp_avg"], state["exp_avg_sq"],
                                           state.get("max_exp_avg_sq")):  # one pass
            self._update_on_cpu_kernel(param, grad, state, group)
            return
        if self.decoupled_weight_decay:
            if weight_decay != 0:
                param *= 1 - lr * weight_decay
            weight_decay = 0
        g = self._effective_grad(param, grad, weight_decay, group["maximize"])
        state["step"] += 1
        t = state["step"]
        exp_avg, exp_avg_sq = state["exp_avg"], state["exp_avg_sq"]
        step_size = lr / (1 - beta1**t)
        if self.has_device_kernel(xp, group) and step_size != 0:
            root_correction = math.sqrt(1 - beta2**t)
            cuda_kernels.adam(xp, param, g, exp_avg, exp_avg_sq, beta1, beta2,
                              1 / (root_correction * step_size), group["eps"] / step_size)
            return
        tmp = self._scratch(param)

        exp_avg *= beta1
        xp.multiply(g, 1 - beta1, out=tmp)
        exp_avg += tmp
        exp_avg_sq *= beta2
        xp.multiply(g, g, out=tmp)
        tmp *= 1 - beta2
        exp_avg_sq += tmp
        if group["amsgrad"]:
            xp.maximum(state["max_exp_avg_sq"], exp_avg_sq, out=state["max_exp_avg_sq"])
            exp_avg_sq = state["max_exp_avg_sq"]
        # θ −= s·m / (√v / r + ε), with s = γ/(1 − β₁ᵗ) and r = √(1 − β₂ᵗ), as
        # θ −= m / (√v·(1/(r·s)) + ε/s): one pass fewer over the arrays.
        if step_size == 0:  # lr = 0 (e.g. the end of a cosine schedule): θ stays
            return
        root_correction = math.sqrt(1 - beta2**t)
        xp.sqrt(exp_avg_sq, out=tmp)
        tmp *= 1 / (root_correction * step_size)
        tmp += group["eps"] / step_size
        xp.divide(exp_avg, tmp, out=tmp)
        param -= tmp

    def _update_on_cpu_kernel(self, param: Array, grad: Array, state: dict[str, Any],
                              group: dict[str, Any]) -> None:
        """``update_param`` as one compiled pass (``_numba_kernels.adam``), AdamW's
        decay included."""
        lr, (beta1, beta2), weight_decay = group["lr"], group["betas"], group["weight_decay"]
        decay = 1.0
        if self.decoupled_weight_decay:
            decay, weight_decay = 1 - lr * weight_decay, 0
        g = self._effective_grad(param, grad, weight_decay, group["maximize"])
        state["step"] += 1
        t = state["step"]
        step_size = lr / (1 - beta1**t)
        root_correction = math.sqrt(1 - beta2**t)
        cpu_kernels.adam(param, g, state["exp_avg"], state["exp_avg_sq"],
                         state.get("max_exp_avg_sq") if group["amsgrad"] else None,
                         beta1, beta2, 1 / (root_correction * step_size),
                         group["eps"] / step_size, decay)


class AdamW(Adam):
    """AdamW (Loshchilov & Hutter, 2019): Adam with weight decay decoupled from the
    gradient, so the decay is not rescaled by the adaptive denominator.

    Each step first shrinks the parameter, then takes Adam's step without L2::

        θ = θ · (1 − γλ)
        (then Adam's update, with g = ∇, or −∇ with maximize)

    Args:
        params: tensors or parameter groups to optimize.
        lr: learning rate γ.
        betas: (β₁, β₂), the decays of the two moment estimates.
        eps: ε, added to the denominator for stability.
        weight_decay: λ, the decoupled decay (note the default 1e-2, as PyTorch).
        amsgrad: use the running maximum of v.
        maximize: ascend the objective instead of descending it.

    Example:
        >>> import shenjing as sj
        >>> w = sj.tensor([3.0], requires_grad=True)
        >>> opt = sj.optim.AdamW([w], lr=0.1)
        >>> for _ in range(300):
        ...     w.grad = sj.tensor(2 * w.array)
        ...     opt.step()
        >>> abs(w.item()) < 0.05
        True
    """

    decoupled_weight_decay = True

    def __init__(
        self,
        params: ParamsLike | None = None,
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 1e-2,
        amsgrad: bool = False,
        maximize: bool = False,
    ) -> None:
        super().__init__(params, lr, betas, eps, weight_decay, amsgrad, maximize)
