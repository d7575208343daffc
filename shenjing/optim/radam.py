"""RAdam: Adam with its adaptive step switched on only once the variance of the
adaptive learning rate is tractable."""

from __future__ import annotations

import math
from typing import Any

from shenjing.backend import get_array_module
from shenjing.optim.optimizer import Array, Optimizer, ParamsLike, check_betas, check_common


class RAdam(Optimizer):
    """RAdam (Liu et al., 2020), PyTorch's form.

    For each parameter θ at step t, with learning rate γ, (β₁, β₂), weight decay λ and
    moments m, v starting at zero::

        g = ∇ + λθ        (decoupled_weight_decay: θ = θ(1 − γλ) instead; maximize: −∇)
        m = β₁m + (1 − β₁) g;   v = β₂v + (1 − β₂) g²;   m̂ = m / (1 − β₁ᵗ)
        ρ∞ = 2/(1 − β₂) − 1;   ρₜ = ρ∞ − 2tβ₂ᵗ/(1 − β₂ᵗ)
        if ρₜ > 5:  r = √((ρₜ − 4)(ρₜ − 2)ρ∞ / ((ρ∞ − 4)(ρ∞ − 2)ρₜ))
                    θ = θ − γ m̂ r √(1 − β₂ᵗ) / (√v + ε)
        else:       θ = θ − γ m̂            (plain momentum while v is too young)

    Args:
        params: tensors or parameter groups to optimize.
        lr: learning rate γ.
        betas: (β₁, β₂), the decays of the two moment estimates.
        eps: ε, added to √v.
        weight_decay: λ.
        decoupled_weight_decay: decay the weights directly (AdamW's way).
        maximize: ascend the objective instead of descending it.
    """

    def __init__(
        self,
        params: ParamsLike | None = None,
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 0,
        decoupled_weight_decay: bool = False,
        maximize: bool = False,
    ) -> None:
        defaults = {
            "lr": lr, "betas": betas, "eps": eps, "weight_decay": weight_decay,
            "decoupled_weight_decay": decoupled_weight_decay, "maximize": maximize,
        }
        super().__init__(params, defaults)

    def check_hyperparameters(self, group: dict[str, Any]) -> None:
        check_common(group)
        check_betas(group["betas"])

    def init_state(self, param: Array, group: dict[str, Any]) -> dict[str, Any]:
        xp = get_array_module(param)
        return {"step": 0, "exp_avg": xp.zeros_like(param), "exp_avg_sq": xp.zeros_like(param)}

    def update_param(
        self, param: Array, grad: Array, state: dict[str, Any], group: dict[str, Any]
    ) -> None:
        xp = get_array_module(param)
        lr, (beta1, beta2), decay = group["lr"], group["betas"], group["weight_decay"]
        if group["decoupled_weight_decay"]:
            param *= 1 - lr * decay
            decay = 0
        g = self._effective_grad(param, grad, decay, group["maximize"])
        state["step"] += 1
        t = state["step"]
        exp_avg, exp_avg_sq = state["exp_avg"], state["exp_avg_sq"]
        tmp, step = self._scratch(param), self._scratch(param, "tmp2")
        exp_avg *= beta1
        xp.multiply(g, 1 - beta1, out=tmp)
        exp_avg += tmp
        exp_avg_sq *= beta2
        xp.multiply(g, g, out=tmp)
        tmp *= 1 - beta2
        exp_avg_sq += tmp
        correction1, correction2 = 1 - beta1**t, 1 - beta2**t
        rho_inf = 2 / (1 - beta2) - 1
        rho_t = rho_inf - 2 * t * beta2**t / correction2
        xp.divide(exp_avg, correction1, out=step)
        if rho_t > 5:
            rect = math.sqrt((rho_t - 4) * (rho_t - 2) * rho_inf
                             / ((rho_inf - 4) * (rho_inf - 2) * rho_t))
            xp.sqrt(exp_avg_sq, out=tmp)
            tmp += group["eps"]
            step /= tmp
            step *= lr * rect * math.sqrt(correction2)
        else:
            step *= lr
        param -= step
