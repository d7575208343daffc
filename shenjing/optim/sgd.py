"""Stochastic gradient descent, with heavy-ball or Nesterov momentum."""

from __future__ import annotations

from typing import Any

from shenjing.backend import get_array_module
from shenjing.optim import _cuda_kernels as cuda_kernels
from shenjing.optim import _numba_kernels as cpu_kernels
from shenjing.optim.optimizer import (
    Array,
    Optimizer,
    ParamsLike,
    check_common,
    check_non_negative,
    check_number,
)


class SGD(Optimizer):
    """Gradient descent on whatever batch the gradient came from, optionally with momentum.

    For each parameter θ with gradient ∇, learning rate γ, momentum μ, dampening τ and
    weight decay λ::

        g = ∇ + λθ                      (with maximize: g = −∇ + λθ)
        b = g                           on the first step, then  b = μb + (1 − τ)g
        g = g + μb   if nesterov,   g = b   if μ > 0
        θ = θ − γg

    The buffer b holds no learning rate (PyTorch's convention): with constant γ,
    b = −v/γ for the velocity v of the textbook form v = μv − γg, θ = θ + v. Nesterov's
    look-ahead is folded into the update so that the gradient is taken at the current θ.

    Full-batch gradient descent is SGD whose one batch holds the whole data set;
    mini-batch SGD is SGD fed by ``DataLoader(dataset, batch_size=B, shuffle=True)``.

    Args:
        params: tensors or parameter groups to optimize.
        lr: learning rate γ.
        momentum: momentum factor μ (0 turns momentum off).
        dampening: τ, scales down the gradient added to the buffer.
        weight_decay: λ, the L2 penalty's coefficient.
        nesterov: use Nesterov momentum (needs μ > 0 and τ = 0).
        maximize: ascend the objective instead of descending it.

    Example:
        >>> import shenjing as sj
        >>> w = sj.tensor([3.0], requires_grad=True)
        >>> opt = sj.optim.SGD([w], lr=0.1, momentum=0.9, nesterov=True)
        >>> for _ in range(200):
        ...     w.grad = sj.tensor(2 * w.array)      # d(w²)/dw
        ...     opt.step()
        >>> abs(w.item()) < 1e-3
        True
    """

    def __init__(
        self,
        params: ParamsLike | None = None,
        lr: float = 1e-3,
        momentum: float = 0,
        dampening: float = 0,
        weight_decay: float = 0,
        nesterov: bool = False,
        maximize: bool = False,
    ) -> None:
        defaults = {
            "lr": lr, "momentum": momentum, "dampening": dampening,
            "weight_decay": weight_decay, "nesterov": nesterov, "maximize": maximize,
        }
        super().__init__(params, defaults)

    def check_hyperparameters(self, group: dict[str, Any]) -> None:
        check_common(group)
        check_non_negative("momentum value", group["momentum"])
        check_number("dampening value", group["dampening"])
        if group["nesterov"] and (group["momentum"] <= 0 or group["dampening"] != 0):
            raise ValueError("Nesterov momentum requires a momentum and zero dampening")

    def update_is_cheap(self, group: dict[str, Any]) -> bool:
        return group["momentum"] == 0 and group["weight_decay"] == 0 and not group["maximize"]

    def has_device_kernel(self, xp: Any, group: dict[str, Any]) -> bool:
        return cuda_kernels.available(xp) and group["momentum"] != 0

    def update_param(
        self, param: Array, grad: Array, state: dict[str, Any], group: dict[str, Any]
    ) -> None:
        xp = get_array_module(param)
        lr, momentum, dampening = group["lr"], group["momentum"], group["dampening"]
        g = self._effective_grad(param, grad, group["weight_decay"], group["maximize"])
        direction = g
        if momentum != 0:
            buf = state.get("momentum_buffer")
            if buf is None:
                buf = state["momentum_buffer"] = g.astype(param.dtype, copy=True)
            elif self.has_device_kernel(xp, group):
                cuda_kernels.sgd_momentum(xp, param, g, buf, lr, momentum, dampening,
                                          group["nesterov"])
                return
            elif cpu_kernels.wanted(param, buf):  # the CPU kernel tier: one pass
                cpu_kernels.sgd_momentum(param, g, buf, lr, momentum, dampening,
                                         group["nesterov"])
                return
            else:
                buf *= momentum
                if dampening == 0:
                    buf += g
                else:
                    scaled = self._scratch(param)
                    xp.multiply(g, 1 - dampening, out=scaled)
                    buf += scaled
            if group["nesterov"]:
                direction = self._scratch(param)
                xp.multiply(buf, momentum, out=direction)
                direction += g
            else:
                direction = buf
        step = self._scratch(param)
        xp.multiply(direction, lr, out=step)
        param -= step
