"""Adding an op to a graph: capture eager inputs, record parameters, infer the output.

The output's dtype and shape come from running the op's own ``forward`` on the inputs'
small *example* arrays, so no op needs a separate shape function. Unknown (None)
dimensions take two different example sizes (``graph.EXAMPLE_SIZES``); the op runs on
both sets of examples, and an output dimension that differs between the two runs is
unknown too. The runs happen with floating-point warnings off (examples are zeros, and
log(0) is fine here), on copies of any array parameter an op might update in place
(BatchNorm's running statistics), and with the random generator restored afterwards,
so building a graph changes no state.

Parameters are stored as a *template*: an array that is the example of a symbolic
tensor (``cross_entropy`` passes its labels' array as a parameter) becomes a
``TensorRef``, and shape arithmetic on unknown sizes stays a ``Dim``; a plan resolves
both from the run-time values.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from shenjing import backend
from shenjing.autograd.grad_mode import GradMode
from shenjing.backend import is_array
from shenjing.graph import graph as graph_module
from shenjing.graph.dims import Dim, alt_value, concrete, contains_dim
from shenjing.graph.graph import EXAMPLE_SIZES, Graph
from shenjing.graph.symbolic import StopGradient, SymbolicTensor, TensorRef
from shenjing.tensor import Tensor


def add_function_op(
    graph: Graph, cls: type, inputs: tuple[Tensor, ...], params: dict[str, Any]
) -> SymbolicTensor:
    """Add an operation running ``cls`` on ``inputs`` with ``params`` to ``graph``;
    returns its symbolic output."""
    op_name = cls.__name__.lower()
    tensors = tuple(t if isinstance(t, SymbolicTensor) else graph.capture(t) for t in inputs)
    for t in tensors:
        if t.op.type == "Gradients":
            raise ValueError(
                f"{op_name}: gradient tensor {t.name!r} can only be fetched with "
                "Session.run, not used in further ops"
            )
    template, dependencies = _template(graph, op_name, params)
    example = _run_example(graph, cls, op_name, tensors, "array", concrete(params))
    varying = any(isinstance(n, Dim) for t in tensors for n in t._shape)
    if varying or contains_dim(list(params.values())):
        alt_params = _resolve(template, lambda ref: ref.tensor.alt_data)
        alt = _run_example(graph, cls, op_name, tensors, "alt_data", alt_params)
    else:
        alt = example
    scalar = not isinstance(example, np.ndarray)
    example, alt = _as_output_array(example, tensors), _as_output_array(alt, tensors)
    if example.ndim != alt.ndim or example.dtype != alt.dtype:
        raise ValueError(
            f"{op_name}: the output's rank or dtype depends on the unknown (None) sizes of "
            f"its inputs ({_describe(tensors)}); give those sizes in the placeholders"
        )
    shape = tuple(a if a == b else None for a, b in zip(example.shape, alt.shape, strict=True))

    op = graph.add_operation(cls.__name__, op_name, cls, tensors, template)
    op.stop_gradient = not GradMode.enabled or cls is StopGradient
    op.dependencies = tuple(dependencies)
    op.scalar_output = scalar
    return graph.add_output(op, shape, example, alt)


def _run_example(
    graph: Graph,
    cls: type,
    op_name: str,
    tensors: tuple[SymbolicTensor, ...],
    which: str,
    params: dict[str, Any],
) -> Any:
    """``cls().forward`` on the ``which`` examples ("array" or "alt_data") of ``tensors``,
    leaving no trace in any state."""
    fn = cls()
    fn.needs_input_grad = tuple(t.dtype.kind in "fc" for t in tensors)
    # An op may update an array parameter in place (running statistics): give it copies.
    params = {k: v.copy() if is_array(v) and id(v) not in graph.examples else v
              for k, v in params.items()}
    rng_state = backend.get_rng_state()
    try:
        with np.errstate(all="ignore"):
            return fn.forward(*[getattr(t, which) for t in tensors], **params)
    except Exception as err:
        message = f"{err} [while adding {op_name!r} to a graph; inputs: {_describe(tensors)}"
        if any(isinstance(n, Dim) for t in tensors for n in t._shape):
            first, second = EXAMPLE_SIZES
            message += (f"; unknown sizes were tried as {first if which == 'array' else second}"
                        ", so give them in the placeholders if the op needs particular sizes")
        try:
            wrapped = type(err)(message + "]")
        except Exception:  # an exception type that takes other arguments
            wrapped = RuntimeError(message + "]")
        raise wrapped from err
    finally:
        backend.set_rng_state(rng_state)


def _as_output_array(out: Any, tensors: tuple[SymbolicTensor, ...]) -> np.ndarray:
    """The op's result as an array of its own (NumPy returns scalars from reductions)."""
    if not is_array(out):  # a NumPy scalar (CuPy gives 0-d arrays)
        return np.asarray(out)
    if any(out is t.array or out is t.alt_data for t in tensors):
        return out.view()  # an example must identify one tensor only
    return out


def _describe(tensors: tuple[SymbolicTensor, ...]) -> str:
    return ", ".join(f"{t.name} {t.shape} {t.dtype}" for t in tensors) or "none"


def _template(graph: Graph, op_name: str, params: dict[str, Any]) -> tuple[dict, list]:
    """``params`` with each array that is a symbolic tensor's example replaced by a
    ``TensorRef``; also the tensors the parameters depend on (refs and the tensors whose
    sizes a Dim is computed from)."""
    dependencies: list[SymbolicTensor] = []

    def convert(value: Any) -> Any:
        if is_array(value):
            t = graph.examples.get(id(value))
            if t is None or (value is not t.array and value is not t.alt_data):
                return value
            dependencies.append(t)
            return TensorRef(t)
        if isinstance(value, Dim):
            for t in value.tensors():
                if t.op.graph is not graph:
                    raise ValueError(f"{op_name}: a size of tensor {t.name!r} of another "
                                     "graph cannot be used in this one")
                dependencies.append(t)
            return value
        if isinstance(value, (tuple, list)):
            return type(value)(convert(v) for v in value)
        if isinstance(value, SymbolicTensor):
            raise TypeError(f"{op_name}: symbolic tensor {value.name!r} passed as a "
                            "parameter; pass it as an input")
        return value

    template = {key: convert(value) for key, value in params.items()}
    return template, list({id(t): t for t in dependencies}.values())


def _resolve(template: Any, value_of: Any) -> Any:
    """A template with refs replaced by ``value_of(ref)`` and Dims by their second
    example sizes."""
    if isinstance(template, dict):
        return {k: _resolve(v, value_of) for k, v in template.items()}
    if isinstance(template, TensorRef):
        return value_of(template)
    if isinstance(template, Dim):
        return alt_value(template)
    if isinstance(template, (tuple, list)):
        return type(template)(_resolve(v, value_of) for v in template)
    return template


graph_module.add_function_op = add_function_op
