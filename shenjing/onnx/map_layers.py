"""ONNX mapping entries for the layer ops: convolution, pooling, linear, batch norm,
embedding, dropout (refused: export runs the model in evaluation mode)."""

from __future__ import annotations

import numpy as np

from shenjing.graph.symbolic import Operation, TensorRef
from shenjing.onnx.context import ExportContext, ExportError
from shenjing.onnx.map_basic import Entry


def _pads(padding: tuple) -> list[int]:
    """shenjing's ((before, after), ...) per spatial axis -> ONNX's [begins..., ends...]."""
    return [int(p[0]) for p in padding] + [int(p[1]) for p in padding]


def _spatial(op: Operation, values: tuple) -> tuple:
    """The entries for the input's spatial axes: a 1-D op carries (1, k)-style pairs."""
    return tuple(values)[-(op.inputs[0].ndim - 2):]


def convolution(ctx: ExportContext, op: Operation) -> str:
    p = op.params
    return ctx.add("Conv", [ctx.name(t) for t in op.inputs], op.name,
                   strides=[int(s) for s in _spatial(op, p["stride"])],
                   pads=_pads(_spatial(op, p["padding"])),
                   dilations=[int(d) for d in _spatial(op, p["dilation"])],
                   group=int(p["groups"]), kernel_shape=[int(k) for k in op.inputs[1].shape[2:]])


def pool(onnx_type: str) -> Entry:
    def entry(ctx: ExportContext, op: Operation) -> str:
        p = op.params
        # shenjing's average pooling counts the padding in the divisor, as PyTorch's
        # default count_include_pad=True does.
        extra = {"count_include_pad": 1} if onnx_type == "AveragePool" else {}
        return ctx.add(onnx_type, [ctx.name(op.inputs[0])], op.name,
                       kernel_shape=[int(k) for k in _spatial(op, p["kernel"])],
                       strides=[int(s) for s in _spatial(op, p["stride"])],
                       pads=_pads(_spatial(op, p["padding"])), **extra)
    entry.__name__ = f"to_{onnx_type}"
    return entry


def linear(ctx: ExportContext, op: Operation) -> str:
    x, w = op.inputs[:2]
    names = [ctx.name(t) for t in op.inputs]
    if x.ndim == 2:
        return ctx.add("Gemm", names, op.name, transB=1)
    y = ctx.add("MatMul", [names[0], ctx.add("Transpose", [names[1]], op.name)], op.name)
    return y if len(names) == 2 else ctx.add("Add", [y, names[2]], op.name)


def batch_norm(ctx: ExportContext, op: Operation) -> str:
    p = op.params
    if p["training"] or p["running_mean"] is None:
        raise ExportError(f"onnx export: BatchNorm {op.name!r} normalises with batch "
                          "statistics; export needs running statistics in eval mode")
    x = op.inputs[0]
    channels = x.shape[1]
    dtype = x.dtype
    affine = iter(op.inputs[1:])
    scale = ctx.name(next(affine)) if p["has_weight"] else ctx.constant(
        np.ones(channels, dtype), f"{op.name}_scale")
    bias = ctx.name(next(affine)) if p["has_bias"] else ctx.constant(
        np.zeros(channels, dtype), f"{op.name}_bias")
    mean = ctx.constant(np.asarray(p["running_mean"], dtype), f"{op.name}_mean")
    var = ctx.constant(np.asarray(p["running_var"], dtype), f"{op.name}_var")
    return ctx.add("BatchNormalization", [ctx.name(x), scale, bias, mean, var], op.name,
                   epsilon=float(p["eps"]))


def embedding(ctx: ExportContext, op: Operation) -> str:
    indices = op.params["indices"]
    index_name = (ctx.name(indices.tensor) if isinstance(indices, TensorRef)
                  else ctx.ints(indices, f"{op.name}_indices"))
    if not isinstance(indices, TensorRef):  # a fixed array keeps its shape
        index_name = ctx.add("Reshape", [index_name, ctx.ints(np.shape(indices))], op.name)
    return ctx.add("Gather", [ctx.name(op.inputs[0]), index_name], op.name, axis=0)


def dropout(ctx: ExportContext, op: Operation) -> str:
    raise ExportError(f"onnx export: Dropout {op.name!r} was traced in training mode; "
                      "export runs the model under eval(), so a functional dropout must "
                      "pass training=self.training")


ENTRIES: dict[str, Entry] = {
    "Convolution": convolution, "MaxPool": pool("MaxPool"), "AvgPool": pool("AveragePool"),
    "Linear": linear, "BatchNorm": batch_norm, "Embedding": embedding, "Dropout": dropout,
}
"""Op class name -> mapping entry."""
