"""Adagrad: per-coordinate learning rates from the sum of squared gradients."""

from __future__ import annotations

from typing import Any

from shenjing.backend import get_array_module
from shenjing.optim.optimizer import Array, Optimizer, ParamsLike, check_common, check_non_negative


class Adagrad(Optimizer):
    """Adagrad (Duchi, Hazan & Singer, 2011): each coordinate's step shrinks with the
    squared gradients it has seen, so rarely-updated coordinates keep large steps.

    For each parameter θ at step t, with learning rate γ, decay η, weight decay λ and a
    sum s that starts at ``initial_accumulator_value``::

        g = ∇ + λθ                      (with maximize: g = −∇ + λθ)
        γₜ = γ / (1 + (t − 1)η)
        s = s + g²
        θ = θ − γₜ g / (√s + ε)

    Args:
        params: tensors or parameter groups to optimize.
        lr: learning rate γ.
        lr_decay: η, a 1/t decay of the learning rate.
        weight_decay: λ, the L2 penalty's coefficient.
        initial_accumulator_value: the starting value of s.
        eps: ε, added to √s (outside the root, as PyTorch) for stability.
        maximize: ascend the objective instead of descending it.

    Example:
        >>> import shenjing as sj
        >>> w = sj.tensor([3.0], requires_grad=True)
        >>> opt = sj.optim.Adagrad([w], lr=1.0)
        >>> for _ in range(100):
        ...     w.grad = sj.tensor(2 * w.array)
        ...     opt.step()
        >>> abs(w.item()) < 1e-2
        True
    """

    def __init__(
        self,
        params: ParamsLike | None = None,
        lr: float = 1e-2,
        lr_decay: float = 0,
        weight_decay: float = 0,
        initial_accumulator_value: float = 0,
        eps: float = 1e-10,
        maximize: bool = False,
    ) -> None:
        defaults = {
            "lr": lr, "lr_decay": lr_decay, "weight_decay": weight_decay,
            "initial_accumulator_value": initial_accumulator_value, "eps": eps,
            "maximize": maximize,
        }
        super().__init__(params, defaults)

    def check_hyperparameters(self, group: dict[str, Any]) -> None:
        check_common(group)
        check_non_negative("lr_decay value", group["lr_decay"])
        check_non_negative(
            "initial_accumulator_value value", group["initial_accumulator_value"]
        )

    def init_state(self, param: Array, group: dict[str, Any]) -> dict[str, Any]:
        xp = get_array_module(param)
        return {"step": 0, "sum": xp.full_like(param, group["initial_accumulator_value"])}

    def update_param(
        self, param: Array, grad: Array, state: dict[str, Any], group: dict[str, Any]
    ) -> None:
        xp = get_array_module(param)
        state["step"] += 1
        lr_t = group["lr"] / (1 + (state["step"] - 1) * group["lr_decay"])
        g = self._effective_grad(param, grad, group["weight_decay"], group["maximize"])
        tmp = self._scratch(param)
        square_sum = state["sum"]
        xp.multiply(g, g, out=tmp)
        square_sum += tmp
        xp.sqrt(square_sum, out=tmp)
        tmp += group["eps"]
        xp.divide(g, tmp, out=tmp)  # g / (√s + ε)
        tmp *= lr_t
        param -= tmp
