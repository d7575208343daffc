"""Fusing the elementwise chains of a compiled plan into generated Numba kernels.

A training step's graph alternates GEMMs (``Linear``, ``Convolution``) with elementwise
ops (the bias, then activations). Run op by op, each elementwise op is a Python dispatch
and a full pass over memory, forward and backward. ``fuse(ops, keep)`` finds each
maximal chain

    [producer] -> op_1 -> ... -> op_K        (op_k in ``fusion_table.FORMULAS``)

whose intermediate results nothing else reads, and replaces it by one ``FusedOperation``:
the producer's GEMM stays in BLAS (its ``Function`` runs without its bias; a first
convolution layer with one input channel runs ``ops/_numba_conv.py``'s direct kernel), then one
generated kernel adds the bias and applies the whole chain in place; backward, one kernel
applies the chain's derivatives to the incoming gradient and sums the bias gradient in the
same pass, then the producer's own backward does its GEMMs. A chain with no producer
(an activation of an input, say) fuses the same way around a copy. A convolution's
bias-and-ReLU chain read only by a 2x2 max pooling fuses with the pooling into one step
(``fusion_pool.py``), so the ReLU runs on the pooled output.

The NumPy ops stay the reference: a plan is fused only when the kernel tier is on
(``shenjing.kernels.enabled()``), and only the ops of the table, on NumPy float32/float64
arrays, or on GPU arrays, whose chains become generated CuPy kernels instead
(``fusion_cuda.CudaFusedChain``, from the same ``ChainSpec``, at any size).
"""

from __future__ import annotations

import functools
from typing import Any

import numpy as np

from shenjing.backend import get_array_module
from shenjing.graph import fusion_cuda
from shenjing.graph.dims import Dim
from shenjing.graph.fusion_codegen import ChainSpec, kernels
from shenjing.graph.fusion_pool import ConvPoolOperation, pool_after
from shenjing.graph.fusion_table import FORMULAS
from shenjing.graph.symbolic import Operation, SymbolicTensor, TensorRef
from shenjing.kernels import Kernel
from shenjing.ops._numba_conv import DirectConvolution, direct_fits

_PRODUCERS = {"Linear": "col", "Convolution": "row"}  # where each adds its bias

MIN_ELEMENTS = 10_000
"""Chains with smaller outputs stay NumPy ops: a Numba call's dispatch (typing each array
argument) costs more than the few NumPy calls it replaces on a small array (measured on
the 30-64-32-1 network's 64x64 layers: fused 6% slower; on 128x256, 2-10x faster per
chain)."""


class FusedOperation:
    """Stands in a plan for a producer and its elementwise chain: the same inputs as the
    producer (or the chain's first op), the chain's last output."""

    __slots__ = ("type", "name", "function", "inputs", "outputs", "params", "index",
                 "stop_gradient", "scalar_output", "dependencies", "members")

    def __init__(self, members: list[Operation], spec: ChainSpec, producer: bool) -> None:
        self.members = members
        self.type = "FusedChain"
        self.name = "+".join(op.name for op in members)
        self.inputs = members[0].inputs
        self.outputs = members[-1].outputs
        self.params: dict[str, Any] = {}
        self.index = members[-1].index
        self.stop_gradient = False
        self.scalar_output = False
        self.dependencies = ()
        chain = members[1:] if producer else members
        values = tuple(op.params[name] for op in chain for name in FORMULAS[op.type].params)
        head = members[0] if producer else None
        if not isinstance(members[-1].outputs[0].array, np.ndarray):  # a GPU chain
            self.function = functools.partial(
                fusion_cuda.CudaFusedChain, spec, values,
                None if head is None else head.function,
                None if head is None else head.params,
                "col" if head is None else _PRODUCERS[head.type],
                [(op.function, op.params) for op in chain])
            return
        function = None if head is None else producer_function(head)
        self.function = functools.partial(
            FusedChain, spec, values, function,
            None if head is None else head.params,
            "col" if head is None else _PRODUCERS[head.type],
            [(op.function, op.params) for op in chain])

    def __repr__(self) -> str:
        return f"<FusedOperation {self.name!r}>"


def producer_function(head: Operation) -> Any:
    """The ``Function`` a fused chain's producer runs: ``DirectConvolution`` for a first
    layer it fits (measured faster there), the producer's own otherwise."""
    if head.type == "Convolution" and direct_fits(
            head.inputs[0].array.shape, head.inputs[1].array.shape, head.params):
        return DirectConvolution
    return head.function


class FusedChain:
    """The ``Function`` of a ``FusedOperation``: forward and backward of the producer
    (if any) and its chain, with the chain in one generated kernel each way; a chain with
    an op whose forward NumPy runs faster (``Formula.fast_forward``) runs its forward as
    the NumPy ops, keeping what the fused backward reads."""

    def __init__(self, spec: ChainSpec, values: tuple, producer: Any, params: Any,
                 layout: str, chain: list[tuple[Any, dict]]) -> None:
        self.spec = spec
        self.layout = layout
        self.chain = chain
        self.fast_forward = all(FORMULAS[op].fast_forward for op in spec.ops)
        self.saved_values = spec.saved()
        dtype = np.dtype(spec.dtype).type
        self.values = tuple(dtype(v) for v in values)
        self.forward_kernel, self.backward_kernel = kernels(spec)
        self.producer = None if producer is None else producer()
        self.producer_params = params
        self.needs_input_grad: tuple[bool, ...] = ()

    def _matrix(self, a: Any) -> Any:
        """The 2-D C-ordered view the kernels read: rows x features for a linear layer,
        channels x (H·W·N) for a convolution (its batch-innermost layout)."""
        if self.layout == "row":
            return np.ascontiguousarray(a.transpose(1, 2, 3, 0)).reshape(a.shape[1], -1)
        return np.ascontiguousarray(a).reshape(-1, a.shape[-1] if a.ndim else 1)

    def _unmatrix(self, m: Any, shape: tuple[int, ...]) -> Any:
        if self.layout == "row":
            n, c, h, w = shape
            return m.reshape(c, h, w, n).transpose(3, 0, 1, 2)
        return m.reshape(shape)

    def forward(self, x: Any, *rest: Any) -> Any:
        if not self.fast_forward:
            return self._numpy_forward(x, *rest)
        bias = None
        if self.producer is not None:
            weight, *more = rest
            bias = more[0] if more else None
            needs = self.needs_input_grad
            if needs:
                self.producer.needs_input_grad = needs[:2]
            z = self.producer.forward(x, weight, **self.producer_params)
            dst = self._matrix(z)  # the GEMM's fresh output: the chain runs in place
        else:
            dst = self._matrix(x).copy()
        self.saved = [np.empty_like(dst) for _ in self.saved_values]
        b_args = (bias,) if self.spec.bias else ()
        self.forward_kernel(dst, *b_args, *self.saved, *self.values)
        self.forward_kernel = _compiled(self.forward_kernel)
        self.y = dst
        self.shape = x.shape if self.producer is None else z.shape
        return self._unmatrix(dst, self.shape)

    def _numpy_forward(self, x: Any, *rest: Any) -> Any:
        """The producer and the chain's ops, each its own NumPy ``Function``."""
        v = x
        if self.producer is not None:
            if self.needs_input_grad:
                self.producer.needs_input_grad = self.needs_input_grad[:2]
            v = self.producer.forward(x, *rest, **self.producer_params)  # bias included
        values = [v]
        for function, params in self.chain:
            v = function().forward(v, **params)
            values.append(v)
        self.saved = [self._matrix(values[m]) for m in self.saved_values]
        self.y = self._matrix(v)
        self.shape = v.shape
        return v

    def backward(self, gy: Any) -> tuple[Any, ...]:
        g = self._matrix(gy)
        gz = np.empty_like(self.y)
        gb_args = ()
        if self.spec.bias == "col":
            gb = np.empty(self.y.shape[1], self.y.dtype)
            gb_args = (gb,)
        self.backward_kernel(g, self.y, *self.saved, gz, *gb_args, *self.values)
        self.backward_kernel = _compiled(self.backward_kernel)
        if self.spec.bias == "row":
            gb = gz.sum(axis=1)
        if self.producer is None:
            return self._unmatrix(gz, self.shape)
        gx, gw = self.producer.backward(self._unmatrix(gz, self.shape))
        if len(self.needs_input_grad) == 3:
            return gx, gw, gb
        return gx, gw


def _compiled(kernel: Any) -> Any:
    """After its first call, a kernel's Numba dispatcher itself: the ``Kernel`` wrapper's
    bookkeeping costs about as much as a small chain's whole kernel."""
    return kernel.dispatcher if isinstance(kernel, Kernel) else kernel


def _static(value: Any) -> bool:
    """Whether a parameter is fixed at tracing (no run-time value in it)."""
    if isinstance(value, (TensorRef, Dim)):
        return False
    if isinstance(value, (tuple, list)):
        return all(_static(v) for v in value)
    return True


def _float_numpy(t: SymbolicTensor) -> bool:
    """A float32/float64 array of NumPy, or of a device with generated chain kernels."""
    data = t.array
    if data.dtype not in (np.float32, np.float64):
        return False
    return isinstance(data, np.ndarray) or fusion_cuda.supports(get_array_module(data))


def _elementwise(op: Any) -> bool:
    formula = FORMULAS.get(op.type)
    return (formula is not None and isinstance(op, Operation) and len(op.inputs) == 1
            and not op.stop_gradient and not op.dependencies
            and set(op.params) == set(formula.params)
            and all(isinstance(v, (int, float)) for v in op.params.values())
            and _float_numpy(op.inputs[0]) and _float_numpy(op.outputs[0])
            and (op.outputs[0].array.size >= MIN_ELEMENTS  # Numba's dispatch; GPU: any
                 or not isinstance(op.outputs[0].array, np.ndarray))
            and op.outputs[0].dtype == op.inputs[0].dtype)


def _producer(op: Any) -> bool:
    if op.type not in _PRODUCERS or op.stop_gradient or op.dependencies:
        return False
    if not all(_static(v) for v in op.params.values()):
        return False
    if not all(_float_numpy(t) for t in (*op.inputs, op.outputs[0])):
        return False
    if len({t.dtype for t in (*op.inputs, op.outputs[0])}) != 1:
        return False
    if op.type == "Convolution":
        return op.inputs[0].ndim == 4
    return True


def fuse(ops: list[Any], keep: set[int]) -> list[Any]:
    """``ops`` (a plan's, in order) with each fusible chain replaced by one
    ``FusedOperation``. ``keep``: ids of tensors that must stay computed (fetches,
    losses, feeds, tensors gradients are taken with respect to)."""
    readers: dict[int, list[Any]] = {}
    for op in ops:
        for t in op.inputs:
            readers.setdefault(id(t), []).append(op)
    uses = {key: len(ops_reading) for key, ops_reading in readers.items()}
    maker = {id(op.outputs[0]): op for op in ops if op.outputs}
    chains: dict[int, list[Any]] = {}  # id(first member) -> members
    chain_of: dict[int, list[Any]] = {}  # id(an op) -> the chain it belongs to
    for op in ops:
        if not _elementwise(op):
            continue
        t = op.inputs[0]
        before = maker.get(id(t))
        private = before is not None and uses.get(id(t)) == 1 and id(t) not in keep
        if private and id(before) in chain_of:
            chain = chain_of[id(before)]
            chain.append(op)
        elif private and _producer(before):
            chain = [before, op]
            chains[id(before)] = chain
            chain_of[id(before)] = chain
        else:
            chain = [op]
            chains[id(op)] = chain
        chain_of[id(op)] = chain
    if not chains:
        return ops
    fused = []
    members = {id(m) for chain in chains.values() for m in chain}
    pooled: dict[int, ConvPoolOperation] = {}  # id(a pooling) -> it and its chain, fused
    for op in ops:
        chain = chains.get(id(op))
        pool = None if chain is None else pool_after(chain, readers, keep)
        if pool is not None:  # the chain runs where its pooling did (see fusion_pool.py)
            pooled[id(pool)] = ConvPoolOperation(chain, pool, producer_function(chain[0]))
        elif id(op) in pooled:
            fused.append(pooled.pop(id(op)))
        elif chain is not None:
            producer = chain[0].type in _PRODUCERS
            body = chain[1:] if producer else chain
            has_bias = producer and len(chain[0].inputs) == 3
            spec = ChainSpec(tuple(m.type for m in body),
                             _PRODUCERS[chain[0].type] if has_bias else None,
                             str(chain[-1].outputs[0].dtype))
            fused.append(FusedOperation(chain, spec, producer))
        elif id(op) not in members:
            fused.append(op)
    return fused
