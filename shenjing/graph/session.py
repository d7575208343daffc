"""``Session``: runs a graph and owns its resources (variable values, optimizer state,
compiled plans).

``run(fetches, feed_dict)`` compiles the part of the graph that the fetches need into a
``Plan`` the first time it sees that combination of fetches and fed tensors, and replays
the plan after that. Each session starts every variable from its initial value, so two
sessions of one graph never share values; ``close()`` drops everything the session holds.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from shenjing.backend import is_array
from shenjing.graph.graph import Graph, Variable, get_default_graph
from shenjing.graph.plan import Plan
from shenjing.graph.symbolic import Operation, SymbolicTensor
from shenjing.optim.fused import FusedUpdate, fusable, worth_fusing
from shenjing.tensor import Tensor

_KIND_ORDER = {"b": 0, "u": 1, "i": 1, "f": 2, "c": 3}  # a value may only widen its kind


class Session:
    """Runs operations of one graph; use it as a context manager.

    Args:
        graph: the graph to run (the default graph when None).

    Example (the tutorial's two graphs, each with its own variable):
        >>> import shenjing as sj
        >>> g1, g2 = sj.Graph(), sj.Graph()
        >>> with g1.as_default():
        ...     v1 = sj.Variable(0.0, name="v")
        >>> with g2.as_default():
        ...     v2 = sj.Variable(1.0, name="v")
        >>> with sj.Session(graph=g1) as sess:
        ...     print(sess.run(v1))
        0.0
        >>> with sj.Session(graph=g2) as sess:
        ...     print(sess.run(v2))
        1.0
    """

    def __init__(self, graph: Graph | None = None) -> None:
        if graph is not None and not isinstance(graph, Graph):
            raise TypeError(f"Session: graph must be a Graph. Received: {type(graph).__name__}")
        self.graph = get_default_graph() if graph is None else graph
        self._closed = False
        self._values: dict[int, Any] = {}  # id(variable) -> this session's array
        self._runs: dict[tuple, _Run] = {}
        self._updates: dict[tuple, _Update] = {}
        self._states: dict[tuple[int, int], dict] = {}  # (optimizer, variable) -> state
        self._fused: set[int] = set()  # ids of variables laid out in a FusedUpdate

    # ---------------------------------------------------------------- lifetime
    def __enter__(self) -> Session:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        """Free the variable values, optimizer state and plans; the session cannot run
        again."""
        self._values.clear()
        self._runs.clear()
        self._updates.clear()
        self._states.clear()
        self._fused.clear()
        self._closed = True

    @property
    def closed(self) -> bool:
        """Whether ``close()`` was called."""
        return self._closed

    # ---------------------------------------------------------------------- run
    def run(self, fetches: Any, feed_dict: dict | None = None) -> Any:
        """Compute ``fetches`` with the placeholders fed from ``feed_dict``.

        Args:
            fetches: a graph tensor, an operation (run for its effect; gives None), a
                tensor or op name ("add:0"), an eager tensor used in the graph (gives its
                variable's value), or a list, tuple or dict of these, nested at will.
            feed_dict: tensor (or name) -> value (array, Tensor, number or nested list).
                A value is converted to the tensor's dtype if that loses no kind
                (float64 → float32 is fine, float → int is not), and must match its
                shape where the shape is known.

        Returns:
            ``fetches`` with each tensor replaced by its value (a NumPy array, or a NumPy
            scalar for a 0-d tensor) and each op by None. Values fetched in a run that
            also runs ``minimize`` ops are from before the update.

        Raises:
            RuntimeError: the session is closed.
            ValueError, TypeError: a fetch or fed tensor from another graph, a needed
                placeholder not fed, or a fed value of the wrong shape or dtype; each
                message names the tensor.
        """
        if self._closed:
            raise RuntimeError("Session.run: the session is closed")
        leaves: list[Any] = []
        rebuild = flatten_structure(fetches, leaves)
        targets = [self._fetch_target(leaf) for leaf in leaves]
        feed_tensors, feed_values = [], []
        for key, value in (feed_dict or {}).items():
            t = self._feed_target(key)
            feed_tensors.append(t)
            feed_values.append(_check_feed(t, value))
        key = (tuple(map(id, targets)), tuple(map(id, feed_tensors)))
        run = self._runs.get(key)
        if run is None:
            run = self._runs[key] = _Run(targets, feed_tensors)
        plan = run.plan
        fetched, grads = plan.run(feed_values, [self._value(v) for v in plan.variables])
        results = run.read(fetched, grads)
        for op, pass_index in run.minimize:
            self._update(op, grads[pass_index])
        return rebuild(results)

    def _fetch_target(self, leaf: Any) -> SymbolicTensor | Operation:
        if isinstance(leaf, str):
            leaf = (self.graph.get_tensor_by_name(leaf) if ":" in leaf
                    else self.graph.get_operation_by_name(leaf))
        if isinstance(leaf, (SymbolicTensor, Operation)):
            if leaf.graph is not self.graph:
                name = leaf.name
                raise ValueError(f"Session.run: fetch {name!r} belongs to a different graph "
                                 "than this session's")
            return leaf
        if isinstance(leaf, Tensor):
            captured = self.graph.captured(leaf)
            if captured is None:
                raise ValueError(f"Session.run: eager tensor of shape {leaf.shape} is not "
                                 "used in this session's graph, so it cannot be fetched")
            return captured
        raise TypeError(f"Session.run: cannot fetch a {type(leaf).__name__}; fetch graph "
                        "tensors, operations, or lists, tuples and dicts of them")

    def _feed_target(self, key: Any) -> SymbolicTensor:
        if isinstance(key, str):
            key = self.graph.get_tensor_by_name(key)
        if not isinstance(key, SymbolicTensor):
            raise TypeError(f"Session.run: feed_dict keys must be graph tensors. Received: "
                            f"{type(key).__name__}")
        if key.graph is not self.graph:
            raise ValueError(f"Session.run: fed tensor {key.name!r} belongs to a different "
                             "graph than this session's")
        return key

    # ---------------------------------------------------------------- variables
    def _value(self, variable: Variable) -> Any:
        """This session's array for ``variable``, started from its initial value."""
        value = self._values.get(id(variable))
        if value is None:
            value = self._values[id(variable)] = variable.initial_value.copy()
        return value

    def _update(self, op: Operation, grads: list[Any]) -> None:
        """Apply a ``minimize`` op's optimizer step to this session's variable values."""
        optimizer = op.attrs["optimizer"]
        variables = op.attrs["variables"]
        groups = op.attrs["groups"]
        by_group: dict[int, list[int]] = {}
        for i, v in enumerate(variables):
            by_group.setdefault(groups[id(v)], []).append(i)
        for group_index, indices in by_group.items():
            key = (id(optimizer), group_index, tuple(id(variables[i]) for i in indices))
            update = self._updates.get(key)
            if update is None:
                update = self._updates[key] = self._new_update(
                    optimizer, group_index, [variables[i] for i in indices])
            update.apply([grads[i] for i in indices])

    def _new_update(self, optimizer: Any, group_index: int, variables: list[Variable]) -> _Update:
        """How to step these variables: the small ones of a known elementwise optimizer
        laid out flat (see ``FusedUpdate``), the others one by one."""
        values = [self._value(v) for v in variables]
        flat = []
        if fusable(optimizer):
            flat = [i for i, (v, a) in enumerate(zip(variables, values, strict=True))
                    if worth_fusing(a) and id(v) not in self._fused]
            if len({(type(values[i]), values[i].dtype) for i in flat}) > 1:
                flat = []
        fused = None
        if flat:
            fused = FusedUpdate(optimizer, group_index, [values[i] for i in flat])
            for i, view in zip(flat, fused.params, strict=True):
                self._values[id(variables[i])] = view
                self._fused.add(id(variables[i]))
        return _Update(self, optimizer, group_index, variables, fused, flat)

    def _state(self, optimizer: Any, variable: Variable, group: dict) -> dict:
        """The session's optimizer state for one variable (as ``optimizer.state`` holds
        it per parameter in eager mode)."""
        key = (id(optimizer), id(variable))
        state = self._states.get(key)
        if state is None:
            state = self._states[key] = optimizer.init_state(self._value(variable), group)
        return state


class _Update:
    """One optimizer group's step on a session's variables: the fused ones at once, the
    others one by one."""

    def __init__(
        self,
        session: Session,
        optimizer: Any,
        group_index: int,
        variables: list[Variable],
        fused: FusedUpdate | None,
        fused_positions: list[int],
    ) -> None:
        self.session, self.optimizer, self.group_index = session, optimizer, group_index
        self.variables, self.fused, self.fused_positions = variables, fused, fused_positions
        self.single_positions = [i for i in range(len(variables)) if i not in fused_positions]

    def apply(self, grads: list[Any]) -> None:
        if self.fused is not None:
            for view, i in zip(self.fused.grads, self.fused_positions, strict=True):
                view[...] = grads[i]
            self.fused.step()
        optimizer, session = self.optimizer, self.session
        group = optimizer.param_groups[self.group_index]
        for i in self.single_positions:
            g = grads[i]
            if g is None:  # as step() skips a parameter without a gradient
                continue
            v = self.variables[i]
            optimizer.update_param(session._value(v), g, session._state(optimizer, v, group),
                                   group)


class _Run:
    """What one combination of fetches and feeds compiles to: a plan, where each fetch's
    value comes from, and the minimize ops to apply after it."""

    def __init__(self, targets: list[Any], feeds: list[SymbolicTensor]) -> None:
        tensors: list[SymbolicTensor] = []
        passes: list[tuple] = []
        pass_of: dict[int, int] = {}  # id(training op) -> index of its backward pass
        self.minimize: list[tuple[Operation, int]] = []

        def backward_pass(op: Operation) -> int:
            if id(op) not in pass_of:
                wrt = op.attrs["wrt"] if op.type == "Gradients" else op.attrs["variables"]
                pass_of[id(op)] = len(passes)
                passes.append((op.attrs["loss"], wrt, None))
                if op.type == "Minimize":
                    self.minimize.append((op, pass_of[id(op)]))
            return pass_of[id(op)]

        # (where, i, j): "none" gives None; "tensor" the i-th fetched value; "grad" the
        # j-th gradient of backward pass i.
        self.sources: list[tuple[str, int, int]] = []
        for target in targets:
            if isinstance(target, Operation):
                if target.type in ("Minimize", "Gradients"):
                    backward_pass(target)
                elif target.function is not None:
                    tensors.append(target.outputs[0])
                self.sources.append(("none", 0, 0))
            elif target.op.type == "Gradients":
                self.sources.append(("grad", backward_pass(target.op), target.value_index))
            else:
                self.sources.append(("tensor", len(tensors), 0))
                tensors.append(target)
        self.plan = Plan(tensors, feeds, passes)
        self._from_source = [slot in self.plan.source_slots for slot in self.plan.fetch_slots]

    def read(self, fetched: list, grads: list) -> list:
        """Each fetch's value. Arrays that are not fresh results of this run (a variable,
        a feed, a view of one, a gradient an op passed through) are copied, so nothing
        later, such as an optimizer update, can change what was returned."""
        results = []
        for where, i, j in self.sources:
            if where == "tensor":
                value = fetched[i]
                copy = self._from_source[i] or not value.flags.owndata
                results.append(_result(value, copy))
            elif where == "grad":
                results.append(_result(grads[i][j], True))
            else:
                results.append(None)
        return results


def _result(value: Any, copy: bool) -> Any:
    """A fetched array as returned: a NumPy scalar for 0-d (as TensorFlow gives)."""
    if value is None:
        return None
    if value.ndim == 0:
        return value[()]
    return value.copy() if copy else value


def flatten_structure(fetches: Any, leaves: list[Any]) -> Callable[[list], Any]:
    """Collect the leaves of a nested list/tuple/dict into ``leaves``; return how to
    rebuild the structure from a list of values for them."""
    if isinstance(fetches, dict):
        parts = [(key, flatten_structure(value, leaves)) for key, value in fetches.items()]
        return lambda values: {key: part(values) for key, part in parts}
    if isinstance(fetches, (list, tuple)):
        parts = [flatten_structure(value, leaves) for value in fetches]
        kind = type(fetches)
        if hasattr(fetches, "_fields"):  # a namedtuple
            return lambda values: kind(*(part(values) for part in parts))
        return lambda values: kind(part(values) for part in parts)
    index = len(leaves)
    leaves.append(fetches)
    return lambda values: values[index]


def _check_feed(t: SymbolicTensor, value: Any) -> Any:
    """``value`` as an array of ``t``'s dtype and a shape compatible with ``t``'s."""
    if isinstance(value, SymbolicTensor):
        raise TypeError(f"Session.run: the value fed to {t.name!r} is itself a graph tensor "
                        f"({value.name!r}); feed arrays or numbers")
    if isinstance(value, Tensor):
        value = value.array
    array = value if is_array(value) else np.asarray(value)
    if array.dtype != t.dtype:
        if _KIND_ORDER.get(array.dtype.kind, 9) > _KIND_ORDER.get(t.dtype.kind, -1):
            raise TypeError(
                f"Session.run: the value fed to {t.name!r} has dtype {array.dtype}, which "
                f"does not convert to the tensor's dtype {t.dtype} without losing information"
            )
        array = array.astype(t.dtype)
    shape = t.shape
    if array.ndim != len(shape) or any(
        n is not None and n != m for n, m in zip(shape, array.shape, strict=True)
    ):
        raise ValueError(f"Session.run: the value fed to {t.name!r} has shape {array.shape}, "
                         f"but the tensor has shape {shape}")
    return array
