"""``Plan``: part of a graph compiled into a schedule that replays without bookkeeping.

Eager mode pays, on every op, for making Tensors, deciding what to record, and on
``backward()`` for finding the topological order in a dict-based graph walk. A graph
knows all of that in advance, so a plan works it out once:

- every tensor it needs gets a *slot*, an index into one list of arrays;
- the forward schedule is a list of ``(forward, input slots, params, resolver, output
  slot, scalar)`` in the graph's order (which is topological, since an op is added after
  its inputs); each entry owns a fresh instance of the op's ``Function`` with
  ``needs_input_grad`` set once, so ``forward`` keeps exactly what ``backward`` will use;
- each backward pass is the reverse schedule of the ops between the variables and the
  loss: ``(backward, output slot, input slots)``, with ``None`` for inputs that need no
  gradient; gradients reaching the same slot are added, as in eager mode.

Running is then a loop over arrays: no Tensor objects, no graph walk, no per-op decisions.
Parameters that depend on run-time values (a ``TensorRef``, or arithmetic on unknown
sizes, a ``Dim``) are computed by small resolver functions just before their op runs.
The numbers are those of eager mode: the same ``forward`` and ``backward`` code on the
same arrays, with gradients summed the same way.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from operator import itemgetter
from typing import Any

import numpy as np

from shenjing import kernels
from shenjing.backend import get_array_module, is_array
from shenjing.graph import fusion
from shenjing.graph.dims import Dim
from shenjing.graph.symbolic import Operation, SymbolicTensor, TensorRef

Resolver = Callable[[list], Any]  # run-time values -> one parameter's value


class UnfedPlaceholderError(ValueError):
    """A placeholder that the fetched tensors need was given no value."""


class BackwardPass:
    """The gradient of one loss with respect to a list of tensors, as a reverse schedule.

    Attributes:
        connected: for each tensor of ``wrt``, whether any gradient reaches it.
    """

    def __init__(
        self,
        ops: list[Operation],
        slot_of: dict[int, int],
        loss: SymbolicTensor,
        wrt: Sequence[SymbolicTensor],
        seed: Any = None,
    ) -> None:
        self.loss_slot = slot_of[id(loss)]
        self.seed = seed
        # Which tensors carry a gradient: the wrt tensors, and float outputs of ops that
        # read one (unless built under no_grad).
        requires = {id(t) for t in wrt if t.dtype.kind in "fc"}
        for op in ops:
            out = op.outputs[0]
            if (not op.stop_gradient and out.dtype.kind in "fc"
                    and any(id(t) in requires for t in op.inputs)):
                requires.add(id(out))
        # Of those ops, the ones the loss depends on, latest first.
        upstream = {id(loss)}
        self.steps: list[tuple[Callable[[Any], Any], int, tuple[int | None, ...], bool]] = []
        self.needs: dict[int, tuple[bool, ...]] = {}  # id(op) -> needs_input_grad
        wrt_ids = {id(t) for t in wrt}
        for op in reversed(ops):
            out = op.outputs[0]
            if id(out) not in upstream or id(out) not in requires:
                continue
            needs = tuple(id(t) in requires for t in op.inputs)
            upstream.update(id(t) for t, need in zip(op.inputs, needs, strict=True) if need)
            self.needs[id(op)] = needs
            in_slots = tuple(slot_of[id(t)] if need else None
                             for t, need in zip(op.inputs, needs, strict=True))
            # A wrt tensor made by an op keeps its gradient after the op has used it.
            self.steps.append((op, slot_of[id(out)], in_slots, id(out) in wrt_ids))
        self.wrt_slots = [slot_of.get(id(t)) for t in wrt]
        self.wrt_dtypes = [t.dtype for t in wrt]
        reached = {s for _, _, in_slots, _ in self.steps for s in in_slots if s is not None}
        self.connected = [
            s is not None and (s in reached or s == self.loss_slot) and id(t) in requires
            for s, t in zip(self.wrt_slots, wrt, strict=True)
        ]
        self._seed_cache: Any = None

    def bind(self, functions: dict[int, Any]) -> None:
        """Replace each step's op by the bound ``backward`` of its Function instance."""
        self.steps = [(functions[id(op)].backward, out, ins, keep)
                      for op, out, ins, keep in self.steps]

    def run(self, values: list) -> list[Any]:
        """The gradients (None where none reaches), after a forward run filled ``values``."""
        loss = values[self.loss_slot]
        seed = self.seed
        if seed is None:
            seed = self._seed_cache
            if seed is None or seed.shape != loss.shape or seed.dtype != loss.dtype:
                # Reused between runs: backward functions never write into their gy.
                seed = self._seed_cache = get_array_module(loss).ones_like(loss)
        grads = {self.loss_slot: seed}
        for backward, out_slot, in_slots, keep in self.steps:
            gy = grads.get(out_slot) if keep else grads.pop(out_slot, None)
            if gy is None:  # no gradient reached this op (as in eager mode)
                continue
            gxs = backward(gy)
            if type(gxs) is not tuple:
                gxs = (gxs,)
            for slot, g in zip(in_slots, gxs):  # noqa: B905 - in_slots matches the inputs
                if slot is None or g is None:
                    continue
                previous = grads.get(slot)
                grads[slot] = g if previous is None else previous + g
        out = []
        for slot, dtype in zip(self.wrt_slots, self.wrt_dtypes, strict=True):
            g = None if slot is None else grads.get(slot)
            if g is not None and g.dtype != dtype:
                g = g.astype(dtype)
            out.append(g)
        return out


class Plan:
    """A compiled schedule for computing ``fetches`` (and gradients) from ``feeds`` and
    the graph's variables and constants.

    Args:
        fetches: the tensors to compute.
        feeds: the tensors whose values the caller gives (placeholders, or any tensor).
        passes: ``(loss, wrt, seed)`` triples: after the forward schedule, each backward
            pass gives d(loss)/d(wrt) for each tensor of ``wrt`` (seed: d(?)/d(loss),
            ones when None).
        fuse: replace the chains of elementwise ops by generated kernels when the
            kernel tier is on (``shenjing/graph/fusion.py``); same results to rounding.

    Raises:
        UnfedPlaceholderError: a needed placeholder is not in ``feeds``.

    Attributes:
        variables: the Variable tensors whose values ``run`` takes, in order.
        passes: the ``BackwardPass`` objects (see ``connected``).
    """

    def __init__(
        self,
        fetches: Sequence[SymbolicTensor],
        feeds: Sequence[SymbolicTensor],
        passes: Sequence[tuple[SymbolicTensor, Sequence[SymbolicTensor], Any]] = (),
        fuse: bool = False,
    ) -> None:
        fed = {id(t) for t in feeds}
        ops, sources, unfed = _upstream([*fetches, *(loss for loss, _, _ in passes)], fed)
        if fuse and kernels.enabled():
            keep = {id(t) for t in (*fetches, *feeds)}
            for loss, wrt, _ in passes:
                keep.add(id(loss))
                keep.update(map(id, wrt))
            ops = fusion.fuse(ops, keep)
        if unfed:
            listed = ", ".join(f"{t.name!r} (shape {t.shape}, dtype {t.dtype})" for t in unfed)
            raise UnfedPlaceholderError(
                f"Session.run: placeholder {listed} needs a value; give it in feed_dict"
            )
        tensors = [*feeds, *(t for t in sources if id(t) not in fed),
                   *(op.outputs[0] for op in ops)]
        slot_of = {id(t): slot for slot, t in enumerate(tensors)}
        self.slot_count = len(tensors)
        self.feed_slots = [slot_of[id(t)] for t in feeds]
        self.variables = [t for t in sources if t.op.type == "Variable" and id(t) not in fed]
        self.variable_slots = [slot_of[id(t)] for t in self.variables]
        self.initial: list[Any] = [None] * len(tensors)
        for t in sources:
            if t.op.type == "Const" and id(t) not in fed:
                self.initial[slot_of[id(t)]] = t.op.attrs["value"]
        self.fetch_slots = [slot_of[id(t)] for t in fetches]
        self.source_slots = {slot_of[id(t)] for t in sources} | set(self.feed_slots)

        self.passes = [BackwardPass(ops, slot_of, loss, wrt, seed) for loss, wrt, seed in passes]
        functions = {}
        self.steps = []
        for op in ops:
            fn = op.function()
            needs = [False] * len(op.inputs)
            for backward_pass in self.passes:
                for i, need in enumerate(backward_pass.needs.get(id(op), ())):
                    needs[i] = needs[i] or need
            fn.needs_input_grad = tuple(needs)
            functions[id(op)] = fn
            static, resolver = _params(op, slot_of)
            in_slots = tuple(slot_of[id(t)] for t in op.inputs)
            out_slot = slot_of[id(op.outputs[0])]
            self.steps.append((fn.forward, in_slots, static, resolver, out_slot, op.scalar_output))
        for backward_pass in self.passes:
            backward_pass.bind(functions)
        self.ops = ops

    def run(self, feed_values: Sequence[Any], variable_values: Sequence[Any]) -> tuple[list, list]:
        """Run the forward schedule, then each backward pass.

        Args:
            feed_values: arrays for ``feeds``, in order (already checked by the caller).
            variable_values: arrays for ``self.variables``, in order; ops only read them.

        Returns:
            (the fetched arrays, one list of gradients per backward pass).
        """
        values = self.initial.copy()
        for slot, value in zip(self.feed_slots, feed_values):  # noqa: B905 - checked by caller
            values[slot] = value
        for slot, value in zip(self.variable_slots, variable_values):  # noqa: B905
            values[slot] = value
        for forward, in_slots, params, resolver, out_slot, scalar in self.steps:
            if resolver is not None:
                params = resolver(values)
            out = forward(*[values[i] for i in in_slots], **params)
            values[out_slot] = np.asarray(out) if scalar and not is_array(out) else out
        fetched = [values[slot] for slot in self.fetch_slots]
        return fetched, [backward_pass.run(values) for backward_pass in self.passes]


def _upstream(
    targets: Sequence[SymbolicTensor], fed: set[int]
) -> tuple[list[Operation], list[SymbolicTensor], list[SymbolicTensor]]:
    """The ops needed for ``targets`` (in graph order), the sources they read, and the
    placeholders among those that are not fed."""
    ops: dict[int, Operation] = {}
    sources: dict[int, SymbolicTensor] = {}
    unfed: dict[int, SymbolicTensor] = {}
    seen: set[int] = set()
    stack = list(targets)
    while stack:
        t = stack.pop()
        if id(t) in seen:
            continue
        seen.add(id(t))
        op = t.op
        if id(t) in fed:
            sources[id(t)] = t
        elif op.type == "Placeholder":
            unfed[id(t)] = t
        elif op.type in ("Const", "Variable"):
            sources[id(t)] = t
        elif op.function is not None:
            ops[id(op)] = op
            stack.extend(op.inputs)
            stack.extend(op.dependencies)
        else:
            raise ValueError(f"Session.run: {op.type} output {t.name!r} cannot be computed "
                             "as part of another fetch")
    ordered = sorted(ops.values(), key=lambda op: op.index)
    return ordered, list(sources.values()), sorted(unfed.values(), key=lambda t: t.op.index)


def _params(op: Operation, slot_of: dict[int, int]) -> tuple[dict, Resolver | None]:
    """An op's fixed parameters, and a function computing all of them from the run-time
    values when some depend on those (None when none do)."""
    static, dynamic = {}, {}
    for key, value in op.params.items():
        resolver = _resolver(value, slot_of)
        if resolver is None:
            static[key] = value
        else:
            dynamic[key] = resolver
    if not dynamic:
        return static, None

    def resolve(values: list) -> dict:
        params = static.copy()
        for key, resolver in dynamic.items():
            params[key] = resolver(values)
        return params

    return static, resolve


def _resolver(template: Any, slot_of: dict[int, int]) -> Resolver | None:
    """How to compute a parameter from the run-time values, or None if it is fixed."""
    if isinstance(template, TensorRef):
        return itemgetter(slot_of[id(template.tensor)])
    if isinstance(template, Dim):
        return template.evaluator(slot_of)
    if isinstance(template, (tuple, list)):
        parts = [_resolver(v, slot_of) for v in template]
        if all(p is None for p in parts):
            return None
        kind = type(template)
        fixed = [(lambda values, v=v: v) if p is None else p
                 for v, p in zip(template, parts, strict=True)]
        return lambda values: kind(part(values) for part in fixed)
    return None

