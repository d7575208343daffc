"""RMSProp, with heavy-ball momentum or centring, and with Nesterov momentum."""

from __future__ import annotations

from typing import Any

from shenjing.backend import get_array_module
from shenjing.optim import _numba_kernels as cpu_kernels
from shenjing.optim.optimizer import (
    Array,
    Optimizer,
    ParamsLike,
    check_common,
    check_non_negative,
)


class RMSprop(Optimizer):
    """RMSProp (Hinton, 2012): divide the gradient by a running RMS of recent gradients.

    For each parameter θ, with decay α, learning rate γ, momentum μ, weight decay λ and
    running averages v = E[g²] and ḡ = E[g] that start at zero::

        g = ∇ + λθ                      (with maximize: g = −∇ + λθ)
        v = αv + (1 − α) g²
        ḡ = αḡ + (1 − α) g,   d = √(v − ḡ²) + ε     if centered (variance, not 2nd moment)
        d = √v + ε                                    otherwise
        b = μb + g / d,   θ = θ − γb                 if μ > 0
        θ = θ − γ g / d                               otherwise

    ε sits outside the root, as in PyTorch.

    Args:
        params: tensors or parameter groups to optimize.
        lr: learning rate γ.
        alpha: α, the decay of the running averages.
        eps: ε, added to the root for stability.
        weight_decay: λ, the L2 penalty's coefficient.
        momentum: μ (0 turns momentum off).
        centered: normalise by the gradient's running variance instead of its 2nd moment.
        maximize: ascend the objective instead of descending it.

    Example:
        >>> import shenjing as sj
        >>> w = sj.tensor([3.0], requires_grad=True)
        >>> opt = sj.optim.RMSprop([w], lr=0.05)
        >>> for _ in range(200):
        ...     w.grad = sj.tensor(2 * w.array)
        ...     opt.step()
        >>> abs(w.item()) < 0.1
        True
    """

    def __init__(
        self,
        params: ParamsLike | None = None,
        lr: float = 1e-2,
        alpha: float = 0.99,
        eps: float = 1e-8,
        weight_decay: float = 0,
        momentum: float = 0,
        centered: bool = False,
        maximize: bool = False,
    ) -> None:
        defaults = {
            "lr": lr, "alpha": alpha, "eps": eps, "weight_decay": weight_decay,
            "momentum": momentum, "centered": centered, "maximize": maximize,
        }
        super().__init__(params, defaults)

    def check_hyperparameters(self, group: dict[str, Any]) -> None:
        check_common(group)
        check_non_negative("alpha value", group["alpha"])
        check_non_negative("momentum value", group["momentum"])

    def init_state(self, param: Array, group: dict[str, Any]) -> dict[str, Any]:
        xp = get_array_module(param)
        state = {"step": 0, "square_avg": xp.zeros_like(param)}
        if group["momentum"] > 0:
            state["momentum_buffer"] = xp.zeros_like(param)
        if group["centered"]:
            state["grad_avg"] = xp.zeros_like(param)
        return state

    def update_param(
        self, param: Array, grad: Array, state: dict[str, Any], group: dict[str, Any]
    ) -> None:
        xp = get_array_module(param)
        alpha, lr, momentum = group["alpha"], group["lr"], group["momentum"]
        state["step"] += 1
        g = self._effective_grad(param, grad, group["weight_decay"], group["maximize"])
        grad_avg = state["grad_avg"] if group["centered"] else None
        buf = state["momentum_buffer"] if momentum > 0 else None
        if cpu_kernels.wanted(param, state["square_avg"], grad_avg, buf):  # one pass
            cpu_kernels.rmsprop(param, g, state["square_avg"], grad_avg, buf, alpha,
                                group["eps"], lr, momentum)
            return
        square_avg, tmp = state["square_avg"], self._scratch(param)

        square_avg *= alpha
        xp.multiply(g, g, out=tmp)
        tmp *= 1 - alpha
        square_avg += tmp
        if group["centered"]:
            grad_avg = state["grad_avg"]
            grad_avg *= alpha
            xp.multiply(g, 1 - alpha, out=tmp)
            grad_avg += tmp
            xp.multiply(grad_avg, grad_avg, out=tmp)
            xp.subtract(square_avg, tmp, out=tmp)
            xp.sqrt(tmp, out=tmp)
        else:
            xp.sqrt(square_avg, out=tmp)
        tmp += group["eps"]
        xp.divide(g, tmp, out=tmp)  # g / d
        if momentum > 0:
            buf = state["momentum_buffer"]
            buf *= momentum
            buf += tmp
            xp.multiply(buf, lr, out=tmp)
        else:
            tmp *= lr
        param -= tmp


class RMSpropNesterov(Optimizer):
    """RMSProp with Nesterov momentum (Goodfellow, Bengio & Courville, *Deep Learning*,
    Algorithm 8.6), reformulated so the gradient is taken at the current parameters.

    Algorithm 8.6, with learning rate γ, decay ρ (here ``alpha``), momentum α (here
    ``momentum``), velocity v and accumulator r, both starting at zero::

        θ̃ = θ + αv                     interim point
        g = ∇L(θ̃)                      gradient at the interim point
        r = ρr + (1 − ρ) g²
        v = αv − γ g / √r
        θ = θ + v

    Reformulation. Store φ = θ + αv (the interim point) as the parameters, and
    b = −v/γ as the momentum buffer. The gradient is then taken at the stored φ, and
    with ĝ = g / (√r + ε)::

        r = ρr + (1 − ρ) g²
        b = αb + ĝ                      (this is v = αv − γĝ)
        φ = φ − γ(ĝ + αb)

    Equivalence: φ' = θ' + αv' = θ + v' + αv' = (φ − αv) + (1 + α)v', and αv = v' + γĝ,
    so φ' = φ + αv' − γĝ = φ − γ(ĝ + αb'). This is the same fold PyTorch's Nesterov SGD
    uses. For a constant γ the iterates are exactly the interim points θ̃ of Algorithm 8.6;
    under a schedule, γ scales the whole step (the buffer holds no learning rate). As
    in ``RMSprop``, ε sits outside the root (the book's Algorithm 8.5 puts δ inside).

    Args:
        params: tensors or parameter groups to optimize.
        lr: learning rate γ.
        alpha: ρ, the decay of the squared-gradient average.
        eps: ε, added to √r for stability.
        momentum: α, the Nesterov momentum.
        weight_decay: λ, adds λφ to the gradient (L2 penalty).
        maximize: ascend the objective instead of descending it.

    Example:
        >>> import shenjing as sj
        >>> w = sj.tensor([3.0], requires_grad=True)
        >>> opt = sj.optim.RMSpropNesterov([w], lr=0.01, momentum=0.9)
        >>> for _ in range(300):
        ...     w.grad = sj.tensor(2 * w.array)
        ...     opt.step()
        >>> abs(w.item()) < 0.1
        True
    """

    def __init__(
        self,
        params: ParamsLike | None = None,
        lr: float = 1e-2,
        alpha: float = 0.99,
        eps: float = 1e-8,
        momentum: float = 0.9,
        weight_decay: float = 0,
        maximize: bool = False,
    ) -> None:
        defaults = {
            "lr": lr, "alpha": alpha, "eps": eps, "momentum": momentum,
            "weight_decay": weight_decay, "maximize": maximize,
        }
        super().__init__(params, defaults)

    def check_hyperparameters(self, group: dict[str, Any]) -> None:
        check_common(group)
        check_non_negative("alpha value", group["alpha"])
        check_non_negative("momentum value", group["momentum"])

    def init_state(self, param: Array, group: dict[str, Any]) -> dict[str, Any]:
        xp = get_array_module(param)
        return {
            "step": 0, "square_avg": xp.zeros_like(param), "momentum_buffer": xp.zeros_like(param),
        }

    def update_param(
        self, param: Array, grad: Array, state: dict[str, Any], group: dict[str, Any]
    ) -> None:
        xp = get_array_module(param)
        alpha, lr, momentum = group["alpha"], group["lr"], group["momentum"]
        state["step"] += 1
        g = self._effective_grad(param, grad, group["weight_decay"], group["maximize"])
        square_avg, buf, tmp = state["square_avg"], state["momentum_buffer"], self._scratch(param)

        square_avg *= alpha
        xp.multiply(g, g, out=tmp)
        tmp *= 1 - alpha
        square_avg += tmp
        xp.sqrt(square_avg, out=tmp)
        tmp += group["eps"]
        xp.divide(g, tmp, out=tmp)  # ĝ
        buf *= momentum
        buf += tmp
        tmp *= lr
        param -= tmp  # φ − γĝ ...
        xp.multiply(buf, lr * momentum, out=tmp)
        param -= tmp  # ... − γαb
