"""The optimizer emitters of ``sj.compile``'s whole-step generator (``stepgen.py``).

Each supported optimizer gives the loop that updates one parameter in place from its
gradient, written with the float operations of the optimizer's own kernel
(``optim/_numba_kernels.py``), and the Python that, at every call, reads the group's
hyperparameters (so a learning-rate scheduler takes effect) and turns them into the
loop's scalars in the parameter's dtype, as the kernel tier does. A group's parameters,
gradients and state are laid out flat (``optim/fused.py``'s ``FusedParams``, which eager
steps share), so the update is one loop per group. An optimizer or option not handled here
(AMSGrad, lr = 0, an unknown subclass) leaves that call to the plan.
"""

from __future__ import annotations

import math
from typing import Any

from shenjing.optim import SGD, Adam, AdamW


class OptimizerEmitter:
    """One optimizer's part of a generated step.

    ``state_keys`` are the per-parameter state arrays the loop reads and writes, in the
    order the generated function takes them; ``scalars`` the number of per-group scalars.
    """

    state_keys: tuple[str, ...] = ()
    scalars = 0

    def loop(self, p: str, g: str, states: list[str], h: str) -> list[str]:
        """The update of flat arrays ``p`` (parameter), ``g`` (gradient) and ``states``,
        with the group's scalars ``h[0]``, ``h[1]``, ...."""
        raise NotImplementedError

    def arrays(self, update: Any, group: dict) -> list[Any] | None:
        """The flat state arrays of a group's layout (``optim.fused.FusedUpdate``) that
        the loop takes, in ``state_keys`` order; None where the state is not this
        optimizer's usual one."""
        raise NotImplementedError

    def hyper(self, update: Any, group: dict, out: Any) -> Any:
        """Write the group's scalars into ``out`` and return what ``after`` needs; None:
        leave this call to the plan."""
        raise NotImplementedError

    def after(self, update: Any, arrays: list[Any], token: Any) -> None:
        """Record the step in the layout's state (Adam's step count, SGD's buffer) and
        share it with each parameter's state."""


class AdamEmitter(OptimizerEmitter):
    """Adam and AdamW, as ``Adam.update_param`` on the kernel tier: θ ⊙= 1 − γλ (AdamW);
    g = ±∇ + λθ (Adam's L2); m = β₁m + (1 − β₁)g; v = β₂v + (1 − β₂)g²;
    θ −= m / (√v·inv + ε/s) with s = γ/(1 − β₁ᵗ), inv = 1/(√(1 − β₂ᵗ)·s)."""

    state_keys = ("exp_avg", "exp_avg_sq")
    scalars = 10

    def loop(self, p: str, g: str, states: list[str], h: str) -> list[str]:
        m, v = states
        # The scalars are read into locals first: read from ``h`` inside the loop, they
        # would be reloaded after every store (LLVM cannot rule out that ``h`` aliases
        # the arrays), and the loop would not vectorise.
        return [*_locals(h, ["b1", "omb1", "b2", "omb2", "inv", "decay", "alter", "sign",
                             "wd", "eps"]),
                f"for k in range({p}.size):",
                f"    gk = {g}[k] * sign + wd * {p}[k] if alter else {g}[k]",
                f"    mk = {m}[k] * b1 + gk * omb1",
                f"    vk = {v}[k] * b2 + gk * gk * omb2",
                f"    {m}[k] = mk",
                f"    {v}[k] = vk",
                f"    {p}[k] = {p}[k] * decay - mk / (np.sqrt(vk) * inv + eps)"]

    def arrays(self, update: Any, group: dict) -> list[Any] | None:
        state = update.state
        if set(state) != {"step", *self.state_keys}:
            return None
        return [state[key] for key in self.state_keys]

    def hyper(self, update: Any, group: dict, out: Any) -> Any:
        lr, (beta1, beta2), weight_decay = group["lr"], group["betas"], group["weight_decay"]
        if lr == 0 or group["amsgrad"]:
            return None
        t = update.state["step"] + 1
        decay = 1.0
        if update.optimizer.decoupled_weight_decay:
            decay, weight_decay = 1 - lr * weight_decay, 0
        step_size = lr / (1 - beta1**t)
        root_correction = math.sqrt(1 - beta2**t)
        maximize = group["maximize"]
        out[:] = (beta1, 1 - beta1, beta2, 1 - beta2, 1 / (root_correction * step_size),
                  decay, weight_decay != 0 or maximize, -1.0 if maximize else 1.0,
                  weight_decay, group["eps"] / step_size)
        return t

    def after(self, update: Any, arrays: list[Any], token: Any) -> None:
        update.share_scalar("step", token)


class SGDEmitter(OptimizerEmitter):
    """SGD, as ``SGD.update_param``: g = ±∇ + λθ; with momentum μ, b = g on the first
    step, then b = μb + (1 − τ)g, and d = g + μb (Nesterov) or b; θ −= γd."""

    state_keys = ("momentum_buffer",)
    scalars = 8

    def loop(self, p: str, g: str, states: list[str], h: str) -> list[str]:
        (b,) = states
        return [*_locals(h, ["lr", "mu", "omd", "nesterov", "alter", "sign", "wd", "first"]),
                f"for k in range({p}.size):",
                f"    gk = {g}[k] * sign + wd * {p}[k] if alter else {g}[k]",
                "    d = gk",
                "    if mu != 0:",
                f"        bk = gk if first else {b}[k] * mu + gk * omd",
                f"        {b}[k] = bk",
                "        d = bk * mu + gk if nesterov else bk",
                f"    {p}[k] -= d * lr"]

    def arrays(self, update: Any, group: dict) -> list[Any] | None:
        if set(update.state) - {"momentum_buffer"}:
            return None
        buf = update.state.get("momentum_buffer")
        if buf is not None:
            return [buf]
        # Without momentum the loop never reads a buffer: the gradient stands in. Before
        # the first step with momentum, a new buffer, which that step fills (b = g).
        return [update.grad if group["momentum"] == 0 else update.param.copy()]

    def hyper(self, update: Any, group: dict, out: Any) -> Any:
        wd, maximize, momentum = group["weight_decay"], group["maximize"], group["momentum"]
        first = update.state.get("momentum_buffer") is None
        out[:] = (group["lr"], momentum, 1 - group["dampening"], group["nesterov"],
                  wd != 0 or maximize, -1.0 if maximize else 1.0, wd, first)
        return momentum != 0

    def after(self, update: Any, arrays: list[Any], token: Any) -> None:
        if token and update.state.get("momentum_buffer") is not arrays[0]:
            update.state["momentum_buffer"] = arrays[0]  # without momentum, SGD keeps none
            update._share_state()


def _locals(h: str, names: list[str]) -> list[str]:
    return [f"{name} = {h}[{k}]" for k, name in enumerate(names)]


def emitter(optimizer: Any) -> OptimizerEmitter | None:
    """The emitter of ``optimizer``'s exact class (a subclass may change the update)."""
    kind = type(optimizer)
    if kind in (Adam, AdamW):
        return AdamEmitter()
    if kind is SGD:
        return SGDEmitter()
    return None
