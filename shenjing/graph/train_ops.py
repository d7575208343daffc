"""Training in graph mode: ``gradients`` (tensors to fetch) and ``minimize`` (an op that
takes one optimizer step when run).

Both are operations a Session runs specially: after the forward schedule, a backward
pass over the loss's graph gives the gradients (see ``plan.BackwardPass``); a
``Minimize`` op then hands them to its optimizer's own per-parameter update, applied to
the session's values of the variables, so any shenjing optimizer works and each session
keeps its own optimizer state (Adam's moments, say).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from shenjing.backend import get_array_module
from shenjing.graph.graph import Graph, Variable
from shenjing.graph.symbolic import Operation, SymbolicTensor
from shenjing.optim.optimizer import register_minimize
from shenjing.tensor import Tensor


def _check_loss(where: str, loss: Any) -> SymbolicTensor:
    if not isinstance(loss, SymbolicTensor):
        raise TypeError(f"{where}: the loss must be a graph tensor. Received: "
                        f"{type(loss).__name__}")
    if loss.dtype.kind != "f":
        raise TypeError(f"{where}: the loss {loss.name!r} must be floating-point. Received: "
                        f"dtype={loss.dtype}")
    if loss.shape != () and loss.shape != (1,):
        raise ValueError(f"{where}: the loss {loss.name!r} must be a scalar. Received: "
                         f"shape={loss.shape}")
    return loss


def _in_graph(where: str, graph: Graph, t: Any) -> SymbolicTensor | None:
    """``t`` as a tensor of ``graph``: an eager tensor maps to its captured variable (None
    if it never entered the graph)."""
    if isinstance(t, SymbolicTensor):
        if t.graph is not graph:
            raise ValueError(f"{where}: tensor {t.name!r} belongs to a different graph than "
                             "the loss")
        return t
    if isinstance(t, Tensor):
        return graph.captured(t)
    raise TypeError(f"{where}: expected tensors. Received: {type(t).__name__}")


def connected(loss: SymbolicTensor, xs: Sequence[SymbolicTensor]) -> list[bool]:
    """For each x, whether a gradient flows from ``loss`` back to it."""
    graph = loss.graph
    ops = graph.get_operations()[: loss.op.index + 1]
    carries = {id(x) for x in xs if x.dtype.kind in "fc"}
    for op in ops:
        if (op.function is not None and not op.stop_gradient and op.outputs[0].dtype.kind
                in "fc" and any(id(t) in carries for t in op.inputs)):
            carries.add(id(op.outputs[0]))
    reached = {id(loss)} if id(loss) in carries else set()
    for op in reversed(ops):
        if op.function is not None and id(op.outputs[0]) in reached:
            reached.update(id(t) for t in op.inputs if id(t) in carries)
    return [id(x) in reached for x in xs]


def gradients(loss: SymbolicTensor, xs: Sequence[Any]) -> list[SymbolicTensor | None]:
    """d(loss)/dx for each x, as graph tensors to fetch with ``Session.run``; None for an
    x that the loss does not depend on (through differentiable ops).

    ``xs`` may hold graph tensors or eager tensors used in the graph (a layer's
    parameters). The gradients are computed by the same backward code as
    ``loss.backward()`` in eager mode.

    Example:
        >>> import shenjing as sj
        >>> from shenjing.graph import gradients
        >>> g = sj.Graph()
        >>> with g.as_default():
        ...     w = sj.Variable([1.0, 2.0])
        ...     (gw,) = gradients((w * w).sum(), [w])
        >>> with sj.Session(g) as sess:
        ...     sess.run(gw).tolist()
        [2.0, 4.0]
    """
    loss = _check_loss("gradients", loss)
    graph = loss.graph
    found = [_in_graph("gradients", graph, x) for x in xs]
    present = [x for x in found if x is not None]
    flows = dict(zip(map(id, present), connected(loss, present), strict=True))
    wrt = [x for x in present if flows[id(x)]]
    op = graph.add_operation("Gradients", "gradients", inputs=(loss, *wrt),
                             attrs={"loss": loss, "wrt": wrt})
    by_x = {}
    for x in wrt:
        xp = get_array_module(x.array)
        by_x[id(x)] = graph.add_output(op, x.shape, xp.zeros_like(x.array),
                                       xp.zeros_like(x.alt_data))
    return [None if x is None else by_x.get(id(x)) for x in found]


def minimize(optimizer: Any, loss: Any, var_list: Sequence[Any] | None = None) -> Operation:
    """An op that, run in a Session (with a feed for the loss's placeholders), takes one
    step of ``optimizer`` on ``loss``: the gradients of the loss with respect to the
    variables, then the optimizer's own update of each, in the session's values.

    Args:
        optimizer: any shenjing optimizer, built on graph ``Variable``s or on eager
            parameters used in the graph (a model's ``parameters()``).
        loss: a scalar graph tensor.
        var_list: the variables to update (default: all of the optimizer's parameters
            that the graph uses). Each must be one of the optimizer's parameters, which
            gives its hyperparameters.

    Raises:
        ValueError: if none of the variables affects the loss.
    """
    loss = _check_loss("minimize", loss)
    graph = loss.graph
    groups = {}
    for index, group in enumerate(optimizer.param_groups):
        for p in group["params"]:
            symbolic = _in_graph("minimize", graph, p)
            if symbolic is not None:
                groups[id(symbolic)] = index
    if var_list is None:
        variables = [v for v in graph.variables if id(v) in groups and v.trainable]
    else:
        variables = []
        for v in var_list:
            symbolic = _in_graph("minimize", graph, v)
            if not isinstance(symbolic, Variable) or id(symbolic) not in groups:
                name = getattr(symbolic, "name", None) or getattr(v, "name", None)
                raise ValueError(f"minimize: {name!r} is not a variable among the "
                                 f"{type(optimizer).__name__}'s parameters in this graph")
            variables.append(symbolic)
    flows = connected(loss, variables)
    if not any(flows):
        raise ValueError(f"minimize: the loss {loss.name!r} does not depend on any of the "
                         f"{type(optimizer).__name__}'s variables in its graph")
    return graph.add_operation(
        "Minimize", "minimize", inputs=(loss,),
        attrs={"optimizer": optimizer, "loss": loss,
               "variables": [v for v, flow in zip(variables, flows, strict=True) if flow],
               "groups": groups},
    )


register_minimize(minimize)  # Optimizer.minimize(loss) builds this op
