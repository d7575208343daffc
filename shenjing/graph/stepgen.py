"""A whole compiled training step as one generated native function.

On a small network the arithmetic of a step is a few GEMMs; the rest of a replayed plan
is Python: a dispatch per op forward and backward, the gradients handed to ``.grad``,
the optimizer's bookkeeping. XLA removes all of that from a JAX step by compiling the
step as one program, and so does this module for ``sj.compile``, when the kernel tier is
on and every part of the step is one it can write:

- the ops between the inputs and the loss each have an emitter (``stepgen_emit.py``:
  linear layers, the usual activations, BCE, MSE, softmax cross-entropy);
- the recorded effects are ``zero_grad``'s, one ``backward()`` of a scalar loss that
  replaces the gradients (they were cleared), then one ``step()`` of an optimizer that an
  emitter writes (``stepgen_optim.py``: Adam, AdamW, SGD) and that steps exactly the
  parameters the loss reaches.

The step is then one Numba function, forward, backward and update, whose source is kept
(``CompiledFunction.source``) and cached on disk like the other generated kernels
(``shenjing.kernels.load_source``). A replay checks that the parameters and optimizer
state are still the arrays it was bound to (rebinding if not), reads the hyperparameters
of each group (schedulers take effect), makes one call, and hands each parameter its
gradient (the same ``.grad`` tensor every replay, as the flat layouts of
``optim/fused.py`` do). Anything else, including a call it cannot take (lr = 0, AMSGrad
switched on, parameter state made by hand), runs the plan as before.
"""

from __future__ import annotations

import math
import warnings
from typing import Any

import numpy as np

from shenjing import kernels
from shenjing.graph.plan import BackwardPass, _upstream
from shenjing.graph.stepgen_emit import EMITTERS, extra_inputs
from shenjing.graph.stepgen_optim import OptimizerEmitter, emitter
from shenjing.graph.symbolic import SymbolicTensor
from shenjing.optim.fused import fused_params
from shenjing.tensor import Tensor

FALLBACK = object()
"""What ``GeneratedStep.run`` returns when this call must run the plan instead."""


class _Unsupported(Exception):
    """The step has a part the generator does not write."""


def generate(trace: Any) -> GeneratedStep | None:
    """The generated step of a traced function, or None where some part of it is not one
    the generator writes (the plan then runs every replay)."""
    if not kernels.enabled():
        return None
    try:
        return GeneratedStep(trace)
    except _Unsupported:
        return None


def _effects(effects: list[tuple]) -> tuple[list, tuple, Any, list]:
    """(zero_grads before, the backward effect, the optimizer, zero_grads after) for
    the one pattern generated: zero_grad*, backward, step, zero_grad*."""
    kinds = [e[0] for e in effects]
    core = [k for k in kinds if k != "zero_grad"]
    if core != ["backward", "step"] or kinds.index("step") != kinds.index("backward") + 1:
        raise _Unsupported("effects")
    at = kinds.index("backward")
    backward, step = effects[at], effects[at + 1]
    _, _, seed, _, modes = backward
    if seed is not None or any(mode != "set" for mode in modes):
        raise _Unsupported("backward")
    return effects[:at], backward, step[1], effects[at + 2:]


class GeneratedStep:
    """One traced training step generated as a single Numba function (see the module).

    Attributes:
        source: the generated Python source.
    """

    def __init__(self, trace: Any) -> None:
        before, backward, optimizer, after = _effects(trace.effects)
        _, loss, _, variables, _ = backward
        self.optimizer = optimizer
        self.opt_emitter: OptimizerEmitter | None = emitter(optimizer)
        if self.opt_emitter is None or not isinstance(loss, SymbolicTensor):
            raise _Unsupported("optimizer")
        # Zero_grads of this optimizer before the backward change nothing a replay keeps:
        # every one of its parameters gets a fresh gradient.
        self.before = [(e[1], e[2]) for e in before if e[1] is not optimizer]
        self.after = [(e[1], e[2]) for e in after]
        stepped = [(index, p) for index, group in enumerate(optimizer.param_groups)
                   for p in group["params"]]
        by_id = {id(v.source): v for v in variables}
        if len(stepped) != len(by_id) or any(id(p) not in by_id for _, p in stepped):
            raise _Unsupported("the optimizer steps other parameters than the loss reaches")
        fetches = [leaf for leaf in trace.leaves if isinstance(leaf, SymbolicTensor)]
        placeholders = trace.placeholders
        fed = {id(t) for t in placeholders}
        ops, sources, unfed = _upstream([*fetches, loss], fed)
        if unfed or any(t.op.type == "Const" for t in sources):
            raise _Unsupported("sources")
        graph_vars = [t for t in sources if t.op.type == "Variable"]
        tensors = [*placeholders, *graph_vars, *(op.outputs[0] for op in ops)]
        slot = {id(t): k for k, t in enumerate(tensors)}
        wrt = [by_id[id(p)] for _, p in stepped]
        bp = BackwardPass(ops, slot, loss, wrt)
        if not all(bp.connected):
            raise _Unsupported("a parameter gets no gradient")
        self.dtype = _check_types(ops, loss, wrt)
        self._plan_source(ops, bp, tensors, slot, placeholders, graph_vars, wrt, stepped,
                          loss, fetches)
        self.arg_positions = trace.arg_positions
        self.graph_vars = graph_vars
        self.wrt = wrt
        self.rebuild = trace.rebuild
        # Each returned leaf, with where its value is in the results (None: a constant).
        fetch_index = {id(t): 1 + i for i, t in enumerate(fetches)}
        self.outputs = [(leaf, fetch_index.get(id(leaf))
                         if isinstance(leaf, SymbolicTensor) else None)
                        for leaf in trace.leaves]
        self.params = [v.source for v in wrt]
        self.layouts: list[Any] = [None] * len(self.groups)
        assert self.opt_emitter is not None
        self.hypers = [np.zeros(self.opt_emitter.scalars, self.dtype) for _ in self.groups]
        self.fn: Any = None
        self.calls = 0  # calls that ran the generated function (tests ask)

    # ------------------------------------------------------------------ generating
    def _plan_source(self, ops: list, bp: BackwardPass, tensors: list, slot: dict,
                     placeholders: list, graph_vars: list, wrt: list, stepped: list,
                     loss: Any, fetches: list) -> None:
        name = {id(t): f"t{k}" for k, t in enumerate(tensors)}
        uses: dict[int, int] = {}
        for op in ops:
            for t in (*op.inputs, *extra_inputs(op)):
                uses[id(t)] = uses.get(id(t), 0) + 1
        # Each group's parameters, gradients and state are flat buffers (one argument
        # each: a Numba call costs about 0.5 µs per array argument); a parameter and its
        # gradient are views of them, at the offsets ``FusedUpdate`` lays them out at.
        groups: dict[int, list[int]] = {}
        for j, (index, _) in enumerate(stepped):
            groups.setdefault(index, []).append(j)
        self.groups = list(groups.items())
        grad_out = {id(v): f"G{j}" for j, v in enumerate(wrt)}
        body: list[str] = ["# the parameters and their gradients: views of the flat buffers"]
        for index, members in self.groups:
            start = 0
            for j in members:
                v = wrt[j]
                stop = start + math.prod(v.shape)
                body.append(f"{name[id(v)]} = P{index}[{start}:{stop}].reshape({v.shape})")
                body.append(f"G{j} = GF{index}[{start}:{stop}].reshape({v.shape})")
                start = stop
        body.append("# forward")
        for op in ops:
            spec = EMITTERS[op.type]
            if spec.scalar and op.outputs[0] is not loss:
                raise _Unsupported("a loss that is not the loss differentiated")
            ins = [name[id(t)] for t in (*op.inputs, *extra_inputs(op))]
            body += spec.forward(op, ins, name[id(op.outputs[0])])
        body.append("# backward")
        grads: dict[int, str] = {slot[id(loss)]: "one"}
        counter = 0
        for op, out_slot, _, _ in bp.steps:
            spec = EMITTERS[op.type]
            needs = bp.needs[id(op)]
            if not spec.supports(op, needs):
                raise _Unsupported(op.type)
            gy = grads.pop(out_slot, None)
            if gy is None:
                continue
            into = [grad_out.get(id(t)) if need and uses.get(id(t)) == 1 else None
                    for t, need in zip(op.inputs, needs, strict=True)]
            ins = [name[id(t)] for t in (*op.inputs, *extra_inputs(op))]
            lines, gxs = spec.backward(op, gy, ins, name[id(op.outputs[0])], needs, into)
            body += lines
            for t, g in zip(op.inputs, gxs, strict=False):
                if g is None:
                    continue
                s = slot[id(t)]
                if s in grads:  # a second path into this tensor: gradients add
                    counter += 1
                    body.append(f"gsum{counter} = {grads[s]} + {g}")
                    g = f"gsum{counter}"
                grads[s] = g
        for v in wrt:
            g = grads[slot[id(v)]]
            if g != grad_out[id(v)]:
                body.append(f"{grad_out[id(v)]}[...] = {g}")
        body.append("# update")
        em = self.opt_emitter
        assert em is not None
        group_args = []
        for index, _ in self.groups:
            states = [f"S{index}_{k}" for k in range(len(em.state_keys))]
            group_args += [f"P{index}", f"GF{index}", *states, f"h{index}"]
            body += em.loop(f"P{index}", f"GF{index}", states, f"h{index}")
        returns = [name[id(loss)], *(name[id(t)] for t in fetches)]
        body.append(f"return ({', '.join(returns)},)")
        stepped_ids = {id(v) for v in wrt}
        self.others = [t for t in graph_vars if id(t) not in stepped_ids]
        args = [*(name[id(t)] for t in placeholders), *(name[id(t)] for t in self.others),
                *group_args]
        self.source = _module(self.dtype, args, body)

    # ------------------------------------------------------------------ binding
    def _layouts(self) -> list[Any] | None:
        """Each group's flat layout, bound (``Parameter.array`` a view of its buffer),
        made again if something changed behind it; None where one cannot be made."""
        layouts = self.layouts
        if all(layout is not None and layout.bound() for layout in layouts):
            return layouts  # the usual case: one pass of identity checks
        for k, (index, members) in enumerate(self.groups):
            layout = layouts[k]
            if layout is None or not layout.intact():
                layout = layouts[k] = fused_params(self.optimizer, index,
                                                   [self.params[j] for j in members])
                if layout is None or type(layout.update.param) is not np.ndarray:
                    return None
            layout.bind()
        return layouts

    def _feeds(self, args: tuple, kwargs: dict) -> list[Any] | None:
        """The arrays fed to the call (arguments, then unstepped variables); None where
        one is not a NumPy array."""
        call = []
        for position in self.arg_positions:
            value = args[position] if type(position) is int else kwargs[position]
            a = value.array if isinstance(value, Tensor) else value
            if type(a) is not np.ndarray:
                return None
            call.append(a if a.flags.c_contiguous else np.ascontiguousarray(a))
        for v in self.others:
            a = v.source.array if v.source is not None else v.initial_value
            if type(a) is not np.ndarray or not a.flags.c_contiguous:
                return None
            call.append(a)
        return call

    # ------------------------------------------------------------------ running
    def run(self, args: tuple, kwargs: dict) -> Any:
        """One replay as one call; ``FALLBACK`` where this call must run the plan."""
        if self.fn is FALLBACK or not kernels.enabled():
            return FALLBACK
        call = self._feeds(args, kwargs)
        layouts = self._layouts() if call is not None else None
        if layouts is None:
            return FALLBACK
        em, param_groups = self.opt_emitter, self.optimizer.param_groups
        updates = []
        for (index, _), layout, h in zip(self.groups, layouts, self.hypers, strict=True):
            group, update = param_groups[index], layout.update
            arrays = em.arrays(update, group)
            token = None if arrays is None else em.hyper(update, group, h)
            if token is None:
                return FALLBACK
            updates.append((update, arrays, token))
            call += [update.param, update.grad, *arrays, h]
        for owner, set_to_none in self.before:
            owner.zero_grad(set_to_none)
        results = self._call(call)
        if results is FALLBACK:
            return FALLBACK
        self.calls += 1
        for update, arrays, token in updates:
            em.after(update, arrays, token)
        for layout in layouts:
            for p, g in zip(layout.params, layout.grad_tensors, strict=True):
                if p.grad is not g:
                    p.grad = g
        for owner, set_to_none in self.after:
            owner.zero_grad(set_to_none)
        values = []
        for leaf, index in self.outputs:
            if index is None:
                values.append(leaf)
            else:
                out = results[index]
                values.append(Tensor._make(out if type(out) is np.ndarray
                                           else np.asarray(out, dtype=self.dtype), None))
        return self.rebuild(values)

    def _call(self, call: list[Any]) -> Any:
        """The generated function's results; its first call compiles it (or loads it
        from the disk cache), or gives ``FALLBACK`` where Numba cannot compile it."""
        if self.fn is not None:
            return self.fn(*call)
        kernel = kernels.load_source("step", self.source).step
        try:
            results = kernel(*call)  # timed into kernels.compile_seconds()
        except kernels.numba().core.errors.NumbaError as error:
            # Nothing ran: Numba failed to type or compile the generated source.
            warnings.warn(f"sj.compile: the generated step failed to compile, the "
                          f"plan runs instead: {error}", RuntimeWarning, stacklevel=4)
            self.fn = FALLBACK
            return FALLBACK
        self.fn = kernel.dispatcher  # then called without the wrapper's bookkeeping
        return results


def _check_types(ops: list, loss: Any, wrt: list) -> str:
    """The step's one float dtype (float32 or float64) over NumPy arrays."""
    dtypes = set()
    for op in ops:
        # A dependency other than a tensor the op reads through its parameters would
        # order it after an op the generated step does not know of.
        read = {id(t) for t in extra_inputs(op)}
        if (op.type not in EMITTERS or op.stop_gradient
                or any(id(t) not in read for t in op.dependencies)):
            raise _Unsupported(getattr(op, "type", "?"))
        for t in (*op.inputs, op.outputs[0]):
            if not isinstance(t.array, np.ndarray):
                raise _Unsupported("not NumPy")
            if t.dtype.kind == "f":
                dtypes.add(str(t.dtype))
            elif t.dtype.kind != "i":
                raise _Unsupported("dtype")
    if len(dtypes) != 1 or dtypes.pop() not in ("float32", "float64"):
        raise _Unsupported("dtypes")
    return str(loss.dtype)


def _module(dtype: str, args: list[str], body: list[str]) -> str:
    """The generated module's source: its imports and constants, then ``step``."""
    exp_import = ("from shenjing.ops._numba_exp import exp" if dtype == "float32"
                  else "from math import exp")
    header = [
        '"""A training step generated by sj.compile (shenjing/graph/stepgen.py)."""',
        "import numpy as np",
        exp_import,
        "from shenjing.kernels import kernel",
        "from shenjing.ops._numba_math import tanh",
        "from shenjing.ops._numba_loss import _forward as sce_forward",
        "from shenjing.ops._numba_loss import _backward as sce_backward",
        f"dt = np.{dtype}",
        "one = dt(1.0)",
        "LOG_FLOOR = dt(-100.0)",
        "BCE_EPS = dt(1e-12)",
        "",
        "",
        "@kernel",
        f"def step({', '.join(args)}):",
    ]
    return "\n".join(header + ["    " + line for line in body]) + "\n"
