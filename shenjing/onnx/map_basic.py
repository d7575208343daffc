"""ONNX mapping entries for the elementwise, activation, reduction and shape ops.

Each entry takes the export context and one graph ``Operation`` and returns the name of
the ONNX value that stands for the operation's output.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np

from shenjing.graph.dims import Dim
from shenjing.graph.symbolic import Operation
from shenjing.onnx.context import ExportContext, ExportError

Entry = Callable[[ExportContext, Operation], str]

_INT64_MAX = np.iinfo(np.int64).max


def _inputs(ctx: ExportContext, op: Operation) -> list[str]:
    return [ctx.name(t) for t in op.inputs]


def same(onnx_type: str, **attrs: Any) -> Entry:
    """An op that is one ONNX node of the same inputs."""
    def entry(ctx: ExportContext, op: Operation) -> str:
        return ctx.add(onnx_type, _inputs(ctx, op), op.name, **attrs)
    entry.__name__ = f"to_{onnx_type}"
    return entry


def _scalar(ctx: ExportContext, op: Operation, value: float) -> str:
    return ctx.constant(np.asarray(value, dtype=op.inputs[0].dtype), f"{op.name}_scalar")


def pow_scalar(ctx: ExportContext, op: Operation) -> str:
    return ctx.add("Pow", [ctx.name(op.inputs[0]), _scalar(ctx, op, op.params["exponent"])],
                   op.name)


def clip(ctx: ExportContext, op: Operation) -> str:
    lo, hi = op.params["lo"], op.params["hi"]
    bounds = ["" if b is None else _scalar(ctx, op, b) for b in (lo, hi)]
    return ctx.add("Clip", [ctx.name(op.inputs[0]), *bounds], op.name)


def leaky_relu(ctx: ExportContext, op: Operation) -> str:
    return ctx.add("LeakyRelu", _inputs(ctx, op), op.name,
                   alpha=float(op.params["negative_slope"]))


def elu(ctx: ExportContext, op: Operation) -> str:
    return ctx.add("Elu", _inputs(ctx, op), op.name, alpha=float(op.params["alpha"]))


def prelu(ctx: ExportContext, op: Operation) -> str:
    x, w = op.inputs
    slope = ctx.name(w)
    if x.ndim > 2 and w.ndim == 1:  # one slope per channel (axis 1) broadcasts as (C, 1, 1)
        slope = ctx.add("Reshape", [slope, ctx.ints([-1] + [1] * (x.ndim - 2))], op.name)
    return ctx.add("PRelu", [ctx.name(x), slope], op.name)


def step(ctx: ExportContext, op: Operation) -> str:
    x = ctx.name(op.inputs[0])
    positive = ctx.add("Greater", [x, _scalar(ctx, op, 0.0)], op.name)
    return ctx.add("Cast", [positive], op.name, to=_onnx_dtype(ctx, op.inputs[0].dtype))


def gelu(ctx: ExportContext, op: Operation) -> str:
    # Opset 17 has no Gelu: x·(1 + erf(x/√2))/2, as the op computes it.
    x = ctx.name(op.inputs[0])
    scaled = ctx.add("Mul", [x, _scalar(ctx, op, math.sqrt(0.5))], op.name)
    cdf = ctx.add("Add", [ctx.add("Erf", [scaled], op.name), _scalar(ctx, op, 1.0)], op.name)
    half = ctx.add("Mul", [x, _scalar(ctx, op, 0.5)], op.name)
    return ctx.add("Mul", [half, cdf], op.name)


def gelu_tanh(ctx: ExportContext, op: Operation) -> str:
    x = ctx.name(op.inputs[0])
    cube = ctx.add("Mul", [ctx.add("Mul", [x, x], op.name), x], op.name)
    inner = ctx.add("Add", [x, ctx.add("Mul", [cube, _scalar(ctx, op, 0.044715)], op.name)],
                    op.name)
    t = ctx.add("Tanh", [ctx.add("Mul", [inner, _scalar(ctx, op, math.sqrt(2 / math.pi))],
                                 op.name)], op.name)
    half = ctx.add("Mul", [x, _scalar(ctx, op, 0.5)], op.name)
    return ctx.add("Mul", [half, ctx.add("Add", [t, _scalar(ctx, op, 1.0)], op.name)], op.name)


def softplus(ctx: ExportContext, op: Operation) -> str:
    beta, threshold = float(op.params["beta"]), float(op.params["threshold"])
    x = ctx.name(op.inputs[0])
    bx = ctx.add("Mul", [x, _scalar(ctx, op, beta)], op.name)
    soft = ctx.add("Div", [ctx.add("Softplus", [bx], op.name), _scalar(ctx, op, beta)],
                   op.name)
    # Above the threshold softplus is x itself, as in PyTorch.
    linear = ctx.add("Greater", [bx, _scalar(ctx, op, threshold)], op.name)
    return ctx.add("Where", [linear, x, soft], op.name)


def with_axis(onnx_type: str) -> Entry:
    def entry(ctx: ExportContext, op: Operation) -> str:
        return ctx.add(onnx_type, _inputs(ctx, op), op.name, axis=int(op.params["axis"]))
    entry.__name__ = f"to_{onnx_type}"
    return entry


def reduce(onnx_type: str) -> Entry:
    def entry(ctx: ExportContext, op: Operation) -> str:
        x = op.inputs[0]
        axes = op.params["axis"]
        axes = tuple(range(x.ndim)) if axes is None else tuple(axes)
        keep = int(bool(op.params["keepdims"]))
        if onnx_type == "ReduceSum":  # an input since opset 13
            return ctx.add(onnx_type, [ctx.name(x), ctx.ints(axes, "axes")], op.name,
                           keepdims=keep)
        return ctx.add(onnx_type, [ctx.name(x)], op.name, axes=list(axes), keepdims=keep)
    entry.__name__ = f"to_{onnx_type}"
    return entry


def reshape(ctx: ExportContext, op: Operation) -> str:
    x = op.inputs[0]
    # A size equal to the input's at the same position is copied from the input at run
    # time (ONNX's 0), so a dynamic batch axis stays dynamic through Flatten; so is an
    # unknown size (a graph's None) there, and one elsewhere is inferred (-1).
    shape = []
    for k, n in enumerate(op.params["shape"]):
        same = k < x.ndim and (isinstance(n, Dim) if isinstance(x.shape[k], Dim)
                               else int(n) == x.shape[k] and not isinstance(n, Dim))
        shape.append(0 if same else -1 if isinstance(n, Dim) else int(n))
    return ctx.add("Reshape", [ctx.name(x), ctx.ints(shape, "shape")], op.name)


def transpose(ctx: ExportContext, op: Operation) -> str:
    axes = op.params["axes"]
    attrs = {} if axes is None else {"perm": [int(a) for a in axes]}
    return ctx.add("Transpose", _inputs(ctx, op), op.name, **attrs)


def stack(ctx: ExportContext, op: Operation) -> str:
    axis = int(op.params["axis"])
    rank = op.inputs[0].ndim + 1
    axis = axis + rank if axis < 0 else axis
    parts = [ctx.add("Unsqueeze", [ctx.name(t), ctx.ints([axis], "axes")], op.name)
             for t in op.inputs]
    return parts[0] if len(parts) == 1 else ctx.add("Concat", parts, op.name, axis=axis)


def get_item(ctx: ExportContext, op: Operation) -> str:
    """Basic indexing: integers (Gather) and slices (Slice); anything else is refused."""
    x = op.inputs[0]
    index = op.params["index"]
    index = index if isinstance(index, tuple) else (index,)
    if op.params.get("accumulate") or any(
            not isinstance(i, (int, np.integer, slice)) for i in index) or len(index) > x.ndim:
        raise ExportError(f"onnx export: GetItem {op.name!r} uses indexing ONNX export does "
                          f"not support (integers and slices only). Received: {index!r}")
    out = ctx.name(x)
    starts, ends, axes, steps, gathers = [], [], [], [], []
    for axis, i in enumerate(index):
        if isinstance(i, slice):
            if i == slice(None):
                continue
            step_ = 1 if i.step is None else i.step
            default_start, default_end = (0, _INT64_MAX) if step_ > 0 else (-1, -_INT64_MAX)
            starts.append(default_start if i.start is None else i.start)
            ends.append(default_end if i.stop is None else i.stop)
            axes.append(axis)
            steps.append(step_)
        else:
            gathers.append((axis, int(i)))
    if axes:
        out = ctx.add("Slice", [out, ctx.ints(starts, "starts"), ctx.ints(ends, "ends"),
                                ctx.ints(axes, "axes"), ctx.ints(steps, "steps")], op.name)
    # Gather from the last axis first, so that the earlier axes keep their numbers.
    for axis, i in reversed(gathers):
        scalar = ctx.constant(np.asarray(i, dtype=np.int64), f"{op.name}_index")
        out = ctx.add("Gather", [out, scalar], op.name, axis=axis)
    return out if out != ctx.name(x) else ctx.add("Identity", [out], op.name)


def cast(ctx: ExportContext, op: Operation) -> str:
    return ctx.add("Cast", _inputs(ctx, op), op.name,
                   to=_onnx_dtype(ctx, np.dtype(op.params["dtype"])))


def _onnx_dtype(ctx: ExportContext, dtype: Any) -> int:
    return ctx.onnx.helper.np_dtype_to_tensor_dtype(np.dtype(dtype))


def pad(ctx: ExportContext, op: Operation) -> str:
    widths = op.params["pad_width"]
    pads = [int(w[0]) for w in widths] + [int(w[1]) for w in widths]
    return ctx.add("Pad", [ctx.name(op.inputs[0]), ctx.ints(pads, "pads"),
                           _scalar(ctx, op, float(op.params["value"]))], op.name)


def broadcast_to(ctx: ExportContext, op: Operation) -> str:
    return ctx.add("Expand", [ctx.name(op.inputs[0]), ctx.ints(op.params["shape"], "shape")],
                   op.name)


ENTRIES: dict[str, Entry] = {
    "Add": same("Add"), "Sub": same("Sub"), "Mul": same("Mul"), "Div": same("Div"),
    "Neg": same("Neg"), "Pow": same("Pow"), "PowScalar": pow_scalar, "Exp": same("Exp"),
    "Log": same("Log"), "Sqrt": same("Sqrt"), "Abs": same("Abs"), "Clip": clip,
    "Erf": same("Erf"),
    "Maximum": same("Max"), "Minimum": same("Min"), "Where": same("Where"), "Cast": cast,
    "MatMul": same("MatMul"), "StopGradient": same("Identity"),
    "Step": step, "Sigmoid": same("Sigmoid"), "Tanh": same("Tanh"), "ReLU": same("Relu"),
    "LeakyReLU": leaky_relu, "PReLU": prelu, "ELU": elu, "GELU": gelu,
    "GELUTanh": gelu_tanh, "Softplus": softplus, "Softmax": with_axis("Softmax"),
    "LogSoftmax": with_axis("LogSoftmax"),
    "Sum": reduce("ReduceSum"), "Mean": reduce("ReduceMean"), "Max": reduce("ReduceMax"),
    "Min": reduce("ReduceMin"), "LogSumExp": reduce("ReduceLogSumExp"),
    "Reshape": reshape, "Transpose": transpose, "BroadcastTo": broadcast_to,
    "GetItem": get_item, "Concat": with_axis("Concat"), "Stack": stack, "Pad": pad,
}
"""Op class name -> mapping entry."""
