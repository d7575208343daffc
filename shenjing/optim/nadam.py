"""NAdam: Adam with Nesterov momentum."""

from __future__ import annotations

from typing import Any

from shenjing.backend import get_array_module
from shenjing.optim.optimizer import (
    Array,
    Optimizer,
    ParamsLike,
    check_betas,
    check_common,
    check_non_negative,
)


class NAdam(Optimizer):
    """NAdam (Dozat, 2016): Adam whose momentum looks one step ahead, with a momentum
    schedule that warms β₁ up over the first steps.

    For each parameter θ at step t, with learning rate γ, (β₁, β₂), momentum decay ψ,
    weight decay λ, moments m, v starting at zero and Π (the product of the μ's) at one::

        g = ∇ + λθ                      (with maximize: g = −∇ + λθ)
        μₜ = β₁(1 − ½ · 0.96^(tψ)),   μₜ₊₁ = β₁(1 − ½ · 0.96^((t+1)ψ))
        Π = Π · μₜ
        m = β₁m + (1 − β₁) g
        v = β₂v + (1 − β₂) g²
        d = √(v / (1 − β₂ᵗ)) + ε
        θ = θ − γ(1 − μₜ)/(1 − Π) · g/d − γμₜ₊₁/(1 − Π·μₜ₊₁) · m/d

    Args:
        params: tensors or parameter groups to optimize.
        lr: learning rate γ.
        betas: (β₁, β₂), the decays of the two moment estimates.
        eps: ε, added to the denominator for stability.
        weight_decay: λ, the L2 penalty's coefficient.
        momentum_decay: ψ, how fast μₜ approaches β₁.
        maximize: ascend the objective instead of descending it.

    Example:
        >>> import shenjing as sj
        >>> w = sj.tensor([3.0], requires_grad=True)
        >>> opt = sj.optim.NAdam([w], lr=0.1)
        >>> for _ in range(300):
        ...     w.grad = sj.tensor(2 * w.array)
        ...     opt.step()
        >>> abs(w.item()) < 0.05
        True
    """

    def __init__(
        self,
        params: ParamsLike | None = None,
        lr: float = 2e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 0,
        momentum_decay: float = 4e-3,
        maximize: bool = False,
    ) -> None:
        defaults = {
            "lr": lr, "betas": betas, "eps": eps, "weight_decay": weight_decay,
            "momentum_decay": momentum_decay, "maximize": maximize,
        }
        super().__init__(params, defaults)

    def check_hyperparameters(self, group: dict[str, Any]) -> None:
        check_common(group)
        check_betas(group["betas"])
        check_non_negative("momentum_decay value", group["momentum_decay"])

    def init_state(self, param: Array, group: dict[str, Any]) -> dict[str, Any]:
        xp = get_array_module(param)
        return {
            "step": 0, "mu_product": 1.0,
            "exp_avg": xp.zeros_like(param), "exp_avg_sq": xp.zeros_like(param),
        }

    def update_param(
        self, param: Array, grad: Array, state: dict[str, Any], group: dict[str, Any]
    ) -> None:
        xp = get_array_module(param)
        lr, (beta1, beta2), psi = group["lr"], group["betas"], group["momentum_decay"]
        g = self._effective_grad(param, grad, group["weight_decay"], group["maximize"])
        state["step"] += 1
        t = state["step"]
        mu = beta1 * (1 - 0.5 * 0.96 ** (t * psi))
        mu_next = beta1 * (1 - 0.5 * 0.96 ** ((t + 1) * psi))
        state["mu_product"] *= mu
        mu_product = state["mu_product"]
        exp_avg, exp_avg_sq = state["exp_avg"], state["exp_avg_sq"]
        denom, step = self._scratch(param), self._scratch(param, "tmp2")

        exp_avg *= beta1
        xp.multiply(g, 1 - beta1, out=denom)
        exp_avg += denom
        exp_avg_sq *= beta2
        xp.multiply(g, g, out=denom)
        denom *= 1 - beta2
        exp_avg_sq += denom
        xp.divide(exp_avg_sq, 1 - beta2**t, out=denom)
        xp.sqrt(denom, out=denom)
        denom += group["eps"]
        xp.divide(g, denom, out=step)
        step *= lr * (1 - mu) / (1 - mu_product)
        param -= step
        xp.divide(exp_avg, denom, out=step)
        step *= lr * mu_next / (1 - mu_product * mu_next)
        param -= step
