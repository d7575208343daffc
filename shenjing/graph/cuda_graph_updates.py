"""The optimizer updates a CUDA graph captures, with their hyperparameters on the device.

A captured graph replays the kernel arguments it recorded, so an update whose scalars
change between steps (Adam's bias corrections every step, ``lr`` under a scheduler)
cannot take them as arguments. Here each update reads them from a small device buffer
instead, which the host fills before every launch (``GraphBackend.set_scalars``); the
float operations are those of the optimizer's own ``update_param``, in the same order:

- Adam and AdamW (not AMSGrad): ``adam_update``; the host keeps the step count;
- SGD with or without momentum, dampening, Nesterov: ``sgd_update``;

both with L2 weight decay and ``maximize``. Any other optimizer is ``NotCapturable``.
Used by ``shenjing/graph/cuda_graph.py``; one ``Update`` per flat layout (the small
parameters, ``shenjing.optim.fused``) and one per other parameter with a gradient.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

from shenjing._cuda import available as _kernels_on
from shenjing._cuda import elementwise_kernel
from shenjing.backend import is_array

SCALARS = 12
"""The most per-step scalars one update needs (Adam: 10): the device buffer's size."""


class NotCapturable(RuntimeError):
    """The step cannot be recorded as one graph; it runs uncaptured."""


def _kind(optimizer: Any) -> str | None:
    """"adam" or "sgd" for an optimizer whose update can be captured, else None."""
    from shenjing.optim.adam import Adam
    from shenjing.optim.optimizer import Optimizer
    from shenjing.optim.sgd import SGD

    cls = type(optimizer)
    if cls._effective_grad is not Optimizer._effective_grad:
        return None
    if cls.update_param is Adam.update_param:
        return "adam"
    if cls.update_param is SGD.update_param:
        return "sgd"
    return None


def check_optimizer(optimizer: Any) -> None:
    """Raise ``NotCapturable`` unless ``optimizer``'s update can be captured."""
    kind = _kind(optimizer)
    if kind is None:
        raise NotCapturable(f"{type(optimizer).__name__}'s update reads host values; "
                            "Adam, AdamW and SGD are captured")
    if kind == "adam" and any(group["amsgrad"] for group in optimizer.param_groups):
        raise NotCapturable("Adam with amsgrad=True is not captured")


class Update:
    """One captured in-place update: a parameter array (or a flat layout), its gradient,
    its state, and the device buffer its per-step scalars go to."""

    def __init__(self, kind: str, optimizer: Any, group: dict, param: Any, grad: Any,
                 state: dict, after: Callable[[], None] | None, xp: Any) -> None:
        self.kind, self.optimizer, self.group = kind, optimizer, group
        self.param, self.grad_of, self.state, self.after = param, grad, state, after
        # Filled before every launch; ones until then, so that the stand-in's capture,
        # which runs the update on them, divides by no zero.
        self.scalars = xp.ones(SCALARS, param.dtype)
        self.structure = self._structure()
        if kind == "sgd" and group["momentum"] != 0 and state.get("momentum_buffer") is None:
            raise NotCapturable("SGD's momentum buffer is made by its first step")

    def _structure(self) -> tuple:
        group = self.group
        if self.kind == "sgd":
            return ("sgd", group["momentum"] != 0, bool(group["nesterov"]))
        return ("adam", bool(group["amsgrad"]))

    def identity(self) -> list[Any]:
        """What the graph recorded: the arrays' identities and the update's structure."""
        return [id(self.param), *(id(v) for v in self.state.values() if is_array(v)),
                self.structure if self._structure() == self.structure else None]

    def host_scalars(self) -> list[float]:
        """This step's scalars; advances Adam's step count, as its ``update_param``."""
        group = self.group
        sign = -1.0 if group["maximize"] else 1.0
        if self.kind == "sgd":
            return [group["lr"], sign, group["weight_decay"], group["momentum"],
                    1 - group["dampening"]]
        lr, (beta1, beta2), weight_decay = group["lr"], group["betas"], group["weight_decay"]
        decay = 1.0
        if self.optimizer.decoupled_weight_decay:
            if weight_decay != 0:
                decay = 1 - lr * weight_decay
            weight_decay = 0
        self.state["step"] += 1
        t = self.state["step"]
        if self.after is not None:
            self.after()
        step_size = lr / (1 - beta1**t)
        if step_size == 0:  # lr = 0: the moments move, θ stays (as update_param)
            active, inverse, eps_term = 0.0, 1.0, 1.0
        else:
            active = 1.0
            inverse = 1 / (math.sqrt(1 - beta2**t) * step_size)
            eps_term = group["eps"] / step_size
        return [active, sign, weight_decay, decay, beta1, 1 - beta1, beta2, 1 - beta2,
                inverse, eps_term]

    def upload(self, backend: Any, xp: Any) -> None:
        """Before a launch: this step's scalars to the device."""
        backend.set_scalars(xp, self.scalars, self.host_scalars())

    def launch(self, xp: Any) -> None:
        """The update itself (recorded by a capture)."""
        grad = self.grad_of()
        if self.kind == "adam":
            adam_update(xp, self.param, grad, self.state["exp_avg"],
                        self.state["exp_avg_sq"], self.scalars)
        else:
            sgd_update(xp, self.param, grad, self.state.get("momentum_buffer"),
                       self.scalars, bool(self.group["nesterov"]))


def updates_of(optimizer: Any, fused: dict, xp: Any) -> list[Update]:
    """The captured updates of ``optimizer.step()`` as the parameters stand now: one per
    bound flat layout, one per other parameter with a gradient."""
    kind = _kind(optimizer)
    updates: list[Update] = []
    layouts: dict[int, Any] = {}
    for group in optimizer.param_groups:
        for p in group["params"]:
            if p.grad is None:
                continue
            entry = fused.get(id(p))
            if entry is not None:
                layout, k = entry
                if layout.optimizer is not optimizer or p.grad is not layout.grad_tensors[k]:
                    raise NotCapturable("a flat-layout parameter's gradient is elsewhere")
                layouts[id(layout)] = layout
                continue
            state = optimizer.state.get(p)
            if state is None:
                raise NotCapturable("a parameter has no optimizer state yet")
            updates.append(Update(kind, optimizer, group, p.array,
                                   lambda p=p: p.grad.array, state, None, xp))
    for layout in layouts.values():
        if any(p.grad is None for p in layout.params):
            raise NotCapturable("a flat layout is only partly stepped")
        update = layout.update
        group = optimizer.param_groups[update.group_index]
        updates.append(Update(kind, optimizer, group, update.param,
                               lambda u=update: u.grad, update.state,
                               update.sync_param_states, xp))
    return updates


_ADAM = """
T g = p * s[2] + g0 * s[1];
p = p * s[3];
m = m * s[4] + g * s[5];
v = v * s[6] + g * g * s[7];
if (s[0] != 0) p -= m / (sqrt(v) * s[8] + s[9]);
"""


def adam_update(xp: Any, param: Any, grad: Any, exp_avg: Any, exp_avg_sq: Any,
                s: Any) -> None:
    """Adam's update with its scalars on the device, in place:
    g = λθ ± ∇;  θ ⊙= decay;  m = β₁m + (1 − β₁)g;  v = β₂v + (1 − β₂)g²;
    θ −= active · m / (√v·inverse + ε/s),  with
    s = [active, ±1, λ, decay, β₁, 1 − β₁, β₂, 1 − β₂, inverse, ε/s] (see ``Update``)."""
    if _kernels_on(xp):  # CuPy (or, in tests, the stand-in with host-built kernels)
        elementwise_kernel(xp, "shenjing_graph_adam", "T g0, raw T s", "T p, T m, T v",
                           _ADAM)(grad, s, param, exp_avg, exp_avg_sq)
        return
    g = param * s[2] + grad * s[1]
    param *= s[3]
    exp_avg *= s[4]
    exp_avg += g * s[5]
    exp_avg_sq *= s[6]
    exp_avg_sq += g * g * s[7]
    denominator = xp.sqrt(exp_avg_sq) * s[8] + s[9]
    param -= exp_avg / denominator * s[0]


_SGD = """
T g = p * s[2] + g0 * s[1];
b = b * s[3] + g * s[4];
p -= (nesterov ? b * s[3] + g : b) * s[0];
"""


def sgd_update(xp: Any, param: Any, grad: Any, buf: Any, s: Any, nesterov: bool) -> None:
    """SGD's update with its scalars on the device, in place: g = λθ ± ∇;
    b = μb + (1 − τ)g;  θ −= γ·(g + μb if Nesterov else b)  (θ −= γg without momentum),
    with s = [γ, ±1, λ, μ, 1 − τ]."""
    if _kernels_on(xp):  # CuPy (or, in tests, the stand-in with host-built kernels)
        if buf is None:
            elementwise_kernel(xp, "shenjing_graph_sgd", "T g0, raw T s", "T p",
                               "p -= (p * s[2] + g0 * s[1]) * s[0];")(grad, s, param)
        else:
            elementwise_kernel(xp, "shenjing_graph_sgd_momentum",
                               "T g0, raw T s, int32 nesterov", "T p, T b",
                               _SGD)(grad, s, xp.int32(nesterov), param, buf)
        return
    g = param * s[2] + grad * s[1]
    if buf is None:
        param -= g * s[0]
        return
    buf *= s[3]
    buf += g * s[4]
    direction = buf * s[3] + g if nesterov else buf
    param -= direction * s[0]
