"""``ExportContext``: what an op's mapping entry writes into while a graph is lowered to
ONNX (nodes, initializers, unique names), and what it may ask (a constant's value, the
operations that read a tensor)."""

from __future__ import annotations

from typing import Any

import numpy as np

from shenjing.graph.symbolic import Operation, SymbolicTensor


class ExportError(ValueError):
    """A graph that cannot be written as ONNX; the message names the op at fault."""


class ExportContext:
    """The ONNX graph under construction.

    Attributes:
        nodes: the ``onnx.NodeProto`` list, in topological order.
        initializers: the ``onnx.TensorProto`` list (weights and constants).
    """

    def __init__(self, onnx: Any, consumers: dict[int, list[Operation]],
                 outputs: list[SymbolicTensor]) -> None:
        self.onnx = onnx
        self.nodes: list[Any] = []
        self.initializers: list[Any] = []
        self._names: dict[int, str] = {}
        self._used: set[str] = set()
        self._consumers = consumers
        self._outputs = {id(t) for t in outputs}

    # ------------------------------------------------------------------ names
    def fresh(self, hint: str) -> str:
        """A name no other value of the ONNX graph has."""
        hint = hint.replace(":", "_")
        name, k = hint, 1
        while name in self._used:
            name, k = f"{hint}_{k}", k + 1
        self._used.add(name)
        return name

    def bind(self, t: SymbolicTensor, name: str) -> None:
        """Say that symbolic tensor ``t`` is the ONNX value ``name``."""
        self._names[id(t)] = name
        self._used.add(name)

    def name(self, t: SymbolicTensor) -> str:
        """The ONNX value of ``t``; a constant or variable becomes an initializer on
        first use."""
        found = self._names.get(id(t))
        if found is not None:
            return found
        value = self.value(t)
        if value is None:
            raise ExportError(f"onnx export: tensor {t.name!r} is used before it is computed")
        name = self.constant(value, t.op.name)
        self._names[id(t)] = name
        return name

    # ------------------------------------------------------------------ values
    @staticmethod
    def value(t: SymbolicTensor) -> np.ndarray | None:
        """The fixed array of a Const or Variable tensor; None for computed ones."""
        op = t.op
        if op.type == "Const":
            return np.asarray(op.attrs["value"])
        if op.type == "Variable":
            source = op.attrs["source"]
            return np.asarray(op.attrs["initial_value"] if source is None else source.array)
        return None

    def constant(self, array: Any, hint: str = "const") -> str:
        """Add ``array`` as an initializer; returns its name."""
        array = np.asarray(array)
        name = self.fresh(hint)
        self.initializers.append(self.onnx.numpy_helper.from_array(array, name))
        return name

    def ints(self, values: Any, hint: str = "ints") -> str:
        """An int64 1-D initializer (shapes, axes, indices)."""
        return self.constant(np.asarray(values, dtype=np.int64).reshape(-1), hint)

    def consumers(self, t: SymbolicTensor) -> list[Operation]:
        """The exported operations that read ``t``."""
        return self._consumers.get(id(t), [])

    def is_output(self, t: SymbolicTensor) -> bool:
        """Whether ``t`` is one of the model's outputs."""
        return id(t) in self._outputs

    # ------------------------------------------------------------------ nodes
    def add(self, op_type: str, inputs: list[str], hint: str, outputs: int = 1,
            **attrs: Any) -> Any:
        """Append one ONNX node; returns its output name (a list when ``outputs`` > 1)."""
        names = [self.fresh(f"{hint}_{op_type}" if k == 0 else f"{hint}_{op_type}_{k}")
                 for k in range(outputs)]
        self.nodes.append(self.onnx.helper.make_node(
            op_type, inputs, names, name=self.fresh(f"node_{hint}_{op_type}"), **attrs))
        return names[0] if outputs == 1 else names
