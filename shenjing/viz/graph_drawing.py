"""Pictures of computation graphs: Graphviz DOT text, and PNG or SVG through ``dot``.

``draw_graph`` takes what a user has at hand:

- an eager tensor: the ops recorded on the way to it (walked through ``grad_fn`` and
  its inputs, iteratively, so a deep RNN graph is fine). A node is a tensor, labelled
  with the op that made it (or "leaf"), its name, shape and dtype. With
  ``show_grad=True`` the backward graph is drawn over it: one dashed node per
  ``<Op>Backward``, edges from each output's gradient to the inputs' gradients labelled
  with their shapes, and each leaf's ``.grad`` shape. This needs the graph kept alive
  by ``backward(retain_graph=True)`` (or drawn before ``backward()``).
- a graph-mode ``Graph``, a symbolic tensor (its part of the graph) or an
  ``sj.compile``d function (its latest trace): a node per operation with its type,
  name, and output shape and dtype; edges are the tensors, labelled with their shapes.

PNG and SVG need Graphviz's ``dot`` program (``apt install graphviz``, ``brew install
graphviz``); DOT text needs nothing.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

from shenjing.data._atomic import write_bytes_atomically
from shenjing.graph.graph import Graph
from shenjing.graph.symbolic import Operation, SymbolicTensor
from shenjing.tensor import Tensor

FORMATS = ("dot", "png", "svg")

_SOURCE_STYLE = {  # graph-mode sources stand out from computing ops
    "Placeholder": 'shape=box, style="rounded,filled", fillcolor="#dbeafe"',
    "Variable": 'shape=box, style="filled", fillcolor="#fde68a"',
    "Const": 'shape=box, style="filled", fillcolor="#e5e7eb"',
    "Minimize": 'shape=hexagon, style="filled", fillcolor="#fecaca"',
    "Gradients": 'shape=hexagon, style="filled", fillcolor="#fecaca"',
}


def draw_graph(
    t_or_graph: Any,
    format: str = "dot",
    path: str | os.PathLike[str] | None = None,
    show_grad: bool = False,
) -> str | bytes | Path:
    """Draw a computation graph.

    Args:
        t_or_graph: an eager ``Tensor``, a ``Graph``, a symbolic tensor, or a function
            made by ``sj.compile`` (after its first call).
        format: ``"dot"`` (Graphviz text), ``"png"`` or ``"svg"`` (rendered by ``dot``).
        path: write the result there (atomically) and return the path instead.
        show_grad: for an eager tensor, draw the backward graph with gradient shapes.

    Returns:
        DOT or SVG text (str), PNG bytes, or the ``Path`` written.

    Raises:
        ValueError: an unknown format, or an eager graph already freed by ``backward()``.
        RuntimeError: PNG or SVG asked for and the ``dot`` program is not installed.

    Example:
        >>> import shenjing as sj
        >>> from shenjing.viz import draw_graph
        >>> x = sj.tensor([1.0, 2.0], requires_grad=True, name="x")
        >>> dot = draw_graph((x * x).sum())
        >>> dot.startswith("digraph"), "Mul" in dot, "(2,)" in dot
        (True, True, True)
    """
    if format not in FORMATS:
        raise ValueError(f"draw_graph: format must be one of {', '.join(FORMATS)}. "
                         f"Received: {format!r}")
    if hasattr(t_or_graph, "graphs") and callable(t_or_graph):  # an sj.compile'd function
        if not t_or_graph.graphs:
            raise ValueError("draw_graph: the compiled function has not been called yet, "
                             "so it has no graph")
        t_or_graph = t_or_graph.graphs[-1]
    if isinstance(t_or_graph, Graph):
        text = _symbolic_dot(t_or_graph.get_operations())
    elif isinstance(t_or_graph, SymbolicTensor):
        text = _symbolic_dot(_ancestors(t_or_graph))
    elif isinstance(t_or_graph, Tensor):
        text = _eager_dot(t_or_graph, show_grad)
    else:
        raise TypeError(f"draw_graph: expected a Tensor, a Graph or a compiled function. "
                        f"Received: {type(t_or_graph).__name__}")
    output: str | bytes = text if format == "dot" else _render(text, format)
    if path is None:
        return output
    path = Path(path)
    write_bytes_atomically(path, output.encode() if isinstance(output, str) else output)
    return path


def _render(text: str, format: str) -> str | bytes:
    """``text`` rendered by Graphviz's ``dot`` as PNG bytes or SVG text."""
    dot = shutil.which("dot")
    if dot is None:
        raise RuntimeError(
            f"draw_graph: format={format!r} needs Graphviz's 'dot' program, which is not "
            "on PATH. Install Graphviz (apt install graphviz / brew install graphviz), or "
            "use format='dot' and render the text elsewhere"
        )
    done = subprocess.run([dot, f"-T{format}"], input=text.encode(), capture_output=True,
                          check=False)
    if done.returncode != 0:
        raise RuntimeError(f"draw_graph: dot failed ({done.returncode}): "
                           f"{done.stderr.decode(errors='replace').strip()}")
    return done.stdout.decode() if format == "svg" else done.stdout


# ------------------------------------------------------------------ DOT text


def _quote(text: str) -> str:
    """A DOT string literal; lines are joined with DOT's centred line break."""
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def _shape(shape: tuple) -> str:
    return str(tuple(shape))  # unknown sizes print as None, as the tensors' shapes do


def _symbolic_dot(ops: list[Operation]) -> str:
    lines = ["digraph graph_mode {", "  rankdir=TB;",
             '  node [shape=ellipse, fontname="Helvetica", fontsize=11];',
             '  edge [fontname="Helvetica", fontsize=9];']
    node = {id(op): f"op{i}" for i, op in enumerate(ops)}
    for op in ops:
        label = [op.type, op.name]
        if op.outputs:
            out = op.outputs[0]
            label.append(f"{_shape(out.shape)} {out.dtype}")
        style = _SOURCE_STYLE.get(op.type, "")
        lines.append(f"  {node[id(op)]} [label={_quote(chr(10).join(label))}"
                     f"{', ' + style if style else ''}];")
    for op in ops:
        for t in op.inputs:
            source = node.get(id(t.op))
            if source is not None:
                lines.append(f"  {source} -> {node[id(op)]} [label={_quote(_shape(t.shape))}];")
        for t in op.dependencies:  # tensors read through parameters (labels, sizes)
            source = node.get(id(t.op))
            if source is not None and all(t is not u for u in op.inputs):
                lines.append(f"  {source} -> {node[id(op)]} [style=dotted];")
    lines.append("}")
    return "\n".join(lines) + "\n"


def _ancestors(t: SymbolicTensor) -> list[Operation]:
    """The operations ``t`` depends on, in graph order."""
    found: dict[int, Operation] = {}
    stack = [t]
    while stack:
        op = stack.pop().op
        if id(op) in found:
            continue
        found[id(op)] = op
        stack.extend(op.inputs)
        stack.extend(op.dependencies)
    return sorted(found.values(), key=lambda op: op.index)


def _eager_dot(root: Tensor, show_grad: bool) -> str:
    lines = ["digraph eager {", "  rankdir=TB;",
             '  node [shape=box, style=rounded, fontname="Helvetica", fontsize=11];',
             '  edge [fontname="Helvetica", fontsize=9];']
    names: dict[int, str] = {}
    order: list[Tensor] = []
    stack = [root]
    while stack:  # iterative: deep graphs must not hit the recursion limit
        t = stack.pop()
        if id(t) in names:
            continue
        names[id(t)] = f"t{len(names)}"
        order.append(t)
        fn = t.grad_fn
        if fn is not None:
            inputs = fn.__dict__.get("inputs")
            if inputs is None:
                raise ValueError(
                    "draw_graph: the graph of this tensor was freed by backward(); call "
                    "backward(retain_graph=True) to keep it, or draw before backward()"
                )
            stack.extend(inputs)
    for t in order:
        fn = t.grad_fn
        op = type(fn).__name__ if fn is not None else (
            "leaf (requires grad)" if t.requires_grad else "constant")
        label = [op]
        if t.name:
            label.append(t.name)
        label.append(f"{_shape(t.shape)} {t.dtype}")
        if show_grad and fn is None and t.requires_grad:
            label.append("grad: " + ("none" if t.grad is None else _shape(t.grad.shape)))
        style = ', style="rounded,filled", fillcolor="#fde68a"' if (
            fn is None and t.requires_grad) else ""
        lines.append(f"  {names[id(t)]} [label={_quote(chr(10).join(label))}{style}];")
    for t in order:
        fn = t.grad_fn
        if fn is None:
            continue
        for u in fn.inputs:
            lines.append(f"  {names[id(u)]} -> {names[id(t)]} "
                         f"[label={_quote(_shape(u.shape))}];")
        if show_grad:
            backward = f"b{names[id(t)]}"
            lines.append(f"  {backward} [label={_quote(type(fn).__name__ + 'Backward')}, "
                         'shape=ellipse, style=dashed, color="#b91c1c"];')
            lines.append(f"  {names[id(t)]} -> {backward} [style=dashed, color=\"#b91c1c\", "
                         f"label={_quote('grad ' + _shape(t.shape))}];")
            for u in fn.inputs:
                if u.requires_grad:
                    lines.append(f"  {backward} -> {names[id(u)]} [style=dashed, "
                                 f"color=\"#b91c1c\", label={_quote('grad ' + _shape(u.shape))}];")
    lines.append("}")
    return "\n".join(lines) + "\n"
