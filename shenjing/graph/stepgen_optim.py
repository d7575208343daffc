"""The optimizer emitters of ``sj.compile``'s whole-step generator (``stepgen.py``).

Each supported optimizer gives the loop that updates one parameter in place from its
gradient, written with the float operations of the optimizer's own kernel
(``optim/_numba_kernels.py``), and the Python that, at every call, reads the group's
hyperparameters (so a learning-rate scheduler takes effect), checks the state is the one
the generated step was bound to, and turns them into the loop's scalars in the
parameter's dtype, as the kernel tier does. An optimizer or option not handled here
(AMSGrad, lr = 0, an unknown subclass) leaves that call to the plan.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from shenjing.optim import SGD, Adam, AdamW


class OptimizerEmitter:
    """One optimizer's part of a generated step.

    ``state_keys`` are the per-parameter state arrays the loop reads and writes, in the
    order the generated function takes them; ``scalars`` the number of per-group scalars.
    """

    state_keys: tuple[str, ...] = ()
    scalars = 0
    lazy_state = False  # whether a state array may be missing until the first step

    def loop(self, p: str, g: str, states: list[str], h: str) -> list[str]:
        """The update of flat arrays ``p`` (parameter), ``g`` (gradient) and ``states``,
        with the group's scalars ``h[0]``, ``h[1]``, ...."""
        raise NotImplementedError

    def prepare(self, optimizer: Any, group: dict, params: list[Any],
                arrays: list[Any]) -> list[list[Any]] | None:
        """Each parameter's state arrays (made as ``step()`` would on a first step), or
        None where this group cannot be generated now."""
        raise NotImplementedError

    def hyper(self, optimizer: Any, group: dict, params: list[Any], out: Any) -> Any:
        """Write the group's scalars into ``out`` and return what ``after`` needs; None:
        leave this call to the plan."""
        raise NotImplementedError

    def after(self, optimizer: Any, params: list[Any], states: list[list[Any]],
              token: Any) -> None:
        """Record the step in each parameter's state (Adam's step count, SGD's buffer)."""


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

    def prepare(self, optimizer: Any, group: dict, params: list[Any],
                arrays: list[Any]) -> list[list[Any]] | None:
        out = []
        for p, a in zip(params, arrays, strict=True):
            state = optimizer.state.get(p)
            if state is None:
                state = optimizer.state[p] = optimizer.init_state(a, group)
            if set(state) != {"step", *self.state_keys}:
                return None
            out.append([state[key] for key in self.state_keys])
        return out

    def hyper(self, optimizer: Any, group: dict, params: list[Any], out: Any) -> Any:
        lr, (beta1, beta2), weight_decay = group["lr"], group["betas"], group["weight_decay"]
        if lr == 0 or group["amsgrad"]:
            return None
        state = optimizer.state
        t = state[params[0]]["step"]
        for p in params:
            if state[p]["step"] != t:
                return None
        t += 1
        decay = 1.0
        if optimizer.decoupled_weight_decay:
            decay, weight_decay = 1 - lr * weight_decay, 0
        step_size = lr / (1 - beta1**t)
        root_correction = math.sqrt(1 - beta2**t)
        maximize = group["maximize"]
        out[:] = (beta1, 1 - beta1, beta2, 1 - beta2, 1 / (root_correction * step_size),
                  decay, weight_decay != 0 or maximize, -1.0 if maximize else 1.0,
                  weight_decay, group["eps"] / step_size)
        return t

    def after(self, optimizer: Any, params: list[Any], states: list[list[Any]],
              token: Any) -> None:
        state, t = optimizer.state, token
        for p in params:
            state[p]["step"] = t


class SGDEmitter(OptimizerEmitter):
    """SGD, as ``SGD.update_param``: g = ±∇ + λθ; with momentum μ, b = g on the first
    step, then b = μb + (1 − τ)g, and d = g + μb (Nesterov) or b; θ −= γd."""

    state_keys = ("momentum_buffer",)
    scalars = 8
    lazy_state = True

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

    def prepare(self, optimizer: Any, group: dict, params: list[Any],
                arrays: list[Any]) -> list[list[Any]] | None:
        out = []
        for p, a in zip(params, arrays, strict=True):
            state = optimizer.state.get(p)
            buf = None if state is None else state.get("momentum_buffer")
            if state is not None and set(state) - {"momentum_buffer"}:
                return None
            # A first step makes the buffer (b = g); until then it is kept here.
            out.append([np.zeros_like(a) if buf is None else buf])
        return out

    def hyper(self, optimizer: Any, group: dict, params: list[Any], out: Any) -> Any:
        state = optimizer.state
        firsts = {(state.get(p) or {}).get("momentum_buffer") is None for p in params}
        if len(firsts) != 1:
            return None
        first = firsts.pop()
        wd, maximize = group["weight_decay"], group["maximize"]
        out[:] = (group["lr"], group["momentum"], 1 - group["dampening"], group["nesterov"],
                  wd != 0 or maximize, -1.0 if maximize else 1.0, wd, first)
        return group["momentum"] != 0

    def after(self, optimizer: Any, params: list[Any], states: list[list[Any]],
              token: Any) -> None:
        if not token:  # without momentum, SGD keeps no state
            return
        state = optimizer.state
        for p, (buf,) in zip(params, states, strict=True):
            entry = state.get(p)
            if entry is None:
                entry = state[p] = {}
            if entry.get("momentum_buffer") is not buf:
                entry["momentum_buffer"] = buf


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
