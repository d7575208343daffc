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

from typing import Any

import numpy as np

from shenjing import kernels
from shenjing.graph.plan import BackwardPass, _upstream
from shenjing.graph.stepgen_emit import EMITTERS, extra_inputs
from shenjing.graph.stepgen_optim import OptimizerEmitter, emitter
from shenjing.graph.symbolic import SymbolicTensor
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
        self.leaves, self.rebuild = trace.leaves, trace.rebuild
        self.fetch_index = {id(t): i for i, t in enumerate(fetches)}
        self.fn: Any = None
        self.bound: list[Any] | None = None

    # ------------------------------------------------------------------ generating
    def _plan_source(self, ops: list, bp: BackwardPass, tensors: list, slot: dict,
                     placeholders: list, graph_vars: list, wrt: list, stepped: list,
                     loss: Any, fetches: list) -> None:
        name = {id(t): f"t{k}" for k, t in enumerate(tensors)}
        uses: dict[int, int] = {}
        for op in ops:
            for t in (*op.inputs, *extra_inputs(op)):
                uses[id(t)] = uses.get(id(t), 0) + 1
        grad_out = {id(v): f"G{j}" for j, v in enumerate(wrt)}
        body: list[str] = ["# forward"]
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
        groups: dict[int, list[int]] = {}
        for j, (index, _) in enumerate(stepped):
            groups.setdefault(index, []).append(j)
        self.groups = [(index, members) for index, members in groups.items()]
        states_args = []
        for index, members in self.groups:
            for j in members:
                p, g = f"P{j}", f"GF{j}"
                s_names = [f"S{j}_{k}" for k in range(len(em.state_keys))]
                states_args += s_names
                body.append(f"{p} = {name[id(wrt[j])]}.reshape(-1)")
                body.append(f"{g} = G{j}.reshape(-1)")
                flat = []
                for s in s_names:
                    body.append(f"{s}f = {s}.reshape(-1)")
                    flat.append(f"{s}f")
                body += em.loop(p, g, flat, f"h{index}")
        returns = [name[id(loss)], *(name[id(t)] for t in fetches)]
        body.append(f"return ({', '.join(returns)},)")
        args = [*(name[id(t)] for t in placeholders), *(name[id(t)] for t in graph_vars),
                *(f"G{j}" for j in range(len(wrt))), *states_args,
                *(f"h{index}" for index, _ in self.groups)]
        self.source = _module(self.dtype, args, body)

    # ------------------------------------------------------------------ binding
    def _bind(self) -> bool:
        """Take the parameters' current arrays and state (made as a first ``step()``
        would); False where they are not plain C-ordered arrays of the traced kind."""
        arrays = []
        for v in self.graph_vars:
            a = v.source.array if v.source is not None else v.initial_value
            if (type(a) is not np.ndarray or not a.flags.c_contiguous
                    or a.shape != v.shape or a.dtype != v.dtype):
                return False
            arrays.append(a)
        em, optimizer = self.opt_emitter, self.optimizer
        assert em is not None
        params = [v.source for v in self.wrt]
        grads = [np.zeros(v.shape, self.dtype) for v in self.wrt]
        states: list[list[Any]] = [[] for _ in self.wrt]
        hypers = []
        for index, members in self.groups:
            group = optimizer.param_groups[index]
            made = em.prepare(optimizer, group, [params[j] for j in members],
                              [params[j].array for j in members])
            if made is None:
                return False
            for j, arrays_j in zip(members, made, strict=True):
                for a in arrays_j:
                    if (type(a) is not np.ndarray or not a.flags.c_contiguous
                            or a.shape != params[j].shape or a.dtype != self.dtype):
                        return False
                states[j] = arrays_j
            hypers.append(np.zeros(em.scalars, self.dtype))
        self.var_arrays = arrays
        self.params = params
        self.states = states
        self.grad_tensors = [Tensor._make(g, None) for g in grads]
        self.hypers = hypers
        self.bound = [*arrays, *grads, *(a for s in states for a in s), *hypers]
        return True

    def _intact(self) -> bool:
        """Whether the parameters and their state are still the bound arrays."""
        for v, a in zip(self.graph_vars, self.var_arrays, strict=True):
            source = v.source
            if (source.array if source is not None else v.initial_value) is not a:
                return False
        state, keys = self.optimizer.state, self.opt_emitter.state_keys
        lazy = self.opt_emitter.lazy_state
        for p, arrays in zip(self.params, self.states, strict=True):
            entry = state.get(p)
            for key, a in zip(keys, arrays, strict=True):
                current = None if entry is None else entry.get(key)
                if current is not a and not (lazy and current is None):
                    return False
        return True

    # ------------------------------------------------------------------ running
    def run(self, args: tuple, kwargs: dict) -> Any:
        """One replay as one call; ``FALLBACK`` where this call must run the plan."""
        if not kernels.enabled():
            return FALLBACK
        feeds = []
        for position in self.arg_positions:
            value = args[position] if isinstance(position, int) else kwargs[position]
            a = value.array if isinstance(value, Tensor) else value
            if type(a) is not np.ndarray:
                return FALLBACK
            feeds.append(a if a.flags.c_contiguous else np.ascontiguousarray(a))
        if (self.bound is None or not self._intact()) and not self._bind():
            return FALLBACK
        em, optimizer = self.opt_emitter, self.optimizer
        tokens = []
        for (index, members), h in zip(self.groups, self.hypers, strict=True):
            token = em.hyper(optimizer, optimizer.param_groups[index],
                             [self.params[j] for j in members], h)
            if token is None:
                return FALLBACK
            tokens.append(token)
        for owner, set_to_none in self.before:
            owner.zero_grad(set_to_none)
        if self.fn is None:
            self.fn = kernels.load_source("step", self.source).step
        results = self.fn(*feeds, *self.bound)
        for p, g in zip(self.params, self.grad_tensors, strict=True):
            if p.grad is not g:
                p.grad = g
        for (index, members), token in zip(self.groups, tokens, strict=True):
            em.after(optimizer, [self.params[j] for j in members],
                     [self.states[j] for j in members], token)
        for owner, set_to_none in self.after:
            owner.zero_grad(set_to_none)
        values = []
        for leaf in self.leaves:
            index = self.fetch_index.get(id(leaf)) if isinstance(leaf, SymbolicTensor) else None
            if index is None:
                values.append(leaf)
            else:
                out = results[index + 1]
                values.append(Tensor._make(np.asarray(out, dtype=self.dtype)
                                           if np.ndim(out) == 0 else out, None))
        return self.rebuild(values)


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
