"""Adamax: Adam with the infinity norm in place of the root mean square."""

from __future__ import annotations

from typing import Any

from shenjing.backend import get_array_module
from shenjing.optim.optimizer import Array, Optimizer, ParamsLike, check_betas, check_common


class Adamax(Optimizer):
    """Adamax (Kingma & Ba, 2015, section 7.1): Adam's second moment replaced by an
    exponentially weighted infinity norm, which needs no bias correction.

    For each parameter θ at step t, with learning rate γ, (β₁, β₂), weight decay λ, and
    m, u starting at zero::

        g = ∇ + λθ                      (with maximize: g = −∇ + λθ)
        m = β₁m + (1 − β₁) g
        u = max(β₂u, |g| + ε)
        θ = θ − γ/(1 − β₁ᵗ) · m / u

    ε enters inside the max, as in PyTorch, so u is never zero.

    Args:
        params: tensors or parameter groups to optimize.
        lr: learning rate γ.
        betas: (β₁, β₂), the decays of m and u.
        eps: ε, keeps u away from zero.
        weight_decay: λ, the L2 penalty's coefficient.
        maximize: ascend the objective instead of descending it.

    Example:
        >>> import shenjing as sj
        >>> w = sj.tensor([3.0], requires_grad=True)
        >>> opt = sj.optim.Adamax([w], lr=0.1)
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
        maximize: bool = False,
    ) -> None:
        defaults = {
            "lr": lr, "betas": betas, "eps": eps, "weight_decay": weight_decay,
            "maximize": maximize,
        }
        super().__init__(params, defaults)

    def check_hyperparameters(self, group: dict[str, Any]) -> None:
        check_common(group)
        check_betas(group["betas"])

    def init_state(self, param: Array, group: dict[str, Any]) -> dict[str, Any]:
        xp = get_array_module(param)
        return {"step": 0, "exp_avg": xp.zeros_like(param), "exp_inf": xp.zeros_like(param)}

    def update_param(
        self, param: Array, grad: Array, state: dict[str, Any], group: dict[str, Any]
    ) -> None:
        xp = get_array_module(param)
        beta1, beta2 = group["betas"]
        g = self._effective_grad(param, grad, group["weight_decay"], group["maximize"])
        state["step"] += 1
        exp_avg, exp_inf, tmp = state["exp_avg"], state["exp_inf"], self._scratch(param)

        exp_avg *= beta1
        xp.multiply(g, 1 - beta1, out=tmp)
        exp_avg += tmp
        exp_inf *= beta2
        xp.abs(g, out=tmp)
        tmp += group["eps"]
        xp.maximum(exp_inf, tmp, out=exp_inf)
        xp.divide(exp_avg, exp_inf, out=tmp)
        tmp *= group["lr"] / (1 - beta1 ** state["step"])
        param -= tmp
