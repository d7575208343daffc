"""``sj.compile(module)``: a module's inference forward, traced per input shape and
replayed with preallocated buffers.

The first call with given input shapes and dtypes runs the module once in evaluation
mode with graph building on, so each op becomes an operation of a fresh graph (the
parameters and buffers are captured). The trace then compiles to a list of steps over
array slots: ops with an inference kernel (``inference_kernels.BUILDERS``: convolution,
pooling, linear, relu, tanh, reshape) run it, writing into buffers made once; any other
op runs its own ``Function.forward``. Parameters are read at every call, so weights
updated in place or loaded later are used. Nothing is recorded for autograd: the result
is a plain tensor, as under ``no_grad``.

Example:
    >>> import shenjing as sj
    >>> from shenjing.models import lenet5
    >>> model = lenet5().eval()
    >>> fast = sj.compile(model)
    >>> x = sj.randn(1, 1, 28, 28)
    >>> with sj.no_grad():
    ...     bool(abs(fast(x).numpy() - model(x).numpy()).max() < 1e-5)
    True
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from shenjing.backend import is_array
from shenjing.graph.graph import Graph
from shenjing.graph.inference_kernels import (
    ACTIVATIONS,
    BUILDERS,
    POOLS,
    fused_convolution,
    fused_linear,
)
from shenjing.graph.session import flatten_structure
from shenjing.graph.symbolic import SymbolicTensor, TensorRef
from shenjing.tensor import Tensor

Step = tuple[Callable[..., Any], tuple[int, ...], int, dict | None]


class CompiledForward:
    """A module's forward in evaluation mode, traced per input signature and replayed;
    made by ``sj.compile(module)``.

    Attributes:
        module: the compiled module.
        trace_count: how many input signatures have been traced.
    """

    def __init__(self, module: Any) -> None:
        self.module = module
        self.trace_count = 0
        self._replays: dict[tuple, _Replay] = {}

    def __call__(self, *inputs: Any) -> Any:
        if self.module.training:
            raise RuntimeError(
                f"sj.compile({type(self.module).__name__}) compiles the inference forward: "
                "call .eval() on the module first (training steps compile as a function: "
                "sj.compile(train_step))")
        arrays = []
        for x in inputs:
            data = x.array if isinstance(x, Tensor) else x
            if not is_array(data):
                raise TypeError("sj.compile(module): inputs must be tensors or arrays. "
                                f"Received: {type(x).__name__}")
            arrays.append(data)
        key = tuple((a.shape, a.dtype) for a in arrays)
        replay = self._replays.get(key)
        if replay is None:
            replay = self._replays[key] = _Replay(self.module, arrays)
            self.trace_count += 1
        return replay.run(arrays)


class _Replay:
    """One traced input signature: slots, steps, and how to rebuild the outputs."""

    def __init__(self, module: Any, arrays: list[Any]) -> None:
        graph = Graph()
        with graph.as_default():
            placeholders = [graph.add_placeholder(a.shape, a.dtype, f"input_{k}",
                                                  example=a.copy())
                            for k, a in enumerate(arrays)]
            result = module(*placeholders)
        leaves: list[Any] = []
        self.rebuild = flatten_structure(result, leaves)
        slot_of: dict[int, int] = {}
        self.examples: list[Any] = []  # one array per slot, of the traced shape
        self.sources: list[tuple[int, Any]] = []  # (slot, Parameter read at each call)
        self.constants: list[tuple[int, Any]] = []  # (slot, fixed array)
        for k, t in enumerate(placeholders):
            slot_of[id(t)] = k
            self.examples.append(t.array)
        ops = []  # (op, input slots, output slot): the ops to replay
        for op in graph.get_operations():
            out = op.outputs[0] if op.outputs else None
            if op.type == "Placeholder":  # only the inputs: the module made no others
                continue
            slot = len(self.examples)
            if op.type in ("Variable", "Const"):
                source = op.attrs.get("source")
                if source is not None:  # a parameter: read at each call
                    self.sources.append((slot, source))
                    self.examples.append(source.array)
                else:
                    value = op.attrs["value" if op.type == "Const" else "initial_value"]
                    self.constants.append((slot, value))
                    self.examples.append(value)
                slot_of[id(out)] = slot
                continue
            if op.function is None:
                raise ValueError(f"sj.compile(module): the forward built a {op.type} "
                                 "operation, which has no forward to replay")
            ops.append((op, tuple(slot_of[id(t)] for t in op.inputs), slot))
            self.examples.append(out.array)
            slot_of[id(out)] = slot
        output_slots = {slot_of[id(leaf)] for leaf in leaves
                        if isinstance(leaf, SymbolicTensor)}
        self.steps = self._steps(ops, output_slots, slot_of)
        self.size = len(self.examples)
        self.outputs = [(i, slot_of[id(leaf)]) for i, leaf in enumerate(leaves)
                        if isinstance(leaf, SymbolicTensor)]
        # Keep no symbolic tensor: a live graph turns on graph building's hook for every
        # eager op of the process.
        self.leaves = [None if isinstance(leaf, SymbolicTensor) else leaf for leaf in leaves]

    def _steps(self, ops: list[tuple[Any, tuple[int, ...], int]], output_slots: set[int],
               slot_of: dict[int, int]) -> list[Step]:
        """The steps replaying ``ops``; with the kernel tier on, a convolution followed by
        its activation and pooling, or a linear layer by its activation, is one step when
        nothing else reads the values between them."""
        readers: dict[int, int] = {}
        for _, in_slots, _ in ops:
            for s in in_slots:
                readers[s] = readers.get(s, 0) + 1

        def feeds_only(k: int, types: Any) -> bool:
            """Whether ops[k]'s value goes only into ops[k + 1], of one of ``types``."""
            if k + 1 >= len(ops) or ops[k + 1][0].type not in types:
                return False
            slot = ops[k][2]
            return (slot not in output_slots and readers.get(slot) == 1
                    and ops[k + 1][1][:1] == (slot,) and len(ops[k + 1][1]) == 1)

        steps: list[Step] = []
        k = 0
        while k < len(ops):
            op, in_slots, slot = ops[k]
            xs = [self.examples[s] for s in in_slots]
            kernel, taken = None, 1
            if op.type in ("Convolution", "Linear") and not _has_refs(op.params):
                activation = pool = None
                if feeds_only(k, ACTIVATIONS):
                    activation, taken = ops[k + 1][0].type, 2
                if op.type == "Linear":
                    kernel = fused_linear(xs, op.params, activation)
                else:
                    if feeds_only(k + taken - 1, POOLS):
                        pooling = ops[k + taken][0]
                        if not _has_refs(pooling.params):
                            pool = (pooling.type, pooling.params)
                    kernel = fused_convolution(xs, op.params, activation, pool)
                    if kernel is None and pool is not None:  # the pooling may be the cause
                        kernel = fused_convolution(xs, op.params, activation, None)
                    elif pool is not None:
                        taken += 1
                if kernel is None:
                    taken = 1
            if kernel is None:
                builder = BUILDERS.get(op.type)
                if builder is not None and not _has_refs(op.params):
                    kernel = builder(xs, op.params)
            slot = ops[k + taken - 1][2]
            if kernel is not None:
                steps.append((kernel, in_slots, slot, None))
            else:
                steps.append((_function_forward(op.function), in_slots, slot,
                              _resolver(op.params, slot_of)))
            k += taken
        return steps

    def run(self, arrays: list[Any]) -> Any:
        values: list[Any] = [None] * self.size
        values[:len(arrays)] = arrays
        for slot, value in self.constants:
            values[slot] = value
        for slot, source in self.sources:
            values[slot] = source.array
        for fn, in_slots, out_slot, params in self.steps:
            args = [values[s] for s in in_slots]
            values[out_slot] = fn(*args) if params is None else fn(args, params(values))
        results = list(self.leaves)
        for i, slot in self.outputs:
            # A kernel's buffer is rewritten by the next call: hand out a copy.
            results[i] = Tensor._make(np.array(values[slot], copy=True)
                                      if isinstance(values[slot], np.ndarray)
                                      else values[slot].copy(), None)
        return self.rebuild(results)


def _has_refs(params: dict[str, Any]) -> bool:
    return any(isinstance(v, TensorRef) for v in params.values())


def _function_forward(cls: type) -> Callable[[list[Any], dict[str, Any]], Any]:
    """An op run through its own forward, as eager inference runs it."""
    def run(arrays: list[Any], params: dict[str, Any]) -> Any:
        out = cls().forward(*arrays, **params)
        return out if is_array(out) else np.asarray(out)
    return run


def _resolver(params: dict[str, Any], slot_of: dict[int, int]
              ) -> Callable[[list[Any]], dict[str, Any]]:
    """The op's parameters, with each ``TensorRef`` read from its slot at run time."""
    refs = {k: slot_of[id(v.tensor)] for k, v in params.items() if isinstance(v, TensorRef)}
    if not refs:
        return lambda values: params
    fixed = {k: v for k, v in params.items() if k not in refs}
    return lambda values: {**fixed, **{k: values[s] for k, s in refs.items()}}
