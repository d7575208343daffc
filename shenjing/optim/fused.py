"""One optimizer update over a whole parameter group at once.

Each of shenjing's optimizers updates a parameter with about a dozen in-place NumPy
calls. On a small network those calls, repeated for every weight and bias, cost more
than the arithmetic. So ``Optimizer.step`` (and a compiled plan, or a graph session)
lays the small parameters of a group out end to end in one flat buffer, gives their
gradients and optimizer state the same layout, and calls the optimizer's own
``update_param`` once on the flat arrays. Eager steps copy the parameters in and out,
so each ``Parameter.array`` keeps its identity; compiled plans make each one a view of
the buffer instead (``FusedParams.bind``).

That is exact, not an approximation, for an optimizer whose update is elementwise: every
element sees the same float32 operations, in the same order, as it would alone. The
optimizer package declares its elementwise ones (``register_elementwise``); for any other
the plan calls the optimizer per parameter, as ``step()`` does. Scalar state (Adam's step
count) is shared by the group and copied back to each parameter's state after every
update, so ``optimizer.state_dict()`` stays what eager training would give.

Only small parameters are worth it (``worth_fusing``): a large one's update is already
mostly arithmetic, and laying it out flat would cost a copy of its gradient each step.
If something changes behind the layout's back (a parameter's array is replaced, the
optimizer's state is loaded), the layout is made again from the current arrays.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from shenjing.backend import device_of, get_array_module, is_array, to_device
from shenjing.tensor import Tensor

FUSE_BELOW = 1 << 14
"""Parameters with fewer elements than this share a flat update; larger ones are updated
on their own (measured: Adam's dozen calls cost about as much as its arithmetic on
~16k float32 elements)."""


def follow_param(state: dict[str, Any] | None, data: Any) -> None:
    """Move a parameter's optimizer state to the parameter's device, if ``Module.to``
    moved the parameter after the state was made (so the state lives with it)."""
    if state is None:
        return
    for key, item in state.items():
        if is_array(item) and type(item) is not type(data):
            state[key] = to_device(item, device_of(data))


def worth_fusing(value: Any) -> bool:
    """Whether a parameter array is small enough to gain from a shared flat update."""
    return value.size < FUSE_BELOW


_elementwise: list[type] = []  # filled by register_elementwise (shenjing/optim/__init__.py)


def register_elementwise(*classes: type) -> None:
    """Declare optimizer classes whose ``update_param`` is elementwise, so a group of
    their parameters may be updated as one flat buffer. The optimizer package declares its
    own when it loads; this module sits below the optimizers and never imports them."""
    _elementwise.extend(classes)


def fusable(optimizer: Any) -> bool:
    """Whether ``optimizer``'s update is one of the known elementwise ones (a subclass that
    overrides ``update_param`` or ``_effective_grad`` is not)."""
    kind = type(optimizer)
    return any(kind.update_param is known.update_param
               and kind._effective_grad is known._effective_grad for known in _elementwise)


def mergeable(values: Sequence[Any], states: Sequence[dict | None]) -> bool:
    """Whether per-parameter states can become one flat state: none has started yet, or
    all hold the same scalars and arrays shaped like their parameters."""
    if len({(type(v), v.dtype) for v in values}) != 1:
        return False
    if all(state is None for state in states):
        return True
    if any(state is None for state in states):
        return False
    first = states[0]
    for value, state in zip(values, states, strict=True):
        if state.keys() != first.keys():
            return False
        for key, item in state.items():
            if is_array(item):
                if item.shape != value.shape:
                    return False
            elif item != first[key]:
                return False
    return True


class FusedUpdate:
    """A parameter group laid out flat, with its gradient and optimizer state.

    Args:
        optimizer: a ``fusable`` optimizer.
        group_index: which of its ``param_groups`` gives the hyperparameters (read at
            every step, so learning-rate schedules apply).
        values: the parameters' current arrays (copied into the flat buffer).
        states: their current optimizer states (``mergeable``), or None for "not started".

    Attributes:
        params: a view of the flat buffer for each parameter, shaped like it.
        grads: a view of the flat gradient for each parameter; fill these, then ``step()``.
        param_states: for each parameter, a state dict whose arrays are views of the flat
            state, for an optimizer's own ``state`` to hold.
    """

    def __init__(
        self,
        optimizer: Any,
        group_index: int,
        values: Sequence[Any],
        states: Sequence[dict | None] | None = None,
    ) -> None:
        self.optimizer = optimizer
        self.group_index = group_index
        xp = get_array_module(values[0])
        self.param = xp.concatenate([v.reshape(-1) for v in values])
        self.grad = xp.zeros_like(self.param)
        self._layout = []
        start = 0
        for v in values:
            self._layout.append((start, start + v.size, v.shape))
            start += v.size
        self.params = self._views(self.param)
        self.grads = self._views(self.grad)
        group = optimizer.param_groups[group_index]
        if states is None or all(state is None for state in states):
            self.state = optimizer.init_state(self.param, group)
        else:
            self.state = {
                key: xp.concatenate([state[key].reshape(-1) for state in states])
                if is_array(item) else item
                for key, item in states[0].items()
            }
        self.param_states: list[dict[str, Any]] = [{} for _ in values]
        # What each parameter's state should hold, to tell when it was changed behind the
        # layout's back (see ``state_intact``); kept in step with ``param_states``.
        expected: list[dict[str, Any]] = [{} for _ in values]
        self._state_pairs = list(zip(self.param_states, expected, strict=True))
        self._viewed: dict[str, Any] = {}  # state key -> the flat array viewed
        self._share_state()

    def _views(self, flat: Any) -> list[Any]:
        return [flat[start:stop].reshape(shape) for start, stop, shape in self._layout]

    def _share_state(self) -> None:
        """Point each parameter's state at the flat state: views of arrays (made again if
        the optimizer replaced one), copies of scalars."""
        for key, item in self.state.items():
            if is_array(item) and item.size == self.param.size:
                if self._viewed.get(key) is not item:
                    self._viewed[key] = item
                    for (state, expected), view in zip(self._state_pairs, self._views(item),
                                                       strict=True):
                        state[key] = expected[key] = view
            else:
                for state, expected in self._state_pairs:
                    state[key] = expected[key] = item

    def sync_param_states(self) -> None:
        """Copy the flat state's scalars (Adam's step count) to each parameter's state,
        after something other than ``step()`` advanced them (a captured CUDA graph)."""
        self._share_state()

    def state_intact(self) -> bool:
        """Whether each parameter's state still holds exactly what the last update put
        there: an update of one parameter on its own (when a step leaves the others
        without a gradient) replaces its step count, and the flat state is then stale."""
        for state, expected in self._state_pairs:
            if len(state) != len(expected):
                return False
            for key, item in expected.items():
                if state.get(key) is not item:
                    return False
        return True

    def share_scalar(self, key: str, value: Any) -> None:
        """Set a scalar of the flat state (Adam's step count) and of each parameter's
        state: what ``_share_state`` does for it, without going over the arrays."""
        self.state[key] = value
        for state, expected in self._state_pairs:
            state[key] = expected[key] = value

    def step(self) -> None:
        """Apply the optimizer's update to every parameter, from ``grads``."""
        group = self.optimizer.param_groups[self.group_index]
        self.optimizer.update_param(self.param, self.grad, self.state, group)
        self._share_state()


class FusedParams:
    """Eager parameters stepped through one ``FusedUpdate``.

    Each step copies every parameter's array and gradient into the flat buffers, updates
    them at once and copies the arrays back, so ``Parameter.array`` keeps its identity
    (a reference taken before training sees the training). ``bind()`` instead makes each
    ``.array`` a view of the flat buffer, which saves the copies: a compiled plan, which
    owns the whole step, binds its layouts. A bound parameter's ``.grad`` may likewise be
    the tensor on its flat gradient view (``grad_tensors``), which is then not copied.
    """

    def __init__(self, optimizer: Any, group_index: int, params: list[Tensor]) -> None:
        self.optimizer, self.params = optimizer, params
        states = [optimizer.state.get(p) for p in params]
        self.update = FusedUpdate(optimizer, group_index, [p.array for p in params], states)
        for p, state in zip(params, self.update.param_states, strict=True):
            optimizer.state[p] = state
        self.grad_tensors = [Tensor._make(view, None) for view in self.update.grads]
        # Per parameter: (param, its flat view, its flat gradient view and tensor, state).
        self._slots = list(zip(params, self.update.params, self.update.grads,
                               self.grad_tensors, self.update.param_states, strict=True))

    def intact(self) -> bool:
        """Whether every parameter still fits this layout and uses its state."""
        state = self.optimizer.state
        for p, view, _, _, param_state in self._slots:
            if state.get(p) is not param_state:
                return False
            data = p.array
            if data is not view and (data.shape != view.shape or data.dtype != view.dtype
                                     or type(data) is not type(view)):  # moved devices
                return False
        return self.update.state_intact()

    def bound(self) -> bool:
        """Whether the layout is intact and bound (each ``.array`` its flat view): the
        check a compiled replay makes before each call, ``intact()`` and ``bind()`` in one
        pass when nothing changed."""
        state = self.optimizer.state
        for p, view, _, _, param_state in self._slots:
            if p.array is not view or state.get(p) is not param_state:
                return False
        return self.update.state_intact()

    def bind(self) -> None:
        """Make each parameter's ``.array`` a view of the flat buffer (values kept)."""
        for p, view in zip(self.params, self.update.params, strict=True):
            if p.array is not view:
                view[...] = p.array
                p.array = view

    def step(self) -> None:
        """Update every parameter from its ``.grad``."""
        unbound = []
        for p, view, grad_view, flat_grad, _ in self._slots:
            grad, data = p.grad, p.array
            if grad is not flat_grad:
                grad_view[...] = grad.array
            if data is not view:
                view[...] = data
                unbound.append((data, view))
        self.update.step()
        for data, view in unbound:
            data[...] = view


def fused_params(optimizer: Any, group_index: int, params: list[Tensor]) -> FusedParams | None:
    """The intact layout for these parameters, made (again) if needed; None when their
    arrays or states cannot share one.

    Layouts live on the optimizer, keyed by group and parameters, so that eager steps,
    compiled replays and their mixtures stepping the same parameters share one.
    """
    layouts = optimizer.fused_layouts
    key = (group_index, tuple(map(id, params)))
    layout = layouts.get(key)
    if layout is not None and layout.intact():
        return layout
    for p in params:
        follow_param(optimizer.state.get(p), p.array)
    if not mergeable([p.array for p in params], [optimizer.state.get(p) for p in params]):
        layouts.pop(key, None)
        return None
    layout = layouts[key] = FusedParams(optimizer, group_index, params)
    return layout
