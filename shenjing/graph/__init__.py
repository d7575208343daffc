"""Graph mode: TensorFlow's define-then-run model on shenjing's own ops.

Build a graph of symbolic tensors (``Graph``, ``placeholder``, ``constant``,
``Variable``, and every op and layer), run it in a ``Session`` (which compiles the
needed part into a replayed ``Plan``), train it with ``optimizer.minimize(loss)``, or
let ``compile`` trace an eager training step into a graph and replay it. The numbers are
those of eager mode: the same forward and backward code runs on the same arrays.

Example:
    >>> import shenjing as sj
    >>> g = sj.Graph()
    >>> with g.as_default():
    ...     x = sj.placeholder((None, 2), name="x")
    ...     w = sj.Variable([[1.0], [2.0]], name="w")
    ...     y = x @ w
    >>> with sj.Session(g) as sess:
    ...     sess.run(y, feed_dict={x: [[1.0, 1.0]]}).tolist()
    [[3.0]]
"""

from shenjing.graph import building  # registers the op builder with graph.py
from shenjing.graph.compile import CompiledFunction, compile
from shenjing.graph.graph import (
    Graph,
    Variable,
    active_graph,
    constant,
    get_default_graph,
    placeholder,
)
from shenjing.graph.session import Session
from shenjing.graph.symbolic import Operation, SymbolicTensor
from shenjing.graph.train_ops import gradients, minimize

__all__ = [
    "CompiledFunction", "Graph", "Operation", "Session", "SymbolicTensor", "Variable",
    "active_graph", "compile", "constant", "get_default_graph", "gradients", "minimize",
    "placeholder",
]
