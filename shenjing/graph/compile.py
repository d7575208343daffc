"""``sj.compile``: trace a Python training step into a graph once, then replay its plan.

The first call with given argument shapes and dtypes (and given values of any
non-tensor arguments) *traces* the function: each tensor argument becomes a placeholder
of exactly that shape, and the function runs with graph building on, so its ops,
layers and losses add operations to a fresh graph (parameters are captured as
variables). Two calls that compute nothing during tracing are recorded instead:

- ``loss.backward()`` marks ``loss`` to differentiate: every replay runs the backward
  pass and puts each parameter's gradient in ``.grad``, replacing it if the parameter's
  gradient was cleared (``zero_grad()``) before the call at tracing time, adding to it
  otherwise, as eager code would;
- ``optimizer.step()`` marks the optimizer to step after that backward.

``zero_grad()`` (an optimizer's or a module's) both runs during tracing and is recorded,
so every replay clears the gradients at the same point, as eager code would.

The trace compiles to a ``Plan``. Every later call with the same signature feeds the
arguments' arrays to the plan, applies the recorded effects, and returns the function's
results as plain tensors; a new shape traces again (``trace_count`` counts traces).

Speed: on top of the plan's bookkeeping-free replay, the small parameters that an
optimizer steps are bound to its flat layout (``shenjing.optim.fused``): each
``Parameter.array`` becomes a view into one buffer per parameter group, the replay writes
their gradients straight into the flat gradient, and the step that follows updates the
group with one call of the optimizer's own update, copying nothing. With the kernel tier
on, a step whose every op and optimizer has an emitter runs as one generated native
function instead, forward, backward and update (``shenjing/graph/stepgen.py``; its
source is ``CompiledFunction.source``); any other step, or call, runs the plan.

Limits: Python runs only while tracing, so Python-level side effects (a counter in a
layer, reading ``loss.item()``) happen once; values that should vary, such as a
``training`` flag, must be arguments. Tensors created inside the function from the
inputs' shapes are fixed at tracing, which is why every new shape retraces.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

import numpy as np

from shenjing.autograd import tracing
from shenjing.backend import get_array_module, is_array
from shenjing.graph.compile_forward import CompiledForward
from shenjing.graph.cuda_graph import CapturedStep
from shenjing.graph.graph import Graph, Variable
from shenjing.graph.plan import Plan
from shenjing.graph.session import flatten_structure
from shenjing.graph.stepgen import FALLBACK, generate
from shenjing.graph.symbolic import SymbolicTensor
from shenjing.graph.train_ops import connected
from shenjing.optim.fused import FusedParams, fusable, fused_params, worth_fusing
from shenjing.tensor import Tensor


def compile(fn: Callable[..., Any] | None = None, *, mode: str | None = None) -> Any:
    """Compile ``fn`` (a training step, or any function of tensors) into a replayed graph.

    A ``Module`` compiles to its inference forward instead (``CompiledForward``: eval
    mode, preallocated buffers; see ``shenjing/graph/compile_forward.py``).

    ``mode`` is PyTorch's: None or ``"default"``; ``"reduce-overhead"`` also captures each
    traced step as one CUDA graph on a GPU and replays it (``shenjing/graph/cuda_graph.py``;
    on the CPU it changes nothing). Without ``fn``, returns a decorator.

    Example:
        >>> import shenjing as sj
        >>> import shenjing.nn as nn
        >>> import shenjing.nn.functional as F
        >>> model = nn.Linear(3, 2)
        >>> opt = sj.optim.SGD(model.parameters(), lr=0.1)
        >>> @sj.compile
        ... def train_step(x, y):
        ...     loss = F.cross_entropy(model(x), y)
        ...     opt.zero_grad()
        ...     loss.backward()
        ...     opt.step()
        ...     return loss
        >>> x, y = sj.randn(8, 3), sj.tensor([0, 1] * 4)
        >>> losses = [train_step(x, y).item() for _ in range(3)]
        >>> train_step.trace_count, losses[2] < losses[0]
        (1, True)
    """
    if mode not in _MODES:
        raise ValueError(f"sj.compile: mode must be one of {sorted(map(str, _MODES))}. "
                         f"Received: {mode!r}")
    if fn is None:
        return functools.partial(compile, mode=mode)
    if not callable(fn):
        raise TypeError(f"sj.compile expects a function. Received: {type(fn).__name__}")
    if _is_model(fn):
        return CompiledForward(fn)
    return CompiledFunction(fn, cuda_graphs=mode == "reduce-overhead")


_MODES = (None, "default", "reduce-overhead")


def _is_model(fn: Any) -> bool:
    """Whether ``fn`` is a model rather than a step function: it has a ``Module``'s
    ``named_parameters()`` and ``training`` flag (graph sits beside nn, not above it, so
    it asks what the object can do rather than importing the class)."""
    return callable(getattr(fn, "named_parameters", None)) and hasattr(fn, "training")


class CompiledFunction:
    """A function traced per argument signature and replayed; made by ``sj.compile``.

    Attributes:
        trace_count: how many times the function has been traced.
        cuda_graphs: whether each trace is captured as a CUDA graph where it can be.
    """

    def __init__(self, fn: Callable[..., Any], cuda_graphs: bool = False) -> None:
        self.fn = fn
        self.cuda_graphs = cuda_graphs
        self.trace_count = 0
        self._traces: dict[tuple, _Trace] = {}
        functools.update_wrapper(self, fn)

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        key = _signature(args, kwargs)
        trace = self._traces.get(key)
        if trace is None:
            trace = self._traces[key] = _Trace(self.fn, args, kwargs, self.cuda_graphs)
            self.trace_count += 1
        return trace.run(args, kwargs)

    @property
    def source(self) -> str | None:
        """The source of the newest trace's step as one generated function (see
        ``shenjing/graph/stepgen.py``), or None where that trace runs its plan."""
        traces = list(self._traces.values())
        generated = traces[-1].generated if traces else None
        return None if generated is None else generated.source

    @property
    def graphs(self) -> list[Graph]:
        """The graph of each trace, oldest first (for inspection and drawing)."""
        return [trace.graph for trace in self._traces.values()]

    @property
    def captures(self) -> list[CapturedStep]:
        """Each trace's CUDA-graph state (``mode="reduce-overhead"`` only), oldest first:
        how often it was captured and replayed, and why it is not, if it is not."""
        return [t.cuda_graph for t in self._traces.values() if t.cuda_graph is not None]


def _signature(args: tuple, kwargs: dict) -> tuple:
    """What a trace is specialised to: each tensor's shape and dtype, other values."""
    return (tuple(_key(value) for value in args),
            tuple((name, _key(value)) for name, value in kwargs.items()))


def _key(value: Any) -> tuple:
    data = value.array if isinstance(value, Tensor) else value
    if type(data) is np.ndarray or is_array(data):  # NumPy first: this runs every call
        return ("array", data.shape, data.dtype)
    try:
        hash(value)
    except TypeError:
        raise TypeError(
            f"sj.compile: arguments must be tensors, arrays or hashable values (they "
            f"select the trace). Received: {type(value).__name__}"
        ) from None
    return ("value", value)


class _Trace:
    """One traced signature: its graph, plan and effects."""

    def __init__(self, fn: Callable[..., Any], args: tuple, kwargs: dict,
                 cuda_graphs: bool = False) -> None:
        self.graph = Graph()
        self.graph.trace = self
        # ("backward", loss, seed, variables, modes), ("step", optimizer) or
        # ("zero_grad", optimizer or module, set_to_none)
        self.effects: list[tuple] = []
        self.placeholders: list[SymbolicTensor] = []
        self.arg_positions: list[Any] = []  # where each placeholder's value comes from
        with self.graph.as_default(), tracing.recording(self):
            symbolic_args = [self._input(a, i) for i, a in enumerate(args)]
            symbolic_kwargs = {k: self._input(v, k) for k, v in kwargs.items()}
            result = fn(*symbolic_args, **symbolic_kwargs)
        self._compile(result)
        self.cuda_graph = CapturedStep(self) if cuda_graphs else None

    def _input(self, value: Any, position: Any) -> Any:
        data = value.array if isinstance(value, Tensor) else value
        if not is_array(data):
            return value  # a Python value: fixed in this trace (it is part of the key)
        # An array argument arrives as a tensor of its own dtype, as sj.from_numpy gives.
        t = self.graph.add_placeholder(data.shape, data.dtype, f"arg_{position}",
                                       example=data.copy())
        self.placeholders.append(t)
        self.arg_positions.append(position)
        return t

    # -------------------------------------------------------------- recording
    def record_backward(self, loss: SymbolicTensor, gradient: Any) -> None:
        if gradient is None:
            if loss.numel() != 1:
                raise RuntimeError(
                    f"backward() without a gradient needs a scalar output. Received: "
                    f"{loss.name!r} of shape {loss.shape}. Pass gradient= with that shape."
                )
            seed = None
        else:
            if isinstance(gradient, SymbolicTensor):
                raise TypeError("sj.compile: backward(gradient=...) must be a fixed array")
            xp = get_array_module(loss.array)  # the seed goes where the loss is
            seed = xp.asarray(gradient.array if isinstance(gradient, Tensor) else gradient,
                              dtype=loss.dtype).reshape(loss.array.shape)
        candidates = [v for v in self.graph.variables if v.source is not None]
        flows = connected(loss, candidates)
        variables = [v for v, flow in zip(candidates, flows, strict=True) if flow]
        # Replace a gradient that was cleared before this backward, add to one that was not.
        modes = []
        for v in variables:
            grad = v.source.grad
            modes.append("add" if grad is not None and grad.array.any() else "set")
        self.effects.append(("backward", loss, seed, variables, modes))

    def record_step(self, optimizer: Any) -> None:
        self.effects.append(("step", optimizer))

    def record_zero_grad(self, owner: Any, set_to_none: bool) -> None:
        self.effects.append(("zero_grad", owner, set_to_none))

    # -------------------------------------------------------------- compiling
    def _compile(self, result: Any) -> None:
        leaves: list[Any] = []
        self.rebuild = flatten_structure(result, leaves)
        fetches = [leaf for leaf in leaves if isinstance(leaf, SymbolicTensor)]
        for t in fetches:
            if t.graph is not self.graph:
                raise ValueError(f"sj.compile: the function returned {t.name!r}, a tensor of "
                                 "another graph")
        self.leaves = leaves
        self.fetch_index = {id(t): i for i, t in enumerate(fetches)}
        passes = []
        with_grad: dict[int, Tensor] = {}  # the parameters that some backward reaches
        for effect in self.effects:
            if effect[0] == "backward":
                _, loss, seed, variables, _ = effect
                passes.append((loss, variables, seed))
                with_grad.update((id(v.source), v.source) for v in variables)
        self.plan = Plan(fetches, self.placeholders, passes, fuse=True)
        self.variables = self.plan.variables
        # The parameters to lay out flat: the small ones each known elementwise optimizer
        # steps (an unknown optimizer steps with its own step()).
        stepped = [effect[1] for effect in self.effects if effect[0] == "step"]
        self.groups: list[tuple[Any, int, list[Tensor]]] = []
        seen: set[int] = set()
        for optimizer in stepped:
            if not fusable(optimizer):
                continue
            for index, group in enumerate(optimizer.param_groups):
                params = [p for p in group["params"] if id(p) in with_grad
                          and id(p) not in seen and worth_fusing(p.array)]
                if params:
                    seen.update(map(id, params))
                    self.groups.append((optimizer, index, params))
        self.generated = generate(self)  # the whole step as one function, where it can

    # -------------------------------------------------------------- replaying
    def run(self, args: tuple, kwargs: dict) -> Any:
        """Feed the arguments, run the plan, apply the effects, return the results."""
        if self.generated is not None:
            result = self.generated.run(args, kwargs)
            if result is not FALLBACK:
                return result
        if self.cuda_graph is not None:  # captures and replays, or falls back to the below
            return self.cuda_graph.run(args, kwargs)
        fused = self.bind_layouts()
        fetched = self.execute(self.feed_arrays(args, kwargs), fused)
        return self.results(fetched)

    def bind_layouts(self) -> dict[int, tuple[FusedParams, int]]:
        """Bind each stepped group's flat layout: id(param) -> (layout, position)."""
        fused: dict[int, tuple[FusedParams, int]] = {}
        for optimizer, index, params in self.groups:
            layout = fused_params(optimizer, index, params)
            if layout is not None:
                layout.bind()
                fused.update((id(p), (layout, k)) for k, p in enumerate(params))
        return fused

    def feed_arrays(self, args: tuple, kwargs: dict) -> list[Any]:
        """The placeholders' arrays, taken from the call's arguments."""
        feeds = []
        for position in self.arg_positions:
            value = args[position] if isinstance(position, int) else kwargs[position]
            feeds.append(value.array if isinstance(value, Tensor) else value)
        return feeds

    def execute(self, feeds: list[Any], fused: dict[int, tuple[FusedParams, int]],
                step: Callable[[Any, dict], None] | None = None,
                grad_buffers: dict[int, Tensor] | None = None) -> list[Any]:
        """Run the plan and apply the effects; the fetched arrays. ``step`` replaces each
        optimizer step, ``grad_buffers`` receive the gradients they are keyed by (both for
        a CUDA-graph capture, ``shenjing/graph/cuda_graph.py``)."""
        variables = [v.source.array if v.source is not None else v.initial_value
                     for v in self.variables]
        fetched, grads = self.plan.run(feeds, variables)
        pass_index = 0
        for effect in self.effects:
            if effect[0] == "backward":
                _set_grads(effect[3], effect[4], grads[pass_index], fused, grad_buffers)
                pass_index += 1
            elif effect[0] == "zero_grad":
                effect[1].zero_grad(effect[2])
            elif step is not None:
                step(effect[1], fused)
            elif not _step_bound_layouts(effect[1], fused):
                effect[1].step()  # finds the layouts bound above: nothing is copied
        return fetched

    def results(self, fetched: list[Any]) -> Any:
        """The function's results, with the fetched arrays in place of its tensors."""
        values = []
        for leaf in self.leaves:
            index = self.fetch_index.get(id(leaf)) if isinstance(leaf, SymbolicTensor) else None
            values.append(leaf if index is None else Tensor._make(fetched[index], None))
        return self.rebuild(values)


def _set_grads(variables: list[Variable], modes: list[str], grads: list[Any],
               fused: dict[int, tuple[FusedParams, int]],
               buffers: dict[int, Tensor] | None = None) -> None:
    """Put a backward pass's gradients in the parameters' ``.grad``, as eager does (into
    ``buffers``' tensors where given: a CUDA graph's gradients stay at fixed addresses)."""
    handed_out: set[int] = set()
    for v, mode, g in zip(variables, modes, grads, strict=True):
        if g is None:
            continue
        p = v.source
        buffer = None if buffers is None else buffers.get(id(p))
        if buffer is not None and (mode == "set" or p.grad is None or p.grad is buffer):
            if mode == "set" or p.grad is None:
                buffer.array[...] = g
                p.grad = buffer
            else:
                buffer.array += g
            continue
        entry = fused.get(id(p))
        if entry is not None:
            layout, k = entry
            flat_grad = layout.grad_tensors[k]
            if mode == "set" or p.grad is None:
                layout.update.grads[k][...] = g
                p.grad = flat_grad
                continue
            if p.grad is flat_grad:
                layout.update.grads[k] += g
                continue
        if mode == "set" or p.grad is None:
            # CuPy's flags have no ``writeable``: its arrays always are.
            read_only = isinstance(g, np.ndarray) and not g.flags.writeable
            if g.base is not None or id(g) in handed_out or read_only:
                g = g.copy()
            handed_out.add(id(g))
            p.grad = Tensor._make(g, None)
        else:
            p.grad.array += g


def _step_bound_layouts(optimizer: Any, fused: dict[int, tuple[FusedParams, int]]) -> bool:
    """``optimizer.step()`` in short, when every gradient it would apply is one this
    replay set in a bound layout: each such layout updates at once. False (nothing done)
    otherwise, for ``step()`` to handle."""
    layouts: dict[int, FusedParams] = {}
    for group in optimizer.param_groups:
        for p in group["params"]:
            if p.grad is None:
                continue
            entry = fused.get(id(p))
            if entry is None:
                return False
            layout, k = entry
            if layout.optimizer is not optimizer or p.grad is not layout.grad_tensors[k]:
                return False
            layouts[id(layout)] = layout
    for layout in layouts.values():
        if any(p.grad is None for p in layout.params):  # step() would skip those
            return False
    for layout in layouts.values():
        layout.update.step()
    return True
