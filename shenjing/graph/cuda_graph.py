"""CUDA graphs for ``sj.compile(fn, mode="reduce-overhead")``: one launch per training step.

At these networks' sizes a GPU training step is hundreds of small kernels, each launched
from Python; the launches, not the arithmetic, set the speed. A CUDA graph records the
kernels of one step once and replays them all with one launch. Per trace (one input
signature) a ``CapturedStep``:

1. runs the first call as the plain compiled step (the warm-up: every CuPy kernel is
   compiled and the optimizer's state exists by then);
2. on the next call allocates *static* buffers: one per argument, one per result, one
   gradient per parameter that is not in a flat layout; the parameters and optimizer
   state already sit at fixed addresses (the flat layouts of ``shenjing.optim.fused``,
   updated in place);
3. captures the whole step (forward, loss, backward, gradients, optimizer update and the
   copies into the result buffers) on a side stream with a memory pool of its own, so
   the addresses the graph recorded are never handed to anything else;
4. then, every call: copies the batch into the input buffers, writes the optimizer's
   per-step scalars into a small device buffer (one kernel launch with the scalars as its
   arguments, so the host never waits), launches the graph and returns copies of the
   result buffers.

The optimizer update is captured with the hyperparameters read from that device buffer
(Adam's bias corrections change every step; a scheduler changes ``lr``), so schedules
apply without recapturing. Adam/AdamW (not AMSGrad) and SGD (with or without momentum,
Nesterov) are captured this way, with the same float operations in the same order as
their ``update_param``; the host keeps Adam's step count as eager training does.

It falls back to the plain compiled step, for good and with the reason in ``reason``,
when the step cannot be a graph: no graph backend for the arrays' module (NumPy), a
random op (dropout masks would be replayed identical), an argument that is not an array
of the parameters' device, another optimizer (its update reads host values), or a
capture that fails (a host read such as ``.item()`` inside the step). It captures again
when something it recorded moved: a parameter's or state's array replaced (``to()``,
``load_state_dict``), a gradient cleared outside the step, a structural hyperparameter
changed (``nesterov``, ``momentum`` to or from zero).

The capture and the launch sit behind a small seam, ``GraphBackend``: ``CupyGraphs`` on
a GPU, and ``HostReplay`` for the strict CuPy stand-in (``shenjing.testing.strict``),
where "capturing" runs the step once with every device buffer restored afterwards (a
CUDA capture executes nothing) and counts host reads, and "launching" runs it again.
The stand-in re-runs the step's Python on every replay, which a real graph does not, so
it checks the static-buffer plumbing and the numbers, not that the step's Python is
free of effects that a replay would skip; ``scripts/gpu_check.sh`` checks that on CuPy.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Sequence
from typing import Any

from shenjing._cuda import elementwise_kernel
from shenjing._cuda import is_cupy as _is_cupy
from shenjing.backend import get_array_module, is_array
from shenjing.graph.cuda_graph_updates import (
    SCALARS,
    NotCapturable,
    Update,
    check_optimizer,
    updates_of,
)
from shenjing.graph.symbolic import SymbolicTensor
from shenjing.tensor import Tensor


class GraphBackend:
    """How one array module captures and launches graphs (the seam a test replaces)."""

    def capture(self, fn: Callable[[], None], buffers: Sequence[Any]) -> Any:
        """Record ``fn``'s device work as a graph without changing ``buffers`` (the
        device arrays that outlive the capture). Raises ``NotCapturable``."""
        raise NotImplementedError

    def launch(self, graph: Any) -> None:
        """Run a captured graph once, after the work already queued."""
        raise NotImplementedError

    def set_scalars(self, xp: Any, buffer: Any, values: Sequence[float]) -> None:
        """Write host scalars into a small device ``buffer`` without waiting on it."""
        raise NotImplementedError


class CupyGraphs(GraphBackend):
    """CUDA graphs through CuPy's stream capture (``Stream.begin_capture`` /
    ``end_capture`` giving a ``cupy.cuda.Graph``, launched with ``Graph.launch``)."""

    def __init__(self, cupy: Any) -> None:
        self.cupy = cupy
        self.stream = cupy.cuda.Stream(non_blocking=True)

    def capture(self, fn: Callable[[], None], buffers: Sequence[Any]) -> Any:
        cupy = self.cupy
        # The graph's own pool: the memory it recorded must never go to another array
        # (CuPy's default capture mode is relaxed, so the pool may still grow meanwhile).
        pool = cupy.cuda.MemoryPool()
        cupy.cuda.get_current_stream().synchronize()  # the warm-up's work is done
        stream = self.stream
        with cupy.cuda.using_allocator(pool.malloc), stream:
            stream.begin_capture()
            try:
                fn()
            except Exception as error:
                # An invalidated capture raises again when it is ended.
                with contextlib.suppress(Exception):
                    stream.end_capture()
                raise NotCapturable(f"the step failed under capture: {error}") from error
            graph = stream.end_capture()
        return graph, pool  # the pool lives as long as the graph

    def launch(self, graph: Any) -> None:
        graph[0].launch(stream=self.cupy.cuda.get_current_stream())

    def set_scalars(self, xp: Any, buffer: Any, values: Sequence[float]) -> None:
        # The scalars travel as kernel arguments, copied at launch: no host buffer to
        # guard, no wait (a pageable host-to-device copy could wait for the stream).
        padded = [float(v) for v in values] + [0.0] * (SCALARS - len(values))
        _scalar_kernel(xp)(*padded, xp.int32(len(values)), buffer, size=1)


def _scalar_kernel(xp: Any) -> Any:
    """One thread writing up to ``SCALARS`` float64 arguments into ``s`` (cast to T)."""
    args = ", ".join(f"float64 a{k}" for k in range(SCALARS))
    body = " ".join(f"if ({k} < n) s[{k}] = (T)a{k};" for k in range(SCALARS))
    return elementwise_kernel(xp, "shenjing_graph_scalars", f"{args}, int32 n", "raw T s",
                              body)


class HostReplay(GraphBackend):
    """The strict stand-in's "graphs": a capture runs the step once and restores every
    device buffer (a CUDA capture executes nothing), failing on a host read; a launch
    runs the step again.

    Args:
        count_syncs: how many host reads of device data have happened so far
            (``lambda: strict.host_syncs``).
    """

    def __init__(self, count_syncs: Callable[[], int]) -> None:
        self.count_syncs = count_syncs
        self.launches = 0

    def capture(self, fn: Callable[[], None], buffers: Sequence[Any]) -> Any:
        saved = [b.copy() for b in buffers]
        before = self.count_syncs()
        try:
            fn()
        except Exception as error:
            raise NotCapturable(f"the step failed under capture: {error}") from error
        finally:
            for b, value in zip(buffers, saved, strict=True):
                b[...] = value
        if self.count_syncs() != before:
            raise NotCapturable("the step reads device data on the host (a sync), which a "
                                "CUDA graph cannot record")
        return fn

    def launch(self, graph: Any) -> None:
        self.launches += 1
        graph()

    def set_scalars(self, xp: Any, buffer: Any, values: Sequence[float]) -> None:
        buffer[: len(values)] = xp.asarray(values, dtype=buffer.dtype)


_BACKENDS: dict[str, GraphBackend | None] = {}


def register_backend(module_name: str, backend: GraphBackend | None) -> None:
    """Use ``backend`` for arrays whose module is called ``module_name`` (None removes)."""
    if backend is None:
        _BACKENDS.pop(module_name, None)
    else:
        _BACKENDS[module_name] = backend


def backend_for(xp: Any) -> GraphBackend | None:
    """The graph backend of array module ``xp``: CuPy's, a registered one, or None."""
    name = xp.__name__
    if name not in _BACKENDS and _is_cupy(xp):
        _BACKENDS[name] = CupyGraphs(xp)
    return _BACKENDS.get(name)


_RANDOM_OPS = {"Dropout"}  # and attention with dropout_p > 0: masks drawn on the device


class CapturedStep:
    """One trace's CUDA graph: captured on its second call, replayed after (see the
    module docstring).

    Attributes:
        captures: how many times the step was captured.
        replays: how many calls ran the captured graph.
        reason: why the step runs uncaptured, or None.
    """

    def __init__(self, trace: Any) -> None:
        self.trace = trace
        self.captures = 0
        self.replays = 0
        self.reason: str | None = None
        self.warm = False
        self.backend: GraphBackend | None = None
        self.graph: Any = None
        self.pinned: tuple = ()
        fetch_index = trace.fetch_index
        leaves = [leaf for leaf in trace.leaves if isinstance(leaf, SymbolicTensor)]
        self.fetches = sorted({id(t): t for t in leaves}.values(),
                              key=lambda t: fetch_index[id(t)])
        self.targets: dict[int, list[Update]] = {}

    # -------------------------------------------------------------- running
    def run(self, args: tuple, kwargs: dict) -> Any:
        """One call of the compiled step: warm-up, capture, replay, or the plain run."""
        trace = self.trace
        fused = trace.bind_layouts()
        feeds = trace.feed_arrays(args, kwargs)
        if self.reason is not None or not self.warm:
            self.warm = True
            return trace.results(trace.execute(feeds, fused))
        if self.graph is None or self._pinned() != self.pinned:
            try:
                self._capture(feeds, fused)
            except NotCapturable as error:
                self.reason = str(error)
                self.graph = None
                return trace.results(trace.execute(feeds, fused))
        for static, value in zip(self.inputs, feeds, strict=True):
            static[...] = value
        for updates in self.targets.values():
            for update in updates:
                update.upload(self.backend, self.xp)
        self.backend.launch(self.graph)
        self.replays += 1
        return trace.results([out.copy() for out in self.outputs])

    # -------------------------------------------------------------- capturing
    def _capture(self, feeds: list[Any], fused: dict) -> None:
        trace = self.trace
        arrays = [v.source.array for v in trace.variables if v.source is not None]
        sample = (arrays or feeds or [None])[0]
        if not is_array(sample):
            raise NotCapturable("the step reads no device array")
        xp = get_array_module(sample)
        backend = backend_for(xp)
        if backend is None:
            raise NotCapturable(f"no CUDA graphs for {xp.__name__} arrays")
        for value in feeds:
            if type(value) is not type(sample):
                raise NotCapturable(f"an argument of type {type(value).__name__} is not an "
                                    f"array of the parameters' device")
        for op in trace.plan.ops:
            if op.type in _RANDOM_OPS or op.params.get("dropout_p", 0):
                raise NotCapturable(f"{op.type} draws random numbers on the device, which "
                                    "a replay would repeat")
        optimizers = [effect[1] for effect in trace.effects if effect[0] == "step"]
        for optimizer in optimizers:
            check_optimizer(optimizer)
        self.xp, self.backend = xp, backend
        # Filled now too: the stand-in's capture computes on them (and CUDA's must not
        # meet garbage either, should a kernel ever run while capturing).
        self.inputs = [xp.empty(t.shape, t.dtype) for t in trace.placeholders]
        for static, value in zip(self.inputs, feeds, strict=True):
            static[...] = value
        self.outputs = [xp.empty(t.shape, t.dtype) for t in self.fetches]
        self.grad_buffers: dict[int, Tensor] = {}
        self.grad_owners: list[Any] = []
        for effect in trace.effects:
            if effect[0] != "backward":
                continue
            for v in effect[3]:
                p = v.source
                if id(p) not in fused and id(p) not in self.grad_buffers:
                    grad = p.grad
                    keep = grad is not None and grad.array.shape == p.array.shape
                    self.grad_buffers[id(p)] = grad if keep else Tensor._make(
                        xp.zeros_like(p.array), None)
                    self.grad_owners.append(p)
        grads_before = [(p, p.grad) for p in self.grad_owners]
        # A gradient that accumulates (no zero_grad in the step) moves into its flat
        # layout, values kept, so the graph adds into an address it owns.
        for effect in trace.effects:
            for v in effect[3] if effect[0] == "backward" else ():
                p = v.source
                entry = fused.get(id(p))
                if entry is None or p.grad is None:
                    continue
                layout, k = entry
                flat = layout.grad_tensors[k]
                if p.grad is not flat and p.grad.array.shape == p.array.shape:
                    grads_before.append((p, p.grad))
                    layout.update.grads[k][...] = p.grad.array
                    p.grad = flat
        self.targets = {}
        buffers = self._device_buffers(arrays, optimizers)

        def record() -> None:
            fetched = trace.execute(self.inputs, fused, self._step, self.grad_buffers)
            for out, value in zip(self.outputs, fetched, strict=True):
                out[...] = value

        try:
            self.graph = backend.capture(record, buffers)
        except NotCapturable:
            for p, grad in grads_before:  # a failed capture leaves .grad as it found it
                p.grad = grad
            raise
        self.captures += 1
        self.pinned = self._pinned()

    def _step(self, optimizer: Any, fused: dict) -> None:
        """The captured ``optimizer.step()``: each update reads its scalars from the
        device, so one graph serves every step."""
        updates = self.targets.get(id(optimizer))
        if updates is None:
            updates = self.targets[id(optimizer)] = updates_of(optimizer, fused, self.xp)
        for update in updates:
            update.launch(self.xp)

    def _device_buffers(self, arrays: list[Any], optimizers: list[Any]) -> list[Any]:
        """Every device array a replay writes that outlives it, once each."""
        found: dict[int, Any] = {}

        def add(a: Any) -> None:
            if is_array(a):
                found.setdefault(id(a), a)

        for a in (*arrays, *self.outputs, *self.inputs):
            add(a)
        for p in self.grad_owners:
            add(self.grad_buffers[id(p)].array)
            if p.grad is not None:
                add(p.grad.array)
        for optimizer in optimizers:
            for group in optimizer.param_groups:
                for p in group["params"]:
                    add(p.array)
                    if p.grad is not None:
                        add(p.grad.array)
                    for item in (optimizer.state.get(p) or {}).values():
                        add(item)
            for layout in optimizer.fused_layouts.values():
                add(layout.update.param)
                add(layout.update.grad)
                for item in layout.update.state.values():
                    add(item)
        return list(found.values())

    def _pinned(self) -> tuple:
        """The identities a captured graph depends on: a change means capture again."""
        ids: list[Any] = [id(v.source.array) for v in self.trace.variables
                          if v.source is not None]
        ids += [id(p.grad) for p in self.grad_owners]
        for updates in self.targets.values():
            for update in updates:
                ids += update.identity()
        return tuple(ids)
