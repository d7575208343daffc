"""``Optimizer``: the base class every update rule builds on.

An optimizer holds *parameter groups* (lists of tensors that share hyperparameters) and
per-parameter *state* (moment estimates, step counts). ``step()`` walks every parameter
that has a gradient and hands it to the subclass's ``update_param``, which changes the
parameter's array in place (the small parameters of a group at once, laid out flat: see
``shenjing.optim.fused``). State is saved and restored with ``state_dict()`` /
``load_state_dict()`` in PyTorch's layout: parameters are named by their position
(0, 1, ... across all groups), so a saved state holds only numbers and arrays.
"""

from __future__ import annotations

import numbers
from collections.abc import Callable, Iterable
from typing import Any

import numpy as np

from shenjing.autograd import enable_grad, tracing
from shenjing.backend import device_of, get_array_module, is_array
from shenjing.optim.fused import follow_param, fusable, fused_params, worth_fusing
from shenjing.tensor import Tensor

Array = Any  # a NumPy or CuPy ndarray
ParamsLike = Iterable[Tensor] | Iterable[dict[str, Any]]


# Graph mode's ``minimize(optimizer, loss, var_list)``: shenjing.graph sits above optim
# (its sessions run the optimizers' updates), so it registers it here when it loads, and
# ``import shenjing`` loads it.
_graph_minimize: Callable[..., Any] | None = None


def register_minimize(minimize: Callable[..., Any]) -> None:
    """Make ``minimize`` what ``Optimizer.minimize`` builds; ``shenjing.graph`` calls it."""
    global _graph_minimize
    _graph_minimize = minimize


class Optimizer:
    """Base class: parameter groups, per-parameter state, ``step``, save and restore.

    A subclass passes its hyperparameters as ``defaults`` and implements two methods:
    ``init_state(param, group)`` (the state a parameter starts with) and
    ``update_param(param, grad, state, group)`` (one in-place update of the array
    ``param``). It may also override ``check_hyperparameters(group)``.

    Args:
        params: tensors to optimize, or dicts (parameter groups) each with a ``"params"``
            entry and any hyperparameters that should differ from ``defaults``. May be
            omitted (``Adam(lr=1e-3)``) for ``model.compile``, which adds the model's
            parameters with ``add_param_group`` once they exist.
        defaults: the hyperparameters of every group that does not set its own.

    Attributes:
        param_groups: list of dicts: ``"params"`` (a list of tensors) and hyperparameters.
        state: dict from parameter to its state (arrays, and ``"step"`` counts).
        defaults: the hyperparameters given to the constructor.

    Example:
        >>> import shenjing as sj
        >>> w = sj.tensor([1.0, -2.0], requires_grad=True)
        >>> opt = sj.optim.SGD([w], lr=0.5)
        >>> w.grad = sj.tensor([2.0, -4.0])
        >>> opt.step()
        >>> w.array.tolist()
        [0.0, 0.0]
    """

    def __init__(self, params: ParamsLike | None, defaults: dict[str, Any]) -> None:
        self.defaults = dict(defaults)
        self.check_hyperparameters(self.defaults)
        self.state: dict[Tensor, dict[str, Any]] = {}
        self.param_groups: list[dict[str, Any]] = []
        # Scratch arrays for the temporaries of an update, reused across parameters and
        # steps so that a step allocates nothing; not part of the saved state.
        self._scratch_arrays: dict[tuple, Array] = {}
        # Whether the small parameters of a group can share one flat update (see
        # shenjing.optim.fused); known at the first step, once every optimizer class exists.
        self._fusable: bool | None = None
        self.fused_layouts: dict[tuple, Any] = {}  # see shenjing.optim.fused.fused_params

        if params is None:  # Keras style: ``model.compile`` adds the model's parameters
            return
        if isinstance(params, (Tensor, dict)):
            raise TypeError(
                f"{self._name}: params should be an iterable of Tensors or of dicts "
                f"(parameter groups). Received: {type(params).__name__}"
            )
        params = list(params)
        if not params:
            raise ValueError(f"{self._name} got an empty parameter list")
        groups = params if isinstance(params[0], dict) else [{"params": params}]
        for group in groups:
            self.add_param_group(group)

    @property
    def _name(self) -> str:
        return type(self).__name__

    # ------------------------------------------------------------------ subclass API
    def check_hyperparameters(self, group: dict[str, Any]) -> None:
        """Raise ``ValueError``/``TypeError`` for a bad hyperparameter in ``group``."""

    def init_state(self, param: Array, group: dict[str, Any]) -> dict[str, Any]:
        """The state of a parameter before its first update."""
        return {}

    def update_param(
        self, param: Array, grad: Array, state: dict[str, Any], group: dict[str, Any]
    ) -> None:
        """Update the array ``param`` in place from its gradient ``grad``."""
        raise NotImplementedError(f"{self._name} does not implement update_param")

    # ------------------------------------------------------------------ groups
    def add_param_group(self, param_group: dict[str, Any]) -> None:
        """Add a group of parameters, with hyperparameters that default to ``defaults``.

        Useful for fine-tuning: unfreeze layers and hand them to the optimizer with a
        learning rate of their own.
        """
        if not isinstance(param_group, dict):
            raise TypeError(
                f"{self._name}: a parameter group must be a dict. "
                f"Received: {type(param_group).__name__}"
            )
        if "params" not in param_group:
            raise ValueError(f"{self._name}: a parameter group needs a 'params' entry")
        params = param_group["params"]
        if isinstance(params, Tensor):
            params = [params]
        elif isinstance(params, (set, frozenset)):
            raise TypeError(
                f"{self._name}: parameters must come in an ordered collection (list, tuple, "
                "generator); a set's order changes between runs and saved state would "
                "land on the wrong parameters"
            )
        else:
            params = list(params)

        index = len(self.param_groups)
        seen: set[int] = set()
        for i, p in enumerate(params):
            if not isinstance(p, Tensor):
                raise TypeError(
                    f"{self._name} can only optimize Tensors, but parameter {i} of group "
                    f"{index} is a {type(p).__name__}"
                )
            if p.grad_fn is not None:
                raise ValueError(
                    f"{self._name} can only optimize leaf tensors; parameter {i} of group "
                    f"{index} was made by {type(p.grad_fn).__name__}"
                )
            if id(p) in seen:
                raise ValueError(
                    f"{self._name}: parameter {i} appears twice in parameter group {index}"
                )
            seen.add(id(p))
        for other in self.param_groups:
            if any(id(p) in seen for p in other["params"]):
                raise ValueError(
                    f"{self._name}: some parameters appear in more than one parameter group"
                )

        group = {**self.defaults, **param_group, "params": params}
        self.check_hyperparameters(group)
        self.param_groups.append(group)

    # ------------------------------------------------------------------ the step
    def _check_has_params(self, method: str) -> None:
        """Raise for an optimizer made without parameters (Keras's ``Adam(lr=...)``) and
        used directly: its step would train nothing and say nothing."""
        if not self.param_groups:
            raise RuntimeError(
                f"{self._name}.{method}(): this optimizer has no parameters (it was made "
                f"without them, Keras's form). Pass the parameters: "
                f"{self._name}(model.parameters(), lr=...), or give it to model.compile"
            )

    def zero_grad(self, set_to_none: bool = True) -> None:
        """Clear every parameter's gradient: drop it (default) or fill it with zeros."""
        if not self.param_groups:
            self._check_has_params("zero_grad")
        tracing.record_zero_grad(self, set_to_none)  # sj.compile replays it too
        for group in self.param_groups:
            for p in group["params"]:
                if p.grad is None:
                    continue
                if set_to_none:
                    p.grad = None
                else:
                    p.grad.array.fill(0)

    def step(self, closure: Callable[[], Any] | None = None) -> Any:
        """Update every parameter that has a gradient; parameters without one are skipped.

        Args:
            closure: re-evaluates the model and returns the loss (it should zero the
                gradients and call ``backward()``); run with gradients enabled.

        Returns:
            The closure's loss, or None without a closure.
        """
        if not self.param_groups:
            self._check_has_params("step")
        if tracing.record_step(self, closure):  # sj.compile is tracing: replays apply it
            return None
        loss = None
        if closure is not None:
            with enable_grad():
                loss = closure()
        if self._fusable is None:
            self._fusable = fusable(self)
        for index, group in enumerate(self.param_groups):
            with_grad, small, large = [], [], []
            for p in group["params"]:
                if p.grad is None:
                    continue
                if p.grad.array.shape != p.array.shape:
                    raise ValueError(
                        f"{self._name}: a parameter of shape {p.array.shape} has a gradient "
                        f"of shape {p.grad.array.shape}"
                    )
                with_grad.append(p)
                (small if worth_fusing(p.array) else large).append(p)
            alone = with_grad
            if (self._fusable and len(small) > 1 and not self.update_is_cheap(group)
                    and not self.has_device_kernel(get_array_module(small[0].array), group)):
                layout = fused_params(self, index, small)
                if layout is not None:
                    layout.step()
                    alone = large
            for p in alone:
                state = self.state.get(p)
                if state is None:
                    state = self.state[p] = self.init_state(p.array, group)
                else:
                    follow_param(state, p.array)
                self.update_param(p.array, p.grad.array, state, group)
        return loss

    def update_is_cheap(self, group: dict[str, Any]) -> bool:
        """Whether ``update_param`` is so few array calls (plain SGD's two) that laying the
        group's small parameters out flat would cost more in copies than it saves."""
        return False

    def has_device_kernel(self, xp: Any, group: dict[str, Any]) -> bool:
        """Whether ``update_param`` runs as one fused kernel on array module ``xp`` (a
        GPU), so that laying small parameters out flat would only add copies."""
        return False

    def minimize(self, loss: Tensor, var_list: Iterable[Tensor] | None = None) -> Any:
        """Graph mode: an op that, run in a ``Session``, takes one step on ``loss`` with
        this optimizer's update (see ``shenjing.graph.minimize``)."""
        if _graph_minimize is None:  # only if shenjing.graph failed to load
            raise RuntimeError("minimize() is graph mode: it needs shenjing.graph")
        return _graph_minimize(self, loss, var_list)

    # ------------------------------------------------------------------ helpers
    def _scratch(self, like: Array, slot: str = "tmp") -> Array:
        """An uninitialised array shaped like ``like``, reused by every update.

        Each ``slot`` is one flat buffer per dtype and device, grown to the largest
        parameter; a parameter gets a view of its first ``like.size`` elements.
        """
        key = (slot, like.dtype, device_of(like))  # not like.device: CuPy's is unhashable
        flat = self._scratch_arrays.get(key)
        if flat is None or flat.size < like.size:
            flat = get_array_module(like).empty(like.size, dtype=like.dtype)
            self._scratch_arrays[key] = flat
        return flat[: like.size].reshape(like.shape)

    def _effective_grad(
        self, param: Array, grad: Array, weight_decay: float, maximize: bool
    ) -> Array:
        """g = ∇ + λθ (L2 weight decay), with ∇ negated when maximizing.

        Returns ``grad`` itself when there is nothing to add, else a scratch array: the
        caller's gradient is never modified.
        """
        if weight_decay == 0 and not maximize:
            return grad
        xp = get_array_module(param)
        g = self._scratch(param, "grad")
        if weight_decay == 0:
            xp.negative(grad, out=g)
            return g
        xp.multiply(param, weight_decay, out=g)
        if maximize:
            g -= grad
        else:
            g += grad
        return g

    # ------------------------------------------------------------------ save / restore
    def state_dict(self) -> dict[str, Any]:
        """A snapshot of the optimizer: ``{"state": {i: {...}}, "param_groups": [...]}``.

        Parameters are named by their position across all groups (0, 1, ...), as in
        PyTorch; state arrays are copies, so training on does not change the snapshot.
        """
        state: dict[int, dict[str, Any]] = {}
        param_groups = []
        index = 0
        for group in self.param_groups:
            packed = {key: value for key, value in group.items() if key != "params"}
            packed["params"] = list(range(index, index + len(group["params"])))
            param_groups.append(packed)
            for p in group["params"]:
                if p in self.state:
                    state[index] = {
                        key: value.copy() if is_array(value) else value
                        for key, value in self.state[p].items()
                    }
                index += 1
        return {"state": state, "param_groups": param_groups}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Restore a snapshot taken by ``state_dict()``.

        Everything is checked before anything is written: the number of groups, the size
        of each group, the hyperparameters, and the shape of every state array. State
        arrays are copied into the dtype and device of their parameter.
        """
        where = f"{self._name}.load_state_dict"
        if not isinstance(state_dict, dict) or not {"state", "param_groups"} <= state_dict.keys():
            received = sorted(state_dict) if isinstance(state_dict, dict) else type(state_dict)
            raise ValueError(
                f"{where}: expected a dict with 'state' and 'param_groups'. Received: {received}"
            )
        saved_groups = state_dict["param_groups"]
        if len(saved_groups) != len(self.param_groups):
            raise ValueError(
                f"{where}: the state dict has {len(saved_groups)} parameter groups, "
                f"the optimizer has {len(self.param_groups)}"
            )

        new_groups = []
        param_at: dict[int, Tensor] = {}
        for i, (saved, group) in enumerate(zip(saved_groups, self.param_groups, strict=True)):
            if len(saved["params"]) != len(group["params"]):
                raise ValueError(
                    f"{where}: parameter group {i} holds {len(saved['params'])} parameters "
                    f"in the state dict and {len(group['params'])} in the optimizer"
                )
            param_at.update(zip((int(k) for k in saved["params"]), group["params"], strict=True))
            new_group = {**group, **saved, "params": group["params"]}
            self.check_hyperparameters(new_group)
            new_groups.append(new_group)

        new_state = {}
        for key, saved_state in state_dict["state"].items():
            p = param_at.get(int(key))
            if p is None:
                raise ValueError(
                    f"{where}: the state dict has state for parameter {key}, which no "
                    "parameter group lists"
                )
            new_state[p] = _restore_param_state(where, key, saved_state, p.array)

        self.param_groups = new_groups
        self.state = new_state

    def __repr__(self) -> str:
        lines = [f"{self._name} ("]
        for i, group in enumerate(self.param_groups):
            lines.append(f"Parameter Group {i}")
            lines += [f"    {key}: {group[key]}" for key in sorted(group) if key != "params"]
        lines.append(")")
        return "\n".join(lines)


def _restore_param_state(
    where: str, key: Any, saved_state: dict[str, Any], param: Array
) -> dict[str, Any]:
    """Copy one parameter's saved state onto the parameter's dtype and device."""
    xp = get_array_module(param)
    state = {}
    for name, value in saved_state.items():
        if not is_array(value):
            state[name] = value
        elif value.shape == param.shape:
            if xp is np and not isinstance(value, np.ndarray):
                value = value.get()  # a CuPy array restored onto a CPU parameter
            state[name] = xp.array(value, dtype=param.dtype)
        elif value.ndim == 0:  # a count such as "step", stored as an array by a file format
            state[name] = value.item()
        else:
            raise ValueError(
                f"{where}: state '{name}' of parameter {key} has shape {value.shape}, "
                f"but the parameter has shape {param.shape}"
            )
    return state


# ---------------------------------------------------------------------- validation
def check_number(label: str, value: Any) -> None:
    """Hyperparameters are real numbers: no strings, no bools."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"Invalid {label}: {value!r} (expected a number)")


def check_non_negative(label: str, value: Any) -> None:
    """Raise "Invalid <label>: <value>" unless 0 <= value (NaN fails too)."""
    check_number(label, value)
    if not value >= 0:
        raise ValueError(f"Invalid {label}: {value}")


def check_fraction(label: str, value: Any, include_one: bool = False) -> None:
    """Raise "Invalid <label>: <value>" unless 0 <= value < 1 (or <= 1)."""
    check_number(label, value)
    if not (0 <= value <= 1 if include_one else 0 <= value < 1):
        raise ValueError(f"Invalid {label}: {value}")


def check_betas(betas: Any) -> None:
    """Adam-style (β₁, β₂): two numbers in [0, 1)."""
    if not isinstance(betas, (tuple, list)) or len(betas) != 2:
        raise ValueError(f"Invalid betas: {betas!r} (expected a pair (beta1, beta2))")
    for i, beta in enumerate(betas):
        check_fraction(f"beta parameter at index {i}", beta)


def check_common(group: dict[str, Any]) -> None:
    """The hyperparameters most optimizers share: lr, eps, weight_decay, maximize."""
    check_non_negative("learning rate", group["lr"])
    if "eps" in group:
        check_non_negative("epsilon value", group["eps"])
    check_non_negative("weight_decay value", group["weight_decay"])
    if not isinstance(group["maximize"], bool):
        raise TypeError(f"Invalid maximize: {group['maximize']!r} (expected a bool)")
