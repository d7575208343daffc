"""``Graph``: TensorFlow's model of computation on shenjing's ops.

A graph is a list of operations (nodes) joined by symbolic tensors (edges). Nothing is
computed while it is built: inside ``with graph.as_default():`` the usual op functions,
operators and layers return symbolic tensors, each named ``"<op>:<output>"`` uniquely
within its graph. A ``Session`` runs it. ``placeholder``, ``constant`` and ``Variable``
add tensors to the default graph; all three live here, above ``symbolic.py``.

How building works: every op goes through ``Function.apply``, the one dispatch point of
the engine. While any graph is alive, ``apply`` first asks this module's hook whether the
call involves a graph: an input is a symbolic tensor, or a graph is the active default
and an input is an eager tensor that requires a gradient. If so, the hook adds an
operation instead of computing (``building.add_function_op``). Eager code outside graph
mode pays one global lookup for this.

Eager tensors meeting a graph are *captured*: one that requires a gradient (a layer's
``Parameter``) becomes a ``Variable`` of the graph, any other a constant. So a model is
written once and runs both ways.

Graphs never share tensors or variables: using tensors of two graphs in one op is an
error, as is building in one graph with tensors of another while it is the default.
"""

from __future__ import annotations

import weakref
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import numpy as np

from shenjing.autograd import function
from shenjing.autograd.grad_mode import GradMode
from shenjing.graph.dims import Dim, StaticShape
from shenjing.graph.symbolic import Operation, SymbolicTensor
from shenjing.tensor import Tensor

EXAMPLE_SIZES = (2, 3)
"""The sizes an unknown (None) dimension takes in the two sets of example arrays that
graph building runs each op on: a dimension of the output that differs between them is
unknown too."""

_default_stack: list[Graph] = []  # graphs made default by ``as_default()``, innermost last
_global_default: Graph | None = None
_live_graphs = 0



def add_function_op(graph: Graph, cls: type, inputs: tuple, params: dict) -> SymbolicTensor:
    """Add an op to ``graph``; replaced by ``building.add_function_op`` when
    shenjing/graph/building.py loads (it imports this module, so this one cannot import
    it)."""
    raise RuntimeError("shenjing.graph.building has not been imported")


class Graph:
    """A computation graph: operations joined by symbolic tensors.

    Example (the tutorial's graph-building example):
        >>> import shenjing as sj
        >>> g = sj.Graph()
        >>> with g.as_default():
        ...     a = sj.constant(5.0, name="a")
        ...     b = sj.placeholder((), name="b")
        ...     c = a * b + a
        >>> c.name, [op.name for op in g.get_operations()]
        ('add:0', ['a', 'b', 'mul', 'add'])
        >>> with sj.Session(g) as sess:
        ...     float(sess.run(c, feed_dict={b: 3.0}))
        20.0
    """

    def __init__(self) -> None:
        self._operations: list[Operation] = []
        self._ops_by_name: dict[str, Operation] = {}
        self._next_suffix: dict[str, int] = {}
        self._scopes: list[str] = []
        # id(eager tensor) -> (the eager tensor, kept alive so the id stays its own; its
        # symbolic stand-in)
        self._captures: dict[int, tuple[Tensor, SymbolicTensor]] = {}
        # id(example array) -> the symbolic tensor it is the example of (see TensorRef)
        self.examples: dict[int, SymbolicTensor] = {}
        self.trace: Any = None  # the sj.compile trace building this graph, if any
        _graph_born(self)

    # ---------------------------------------------------------------- defaults
    @contextmanager
    def as_default(self) -> Iterator[Graph]:
        """Make this graph the default inside the block: placeholders, constants,
        variables and ops on captured eager tensors go into it."""
        _default_stack.append(self)
        function.graph_hook = _graph_hook
        try:
            yield self
        finally:
            _default_stack.pop()

    @contextmanager
    def name_scope(self, name: str) -> Iterator[str]:
        """Prefix the names of operations made inside the block with ``name/``."""
        if not isinstance(name, str) or not name or "/" in name or ":" in name:
            raise ValueError(f"name_scope: a scope name is a non-empty string without "
                             f"'/' or ':'. Received: {name!r}")
        self._scopes.append(name)
        try:
            yield "/".join(self._scopes)
        finally:
            self._scopes.pop()

    # ------------------------------------------------------------------- names
    def unique_name(self, base: str) -> str:
        """``base`` in the current name scope, suffixed ``_1``, ``_2``, ... if taken."""
        if not base or "/" in base or ":" in base:
            raise ValueError(f"Graph: an op name is a non-empty string without '/' or ':'. "
                             f"Received: {base!r}")
        name = "/".join([*self._scopes, base])
        if name not in self._ops_by_name:
            return name
        suffix = self._next_suffix.get(name, 1)
        while f"{name}_{suffix}" in self._ops_by_name:
            suffix += 1
        self._next_suffix[name] = suffix + 1
        return f"{name}_{suffix}"

    def get_operations(self) -> list[Operation]:
        """Every operation, in the order they were added (a topological order)."""
        return list(self._operations)

    def get_operation_by_name(self, name: str) -> Operation:
        """The operation called ``name``."""
        try:
            return self._ops_by_name[name]
        except KeyError:
            raise KeyError(f"Graph has no operation named {name!r}") from None

    def get_tensor_by_name(self, name: str) -> SymbolicTensor:
        """The tensor called ``name`` ("add:0")."""
        op_name, _, index = name.rpartition(":")
        if not op_name or not index.isdigit():
            raise ValueError(f"A tensor name looks like 'op:0'. Received: {name!r}")
        op = self.get_operation_by_name(op_name)
        if int(index) >= len(op.outputs):
            raise KeyError(f"Operation {op_name!r} has no output {index}")
        return op.outputs[int(index)]

    @property
    def variables(self) -> list[Variable]:
        """Every variable, in creation order."""
        return [op.outputs[0] for op in self._operations if op.type == "Variable"]

    def __len__(self) -> int:
        return len(self._operations)

    def __repr__(self) -> str:
        return f"<Graph with {len(self._operations)} operations at {id(self):#x}>"

    # -------------------------------------------------------------- operations
    def add_operation(
        self,
        type: str,
        base_name: str,
        function: Any = None,
        inputs: tuple[SymbolicTensor, ...] = (),
        params: dict[str, Any] | None = None,
        attrs: dict[str, Any] | None = None,
    ) -> Operation:
        """Append an operation with a unique name (its outputs are attached by the
        caller)."""
        for t in inputs:
            if t.op.graph is not self:
                raise ValueError(
                    f"{base_name}: tensor {t.name!r} belongs to a different graph; tensors "
                    "of one graph cannot be used in another"
                )
        op = Operation(self, self.unique_name(base_name), type, function, inputs, params, attrs)
        op.index = len(self._operations)
        self._operations.append(op)
        self._ops_by_name[op.name] = op
        return op

    def add_output(
        self,
        op: Operation,
        shape: tuple[int | None, ...],
        example: np.ndarray,
        alt: np.ndarray,
    ) -> SymbolicTensor:
        """Attach output ``len(op.outputs)`` to ``op``: ``shape`` has None (or a Dim
        made elsewhere, which becomes a dimension of this tensor) where it is unknown;
        ``example`` and ``alt`` are its values in the two sets of examples."""
        t = object.__new__(SymbolicTensor)
        index = len(op.outputs)
        t.op, t.value_index = op, index
        t.name = f"{op.name}:{index}"
        t.grad = t.grad_fn = None
        t.requires_grad = False
        t._shape = StaticShape(
            Dim(example.shape[axis], alt.shape[axis], ("size", t, axis))
            if n is None or isinstance(n, Dim) else int(n)
            for axis, n in enumerate(shape)
        )
        t.array, t.alt_data = example, alt
        op.outputs = (*op.outputs, t)
        self.examples[id(example)] = t
        self.examples.setdefault(id(alt), t)
        return t

    # ----------------------------------------------------------------- sources
    def add_placeholder(
        self, shape: Any, dtype: Any, name: str | None, example: np.ndarray | None = None
    ) -> SymbolicTensor:
        """A tensor whose value is fed to ``Session.run``; None marks unknown sizes.
        ``example`` (of a fully known shape) replaces the zeros that graph building runs
        ops on."""
        if isinstance(shape, (int, np.integer)) or shape is None:
            shape = () if shape is None else (shape,)
        shape = tuple(shape)
        for n in shape:
            if n is not None and (not isinstance(n, (int, np.integer)) or n < 0):
                raise ValueError(f"placeholder: a shape holds non-negative integers or None. "
                                 f"Received: shape={shape}")
        dtype = np.dtype(np.float32 if dtype is None else dtype)
        if example is not None:
            example = alt = example.astype(dtype, copy=False)
        else:
            example, alt = (
                np.zeros([EXAMPLE_SIZES[i] if n is None else int(n) for n in shape], dtype)
                for i in range(2)
            )
        op = self.add_operation("Placeholder", name or "placeholder", attrs={"dtype": dtype})
        return self.add_output(op, shape, example, alt)

    def add_constant(self, value: np.ndarray, name: str | None) -> SymbolicTensor:
        """A tensor with a fixed value."""
        op = self.add_operation("Const", name or "const", attrs={"value": value})
        return self.add_output(op, value.shape, value, value)

    def add_variable(
        self,
        tensor: Variable,
        value: np.ndarray,
        name: str | None,
        trainable: bool = True,
        source: Tensor | None = None,
    ) -> Variable:
        """Fill ``tensor`` (made by ``Variable.__init__`` or by capture) as a new
        variable whose sessions start from ``value``."""
        attrs = {"initial_value": value, "trainable": trainable, "source": source}
        op = self.add_operation("Variable", name or "variable", attrs=attrs)
        op.outputs = (tensor,)
        tensor.op, tensor.value_index = op, 0
        tensor.name = f"{op.name}:0"
        tensor.grad = tensor.grad_fn = None
        tensor.requires_grad = trainable and value.dtype.kind in "fc"
        tensor._shape = StaticShape(int(n) for n in value.shape)
        tensor.array = tensor.alt_data = value
        self.examples[id(value)] = tensor
        return tensor

    def capture(self, t: Tensor) -> SymbolicTensor:
        """The stand-in for eager tensor ``t`` in this graph (made on first use): a
        Variable if it requires a gradient, else a constant sharing its array."""
        entry = self._captures.get(id(t))
        if entry is not None:
            return entry[1]
        if t.grad_fn is not None:
            raise ValueError(
                f"Graph: an eager tensor made by {type(t.grad_fn).__name__} (shape {t.shape}) "
                "depends on trainable tensors, so it cannot enter a graph as a constant; "
                "compute it inside the graph (under graph.as_default()), or detach() it"
            )
        if t.requires_grad:
            symbolic = self.add_variable(
                object.__new__(Variable), t.array, _op_name(t.name), trainable=True, source=t
            )
        else:
            symbolic = self.add_constant(t.array, _op_name(t.name))
        self._captures[id(t)] = (t, symbolic)
        return symbolic

    def captured(self, t: Tensor) -> SymbolicTensor | None:
        """The stand-in of eager tensor ``t`` if it has entered this graph, else None."""
        entry = self._captures.get(id(t))
        return None if entry is None else entry[1]


def _op_name(name: str | None) -> str | None:
    """An eager tensor's name, if it can name an op ('/' and ':' have meanings there)."""
    return name if name and "/" not in name and ":" not in name else None


def get_default_graph() -> Graph:
    """The graph that new placeholders, constants and variables go into: the innermost
    ``graph.as_default()``, else one global graph made on first use."""
    global _global_default
    if _default_stack:
        return _default_stack[-1]
    if _global_default is None:
        _global_default = Graph()
    return _global_default


def active_graph() -> Graph | None:
    """The graph made default by the innermost ``as_default()`` block, if any."""
    return _default_stack[-1] if _default_stack else None


class Variable(SymbolicTensor):
    """A graph tensor whose value persists between runs of a Session and that optimizers
    update: ``sj.Variable(initial_value, name=None, dtype=None, trainable=True)``.

    It belongs to the default graph. Each Session starts it from ``initial_value`` (its
    own copy), so two sessions, or two graphs, never share a value. An eager tensor that
    requires a gradient (a layer's ``Parameter``) becomes a Variable of a graph the first
    time it is used there, starting from its value at that moment in each session.

    Example:
        >>> import shenjing as sj
        >>> g = sj.Graph()
        >>> with g.as_default():
        ...     v = sj.Variable(1.0, name="v")
        >>> with sj.Session(g) as sess:
        ...     float(sess.run(v))
        1.0
    """

    __slots__ = ()

    def __init__(
        self,
        initial_value: Any,
        name: str | None = None,
        dtype: Any = None,
        trainable: bool = True,
    ) -> None:
        value = Tensor(initial_value, dtype=dtype).array
        get_default_graph().add_variable(self, value, name, trainable)

    @property
    def initial_value(self) -> np.ndarray:
        """The value each Session starts from."""
        source = self.op.attrs["source"]
        return self.op.attrs["initial_value"] if source is None else source.array

    @property
    def trainable(self) -> bool:
        """Whether ``opt.minimize`` may update it."""
        return self.op.attrs["trainable"]

    @property
    def source(self) -> Tensor | None:
        """The eager tensor this variable was captured from, if any."""
        return self.op.attrs["source"]


# ---------------------------------------------------------- the apply hook


def _graph_hook(cls: type, inputs: tuple[Tensor, ...], params: dict[str, Any]) -> Any:
    """``Function.apply``'s question: does this call build a graph operation? Returns
    the symbolic output if so, else None (compute eagerly)."""
    graph = None
    for t in inputs:
        if isinstance(t, SymbolicTensor):
            if graph is None:
                graph = t.op.graph
            elif t.op.graph is not graph:
                other = next(u for u in inputs if isinstance(u, SymbolicTensor))
                raise ValueError(
                    f"{cls.__name__.lower()}: tensors {other.name!r} and {t.name!r} belong "
                    "to different graphs; tensors of one graph cannot be used in another"
                )
    active = _default_stack[-1] if _default_stack else None
    if graph is None:
        # Only eager inputs: stay eager unless a graph is being built and the op must be
        # differentiated (an eager parameter used in the graph's computation).
        if active is None or not GradMode.enabled:
            return None
        if not any(t.requires_grad for t in inputs):
            return None
        graph = active
    elif active is not None and active is not graph:
        t = next(u for u in inputs if isinstance(u, SymbolicTensor))
        raise ValueError(
            f"{cls.__name__.lower()}: tensor {t.name!r} belongs to a different graph than "
            "the default graph of this block; tensors of one graph cannot be used in another"
        )
    return add_function_op(graph, cls, inputs, params)


def _graph_born(graph: Graph) -> None:
    global _live_graphs
    _live_graphs += 1
    function.graph_hook = _graph_hook
    weakref.finalize(graph, _graph_died)


def _graph_died() -> None:
    """With no graph left, eager code stops consulting the hook."""
    global _live_graphs
    _live_graphs -= 1
    if _live_graphs == 0 and not _default_stack:
        function.graph_hook = None


# ------------------------------------------------------------ the public API


def placeholder(shape: Any, dtype: Any = None, name: str | None = None) -> SymbolicTensor:
    """A graph input whose value is given to ``Session.run`` in ``feed_dict``.

    Args:
        shape: a tuple; ``None`` marks a size known only at run time (a batch size).
        dtype: float32 unless given.
        name: the op's name (made unique in the graph).

    Example:
        >>> import shenjing as sj
        >>> g = sj.Graph()
        >>> with g.as_default():
        ...     x = sj.placeholder((None, 784), name="x")
        >>> x
        <tensor 'x:0' shape=(None, 784) dtype=float32>
    """
    return get_default_graph().add_placeholder(shape, dtype, name)


def constant(
    value: Any, dtype: Any = None, shape: Any = None, name: str | None = None
) -> SymbolicTensor:
    """A graph tensor with a fixed value (floats become float32, integers int64, as for
    ``sj.tensor``). With ``shape``, a scalar ``value`` fills that shape and any other value
    of as many elements is reshaped to it.

    Example:
        >>> import shenjing as sj
        >>> g = sj.Graph()
        >>> with g.as_default():
        ...     c = sj.constant([[1, 2], [3, 4]], dtype="float32")
        >>> c.shape, c.dtype
        ((2, 2), dtype('float32'))
    """
    array = Tensor(value, dtype=dtype).array
    if shape is not None:
        shape = (shape,) if isinstance(shape, int) else tuple(shape)
        if array.size == 1:
            array = np.full(shape, array.reshape(()), dtype=array.dtype)
        elif array.size == int(np.prod(shape)):
            array = array.reshape(shape)
        else:
            raise ValueError(f"constant: a value of {array.size} elements cannot have shape "
                             f"{shape}")
    return get_default_graph().add_constant(array, name)
