"""Adadelta: steps scaled by the ratio of running RMS of updates to that of gradients."""

from __future__ import annotations

from typing import Any

from shenjing.backend import get_array_module
from shenjing.optim.optimizer import (
    Array,
    Optimizer,
    ParamsLike,
    check_common,
    check_fraction,
)


class Adadelta(Optimizer):
    """Adadelta (Zeiler, 2012): the step's units come from past steps, not from a rate.

    For each parameter θ, with decay ρ, weight decay λ and running averages E[g²] and
    E[Δθ²] that start at zero::

        g = ∇ + λθ                      (with maximize: g = −∇ + λθ)
        E[g²] = ρ E[g²] + (1 − ρ) g²
        Δθ = √(E[Δθ²] + ε) / √(E[g²] + ε) · g
        E[Δθ²] = ρ E[Δθ²] + (1 − ρ) Δθ²
        θ = θ − γ Δθ

    ε sits inside the roots, as in the paper and PyTorch; γ = 1 is the paper's method.

    Args:
        params: tensors or parameter groups to optimize.
        lr: γ, a factor on Δθ.
        rho: ρ, the decay of both running averages.
        eps: ε, keeps the roots away from zero (and starts the first steps).
        weight_decay: λ, the L2 penalty's coefficient.
        maximize: ascend the objective instead of descending it.

    Example:
        >>> import shenjing as sj
        >>> w = sj.tensor([3.0], requires_grad=True)
        >>> opt = sj.optim.Adadelta([w], lr=1.0)
        >>> w.grad = sj.tensor(2 * w.array)
        >>> opt.step()
        >>> 2.99 < w.item() < 3.0                  # the first steps are ~√ε small
        True
    """

    def __init__(
        self,
        params: ParamsLike | None = None,
        lr: float = 1.0,
        rho: float = 0.9,
        eps: float = 1e-6,
        weight_decay: float = 0,
        maximize: bool = False,
    ) -> None:
        defaults = {
            "lr": lr, "rho": rho, "eps": eps, "weight_decay": weight_decay,
            "maximize": maximize,
        }
        super().__init__(params, defaults)

    def check_hyperparameters(self, group: dict[str, Any]) -> None:
        check_common(group)
        check_fraction("rho value", group["rho"], include_one=True)

    def init_state(self, param: Array, group: dict[str, Any]) -> dict[str, Any]:
        xp = get_array_module(param)
        return {"step": 0, "square_avg": xp.zeros_like(param), "acc_delta": xp.zeros_like(param)}

    def update_param(
        self, param: Array, grad: Array, state: dict[str, Any], group: dict[str, Any]
    ) -> None:
        xp = get_array_module(param)
        rho, eps = group["rho"], group["eps"]
        state["step"] += 1
        g = self._effective_grad(param, grad, group["weight_decay"], group["maximize"])
        square_avg, acc_delta = state["square_avg"], state["acc_delta"]
        tmp, delta = self._scratch(param), self._scratch(param, "tmp2")

        square_avg *= rho
        xp.multiply(g, g, out=tmp)
        tmp *= 1 - rho
        square_avg += tmp
        xp.add(square_avg, eps, out=tmp)
        xp.sqrt(tmp, out=tmp)  # √(E[g²] + ε)
        xp.add(acc_delta, eps, out=delta)
        xp.sqrt(delta, out=delta)
        delta /= tmp
        delta *= g
        acc_delta *= rho
        xp.multiply(delta, delta, out=tmp)
        tmp *= 1 - rho
        acc_delta += tmp
        delta *= group["lr"]
        param -= delta
