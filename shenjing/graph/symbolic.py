"""Symbolic tensors: the edges of a graph, which carry a name, a shape and a dtype but no
numbers, and ``Operation``: its nodes.

A ``SymbolicTensor`` is a ``Tensor`` subclass, so every op function, layer and operator
accepts it unchanged: ``Function.apply`` notices it and adds an operation to its graph
instead of computing (see ``shenjing/graph/building.py``). Its ``data`` is a small
*example* array of the right dtype, on which graph building runs each op to infer the
output's shape; the op functions may read it (to check label ranges, say), never users:
``numpy()``, ``item()`` and ``bool()`` raise, since the value exists only inside a
``Session.run``.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

import numpy as np

from shenjing.autograd import tracing
from shenjing.autograd.function import Function
from shenjing.backend import get_array_module
from shenjing.graph.dims import Dim, StaticShape
from shenjing.tensor import Tensor, as_tensor

if TYPE_CHECKING:
    from shenjing.graph.graph import Graph  # for annotations only: graph.py imports this module


class TensorRef:
    """Stands, in an operation's parameters, for the run-time value of ``tensor``: the op
    functions sometimes pass an input's array as a parameter (``cross_entropy`` passes the
    labels this way), and at run time that array is the fed or computed value."""

    __slots__ = ("tensor",)

    def __init__(self, tensor: SymbolicTensor) -> None:
        self.tensor = tensor

    def __repr__(self) -> str:
        return f"<value of {self.tensor.name}>"


class Operation:
    """A node of a graph: what to compute (``type``, and the op's ``Function`` class with
    its parameters) from which tensors (``inputs``), giving which tensors (``outputs``).

    Sources have no function: ``"Placeholder"`` (fed at run time), ``"Const"`` and
    ``"Variable"`` (whose value each Session holds). ``"Minimize"`` and ``"Gradients"``
    are training operations that a Session runs specially.

    Attributes:
        graph: the graph that owns it.
        name: unique within the graph ("add", "add_1", "layer/matmul").
        type: the op's class name ("Add", "MatMul") or the source kind.
        function: the ``Function`` subclass, or None for sources.
        inputs: the tensors it reads.
        params: the op's keyword parameters; run-time values of tensors appear as
            ``TensorRef`` and shapes that depend on the input as ``Dim``.
        outputs: the tensors it produces.
        stop_gradient: built under ``no_grad()``: no gradient flows back through it.
        attrs: what sources and training operations need (a constant's value, a
            variable's initial value, a minimize op's optimizer, ...).
    """

    __slots__ = (
        "graph", "name", "type", "function", "inputs", "params", "outputs", "index",
        "stop_gradient", "attrs", "dependencies", "scalar_output",
    )

    def __init__(
        self,
        graph: Graph,
        name: str,
        type: str,
        function: type[Function] | None = None,
        inputs: tuple[SymbolicTensor, ...] = (),
        params: dict[str, Any] | None = None,
        attrs: dict[str, Any] | None = None,
    ) -> None:
        self.graph = graph
        self.name = name
        self.type = type
        self.function = function
        self.inputs = inputs
        self.params = params or {}
        self.attrs = attrs or {}
        self.outputs: tuple[SymbolicTensor, ...] = ()
        self.index = -1
        self.stop_gradient = False
        self.dependencies: tuple[SymbolicTensor, ...] = ()  # tensors its params read
        self.scalar_output = False  # forward returns a NumPy scalar, wrapped as 0-d array

    def __repr__(self) -> str:
        inputs = ", ".join(t.name for t in self.inputs)
        return f"<Operation {self.name!r} type={self.type} inputs=[{inputs}]>"


class SymbolicTensor(Tensor):
    """An output of an ``Operation``: a name (``"add:0"``), a shape (``None`` where unknown
    until run time), a dtype and a graph; its value exists only inside ``Session.run``.

    Example:
        >>> import shenjing as sj
        >>> g = sj.Graph()
        >>> with g.as_default():
        ...     x = sj.placeholder((None, 3), name="x")
        ...     y = (x * 2).sum(axis=1)
        >>> y
        <tensor 'sum:0' shape=(None,) dtype=float32>
        >>> with sj.Session(g) as sess:
        ...     sess.run(y, {x: [[1, 2, 3]]}).tolist()
        [12.0]
    """

    __slots__ = ("op", "value_index", "_shape", "alt_data")

    # ------------------------------------------------------------------ properties
    @property
    def shape(self) -> StaticShape:
        """The static shape, with ``None`` for each size unknown until run time, as
        TensorFlow gives it: ``x.shape[0] is None``."""
        return StaticShape(None if isinstance(n, Dim) else n for n in self._shape)

    @property
    def _sizes(self) -> StaticShape:
        """The static shape with each unknown size a ``Dim``, which records the arithmetic
        op functions do on it, so that a plan can redo it with the run-time sizes."""
        return self._shape

    @property
    def ndim(self) -> int:
        """The number of dimensions (always known)."""
        return len(self._shape)

    def numel(self) -> int:
        """The number of elements (unknown, i.e. ``None``, if a dimension is)."""
        return math.prod(self._shape)

    @property
    def graph(self) -> Graph:
        """The graph this tensor belongs to."""
        return self.op.graph

    @property
    def inputs(self) -> tuple[SymbolicTensor, ...]:
        """The tensors its operation reads."""
        return self.op.inputs

    # ------------------------------------------------------- no numbers in a graph
    def _no_value(self, what: str) -> RuntimeError:
        inside = (
            "return it from the compiled function instead"
            if tracing.current() is not None
            else "fetch its value with Session.run"
        )
        return RuntimeError(
            f"{what} on symbolic tensor {self.name!r} (shape {self.shape}, dtype "
            f"{self.dtype}): a graph tensor holds no numbers until it is run; {inside}"
        )

    def numpy(self) -> np.ndarray:
        raise self._no_value("numpy()")

    def item(self) -> Any:
        raise self._no_value("item()")

    def tolist(self) -> Any:
        raise self._no_value("tolist()")

    def __array__(self, dtype: Any = None, copy: bool | None = None) -> np.ndarray:
        raise self._no_value("conversion to an array")

    def __bool__(self) -> bool:
        raise self._no_value("bool()")

    def __len__(self) -> int:
        if not self._shape or isinstance(self._shape[0], Dim):
            raise TypeError(f"len() of symbolic tensor {self.name!r} of shape {self.shape}")
        return self._shape[0]

    def __iter__(self) -> Any:
        return (self[i] for i in range(len(self)))

    # ------------------------------------------------------------- graph versions
    def backward(self, gradient: Any = None, retain_graph: bool = False) -> None:
        """Inside ``sj.compile``'s tracing: mark this tensor as the loss to differentiate
        on every replay. Elsewhere, graph mode differentiates with ``opt.minimize(loss)``
        or ``shenjing.graph.gradients``."""
        trace = tracing.current()
        if trace is None or trace is not self.graph.trace:
            raise RuntimeError(
                f"backward() on symbolic tensor {self.name!r}: in graph mode use "
                "opt.minimize(loss) (or shenjing.graph.gradients) and run it in a Session"
            )
        trace.record_backward(self, gradient)

    def detach(self) -> Tensor:
        """The same value, with no gradient flowing back through it."""
        return StopGradient.apply(self)

    def argmax(self, axis: int | None = None) -> Tensor:
        """Index of the largest element (no gradient)."""
        return ArgReduce.apply(self, kind="argmax", axis=axis)

    def argmin(self, axis: int | None = None) -> Tensor:
        """Index of the smallest element (no gradient)."""
        return ArgReduce.apply(self, kind="argmin", axis=axis)

    def __lt__(self, other: Any) -> Tensor:
        return Compare.apply(self, as_tensor(other, self), kind="less")

    def __le__(self, other: Any) -> Tensor:
        return Compare.apply(self, as_tensor(other, self), kind="less_equal")

    def __gt__(self, other: Any) -> Tensor:
        return Compare.apply(self, as_tensor(other, self), kind="greater")

    def __ge__(self, other: Any) -> Tensor:
        return Compare.apply(self, as_tensor(other, self), kind="greater_equal")

    def __eq__(self, other: Any) -> Tensor:  # type: ignore[override]
        return Compare.apply(self, as_tensor(other, self), kind="equal")

    def __ne__(self, other: Any) -> Tensor:  # type: ignore[override]
        return Compare.apply(self, as_tensor(other, self), kind="not_equal")

    __hash__ = Tensor.__hash__

    def __repr__(self) -> str:
        return f"<tensor {self.name!r} shape={self.shape} dtype={self.dtype}>"


# ------------------------------------------------------------ graph-only ops
# Tensor implements these methods outside the op machinery (they give no gradient),
# so graph mode needs them as ops of its own.


class Compare(Function):
    """y = a <kind> b elementwise (less, equal, ...), a boolean;  no gradient."""

    def forward(self, a: Any, b: Any, kind: str) -> Any:
        return getattr(get_array_module(a), kind)(a, b)

    def backward(self, gy: Any) -> tuple[None, None]:
        return None, None


class ArgReduce(Function):
    """y = argmax or argmin of x along ``axis``, an integer index;  no gradient."""

    def forward(self, x: Any, kind: str, axis: int | None) -> Any:
        return getattr(x, kind)(axis=axis)

    def backward(self, gy: Any) -> None:
        return None


class StopGradient(Function):
    """y = x;  no gradient flows back to x (``detach()`` of a graph tensor)."""

    def forward(self, x: Any) -> Any:
        return x.view()  # a view, so the output is never the input object itself

    def backward(self, gy: Any) -> None:
        return None
