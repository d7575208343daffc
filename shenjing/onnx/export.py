"""``export``: trace a model into a graph, then lower each operation through its mapping
entry (op class -> ONNX nodes) into an ONNX model file."""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any

import numpy as np

from shenjing.graph.dims import Dim
from shenjing.graph.graph import Graph
from shenjing.graph.session import flatten_structure
from shenjing.graph.symbolic import Operation, SymbolicTensor, TensorRef
from shenjing.onnx import map_basic, map_layers, map_recurrent
from shenjing.onnx._deps import require
from shenjing.onnx.context import ExportContext, ExportError
from shenjing.tensor import Tensor

MAPPING: dict[str, map_basic.Entry] = {
    **map_basic.ENTRIES, **map_layers.ENTRIES, **map_recurrent.ENTRIES,
}
"""Op class name -> the entry that writes it as ONNX nodes. An op missing here cannot be
exported, and export says which."""

_SOURCES = ("Placeholder", "Const", "Variable")


def export(
    model: Any,
    example_input: Any,
    f: str | os.PathLike,
    input_names: Sequence[str] | None = None,
    output_names: Sequence[str] | None = None,
    dynamic_axes: dict[str, dict[int, str] | Sequence[int]] | None = None,
    opset_version: int = 17,
) -> Any:
    """Write ``model`` (a Module, or any function of tensors) as an ONNX file.

    The model runs once in evaluation mode on ``example_input`` (a tensor, an array, or a
    tuple of them) while a graph records its ops; each op then becomes ONNX nodes through
    ``MAPPING``. Parameters become initializers. Axes named in ``dynamic_axes`` (as in
    ``torch.onnx.export``: ``{"input": {0: "batch"}}``) may take other sizes at run time.

    A model built in graph mode exports too: pass its output tensor(s) as ``model`` and
    its placeholder(s) as ``example_input``; sizes given as None stay dynamic.

    Returns:
        The ``onnx.ModelProto`` written (checked by ``onnx.checker``).

    Example:
        >>> import shenjing as sj
        >>> from shenjing.models import lenet5
        >>> model = sj.onnx.export(lenet5(), sj.zeros(1, 1, 28, 28), "/tmp/lenet.onnx",
        ...                        dynamic_axes={"input": {0: "batch"}})
        >>> [n.op_type for n in model.graph.node][:3]
        ['Conv', 'Relu', 'MaxPool']
    """
    onnx = require("onnx")
    if opset_version < 14:
        raise ValueError(f"onnx export: opset_version must be at least 14. Received: "
                         f"{opset_version}")
    # A tuple holds several inputs (a list is data, unless it lists placeholders).
    several = isinstance(example_input, tuple) or (
        isinstance(example_input, list) and _is_symbolic(example_input))
    examples = example_input if several else (example_input,)
    if _is_symbolic(model):  # a graph built in graph mode: its outputs and placeholders
        graph, placeholders, outputs = _built_graph(model, examples)
        names = [t.op.name for t in placeholders]
    else:
        arrays = [np.asarray(e.array if isinstance(e, Tensor) else e) for e in examples]
        names = ["input"] if len(arrays) == 1 else [f"input_{k}" for k in range(len(arrays))]
    input_names = list(input_names or names)
    if len(input_names) != len(examples):
        raise ValueError(f"onnx export: {len(examples)} inputs but {len(input_names)} "
                         f"input_names. Received: {input_names}")
    if not _is_symbolic(model):
        graph, placeholders, outputs = trace(model, arrays, input_names)
    output_names = list(output_names or (["output"] if len(outputs) == 1 else
                                         [f"output_{k}" for k in range(len(outputs))]))
    if len(output_names) != len(outputs):
        raise ValueError(f"onnx export: the model returns {len(outputs)} tensors but "
                         f"{len(output_names)} output_names were given")
    dynamic = _dynamic_axes(dynamic_axes, input_names + output_names)
    needed = _needed(outputs)
    ctx = ExportContext(onnx, _consumers(graph, needed), outputs)
    for t, name in zip(placeholders, input_names, strict=True):
        ctx.bind(t, name)
    _lower(ctx, graph, needed)
    helper = onnx.helper
    nodes = list(ctx.nodes)
    for t, name in zip(outputs, output_names, strict=True):
        nodes.append(helper.make_node("Identity", [ctx.name(t)], [name],
                                      name=ctx.fresh(f"node_{name}")))
    # An output without dynamic_axes of its own gets unnamed sizes when some input is
    # dynamic: which of its sizes follow the input's, the trace cannot tell.
    free = None if dynamic else {}
    value_info = [_value_info(helper, name, t, dynamic.get(name, {}))
                  for name, t in zip(input_names, placeholders, strict=True)]
    value_info += [_value_info(helper, name, t, dynamic.get(name, free))
                   for name, t in zip(output_names, outputs, strict=True)]
    onnx_graph = helper.make_graph(nodes, "shenjing", value_info[:len(placeholders)],
                                   value_info[len(placeholders):], ctx.initializers)
    proto = helper.make_model(
        onnx_graph, producer_name="shenjing",
        opset_imports=[helper.make_opsetid("", opset_version)],
        # The IR version of ONNX 1.13 (opset 18) or older, which every runtime of the
        # last years reads.
        ir_version=8)
    onnx.checker.check_model(proto, full_check=True)
    _save_atomically(onnx, proto, os.fspath(f))
    return proto


def _is_symbolic(model: Any) -> bool:
    items = model if isinstance(model, (tuple, list)) else (model,)
    return bool(items) and all(isinstance(t, SymbolicTensor) for t in items)


def _built_graph(outputs: Any, placeholders: Any
                 ) -> tuple[Graph, list[SymbolicTensor], list[SymbolicTensor]]:
    """A graph-mode model: its output tensors and the placeholders that feed them."""
    outputs = list(outputs) if isinstance(outputs, (tuple, list)) else [outputs]
    placeholders = list(placeholders)
    graph = outputs[0].op.graph
    for t in placeholders:
        if not isinstance(t, SymbolicTensor) or t.op.type != "Placeholder" or (
                t.op.graph is not graph):
            raise ExportError("onnx export: a graph-mode model's inputs must be placeholders "
                              f"of its graph. Received: {t!r}")
    return graph, placeholders, outputs


def trace(model: Any, arrays: list[np.ndarray], names: list[str]
          ) -> tuple[Graph, list[SymbolicTensor], list[SymbolicTensor]]:
    """Run ``model`` in eval mode on placeholders of the examples' shapes; returns the
    graph, the placeholders and the output tensors."""
    was_training = getattr(model, "training", None)
    if hasattr(model, "eval"):
        model.eval()
    graph = Graph()
    try:
        # Gradient mode stays on: a graph captures an op on parameters only (an
        # Embedding's table read with the input as indices) when it could be differentiated.
        with graph.as_default():
            placeholders = [graph.add_placeholder(a.shape, a.dtype, name, example=a.copy())
                            for a, name in zip(arrays, names, strict=True)]
            result = model(*placeholders)
    finally:
        if was_training:
            model.train()
    leaves: list[Any] = []
    flatten_structure(result, leaves)
    outputs = [leaf for leaf in leaves if isinstance(leaf, SymbolicTensor)]
    if not outputs or len(outputs) != len(leaves):
        raise ExportError("onnx export: the model must return tensors computed from its "
                          f"input. Received: {[type(v).__name__ for v in leaves]}")
    return graph, placeholders, outputs


def _lower(ctx: ExportContext, graph: Graph, needed: set[int]) -> None:
    """Write the operations that the outputs need (``needed``), in graph order."""
    for op in graph.get_operations():
        if op.type in _SOURCES or id(op) not in needed:
            continue
        entry = MAPPING.get(op.type)
        if entry is None:
            raise ExportError(
                f"onnx export: no ONNX mapping for op {op.type} ({op.name!r}). Mapped ops: "
                f"{', '.join(sorted(MAPPING))}")
        ctx.bind(op.outputs[0], entry(ctx, op))


def _needed(outputs: list[SymbolicTensor]) -> set[int]:
    """The ids of the operations the outputs depend on (through inputs or parameters)."""
    seen: set[int] = set()
    stack = [t.op for t in outputs]
    while stack:
        op = stack.pop()
        if id(op) in seen:
            continue
        seen.add(id(op))
        stack.extend(t.op for t in (*op.inputs, *op.dependencies))
    return seen


def _consumers(graph: Graph, needed: set[int]) -> dict[int, list[Operation]]:
    """id(tensor) -> the exported operations that read it."""
    readers: dict[int, list[Operation]] = {}
    for op in graph.get_operations():
        if id(op) not in needed:
            continue
        refs = [v.tensor for v in op.params.values() if isinstance(v, TensorRef)]
        for t in (*op.inputs, *refs):
            readers.setdefault(id(t), []).append(op)
    return readers


def _dynamic_axes(dynamic_axes: Any, names: list[str]) -> dict[str, dict[int, str]]:
    """torch.onnx.export's ``dynamic_axes`` (a dict or a list of axes per name) as dicts."""
    result: dict[str, dict[int, str]] = {}
    for name, axes in (dynamic_axes or {}).items():
        if name not in names:
            raise ValueError(f"onnx export: dynamic_axes names {name!r}, which is not an input "
                             f"or output. Known: {names}")
        if not isinstance(axes, dict):
            axes = {int(a): f"{name}_dim{a}" for a in axes}
        result[name] = {int(a): str(label) for a, label in axes.items()}
    return result


def _value_info(helper: Any, name: str, t: SymbolicTensor,
                dynamic: dict[int, str] | None) -> Any:
    """An input's or output's type; ``dynamic`` None leaves every size unnamed, as does
    a size the graph itself leaves unknown (None)."""
    shape = [None if dynamic is None or n is None or isinstance(n, Dim)
             else dynamic.get(k, int(n))
             for k, n in enumerate(t.shape)]
    return helper.make_tensor_value_info(
        name, helper.np_dtype_to_tensor_dtype(np.dtype(t.dtype)), shape)


def _save_atomically(onnx: Any, proto: Any, path: str) -> None:
    tmp = f"{path}.tmp-{os.getpid()}"
    try:
        onnx.save(proto, tmp)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)
