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
import math
from collections.abc import Callable, Sequence
from typing import Any

from shenjing._cuda import available as _is_cupy
from shenjing._cuda import elementwise_kernel
from shenjing.backend import get_array_module, is_array
from shenjing.graph.symbolic import SymbolicTensor
from shenjing.tensor import Tensor


class NotCapturable(RuntimeError):
    """The step cannot be recorded as one graph; it runs uncaptured."""


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
        padded = [float(v) for v in values] + [0.0] * (_SCALARS - len(values))
        _scalar_kernel(xp)(*padded, xp.int32(len(values)), buffer, size=1)


_SCALARS = 12  # the most per-step scalars one update needs (Adam: 10)


def _scalar_kernel(xp: Any) -> Any:
    """One thread writing up to ``_SCALARS`` float64 arguments into ``s`` (cast to T)."""
    args = ", ".join(f"float64 a{k}" for k in range(_SCALARS))
    body = " ".join(f"if ({k} < n) s[{k}] = (T)a{k};" for k in range(_SCALARS))
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
        self.targets: dict[int, list[_Update]] = {}

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
            _check_optimizer(optimizer)
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
            updates = self.targets[id(optimizer)] = _updates(optimizer, fused, self.xp)
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


# ------------------------------------------------------------------ captured updates
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


def _check_optimizer(optimizer: Any) -> None:
    kind = _kind(optimizer)
    if kind is None:
        raise NotCapturable(f"{type(optimizer).__name__}'s update reads host values; "
                            "Adam, AdamW and SGD are captured")
    if kind == "adam" and any(group["amsgrad"] for group in optimizer.param_groups):
        raise NotCapturable("Adam with amsgrad=True is not captured")


class _Update:
    """One captured in-place update: a parameter array (or a flat layout), its gradient,
    its state, and the device buffer its per-step scalars go to."""

    def __init__(self, kind: str, optimizer: Any, group: dict, param: Any, grad: Any,
                 state: dict, after: Callable[[], None] | None, xp: Any) -> None:
        self.kind, self.optimizer, self.group = kind, optimizer, group
        self.param, self.grad_of, self.state, self.after = param, grad, state, after
        # Filled before every launch; ones until then, so that the stand-in's capture,
        # which runs the update on them, divides by no zero.
        self.scalars = xp.ones(_SCALARS, param.dtype)
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

    def upload(self, backend: GraphBackend, xp: Any) -> None:
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


def _updates(optimizer: Any, fused: dict, xp: Any) -> list[_Update]:
    """The captured updates of ``optimizer.step()`` as the parameters stand now: one per
    bound flat layout, one per other parameter with a gradient."""
    kind = _kind(optimizer)
    updates: list[_Update] = []
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
            updates.append(_Update(kind, optimizer, group, p.array,
                                   lambda p=p: p.grad.array, state, None, xp))
    for layout in layouts.values():
        if any(p.grad is None for p in layout.params):
            raise NotCapturable("a flat layout is only partly stepped")
        update = layout.update
        group = optimizer.param_groups[update.group_index]
        updates.append(_Update(kind, optimizer, group, update.param,
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
    s = [active, ±1, λ, decay, β₁, 1 − β₁, β₂, 1 − β₂, inverse, ε/s] (see ``_Update``)."""
    if _is_cupy(xp):
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
    if _is_cupy(xp):
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
