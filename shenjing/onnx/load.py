"""``load``: run an ONNX model (such as PyTorch's exporter writes) as a shenjing Module.

Inference only. Each ONNX node runs through shenjing's ops on tensors; the small integer
arrays of shape arithmetic (Shape → Gather → Concat → Reshape) stay host NumPy arrays.
Recurrent nodes get their weights converted back to PyTorch's gate order once, at load.
A node type without a runner here is reported at load, with every such type named.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

import numpy as np

import shenjing.nn.functional as F
from shenjing import ops
from shenjing.nn.module import Module
from shenjing.onnx._deps import require
from shenjing.tensor import Tensor

Value = Any  # a Tensor (computed data) or an np.ndarray (host-side integers and shapes)
Runner = Callable[[list[Value], dict[str, Any]], Any]


def load(f: str | os.PathLike | Any) -> OnnxModule:
    """Load an ONNX model file (or ``onnx.ModelProto``) as a Module for inference.

    Example:
        >>> import shenjing as sj
        >>> from shenjing.models import mlp
        >>> model = mlp(4, (8,), 3)
        >>> _ = sj.onnx.export(model, sj.zeros(2, 4), "/tmp/mlp.onnx",
        ...                    dynamic_axes={"input": {0: "batch"}})
        >>> sj.onnx.load("/tmp/mlp.onnx")(sj.zeros(5, 4)).shape
        (5, 3)
    """
    onnx = require("onnx")
    proto = f if isinstance(f, onnx.ModelProto) else onnx.load(os.fspath(f))
    return OnnxModule(proto)


class OnnxModule(Module):
    """An ONNX graph run by shenjing's ops; made by ``sj.onnx.load``.

    Attributes:
        input_names: the graph's inputs, in the order ``forward`` takes them.
        output_names: the graph's outputs; one is returned bare, several as a tuple.
    """

    def __init__(self, proto: Any) -> None:
        super().__init__()
        onnx = require("onnx")
        graph = proto.graph
        missing = sorted({n.op_type for n in graph.node} - set(RUNNERS))
        if missing:
            raise NotImplementedError(
                f"sj.onnx.load: no shenjing runner for ONNX op(s) {', '.join(missing)}. "
                f"Supported: {', '.join(sorted(RUNNERS))}")
        self.constants: dict[str, Value] = {
            t.name: _value(onnx.numpy_helper.to_array(t)) for t in graph.initializer}
        self.input_names = [i.name for i in graph.input if i.name not in self.constants]
        self.output_names = [o.name for o in graph.output]
        self.nodes: list[tuple[str, list[str], list[str], dict[str, Any]]] = []
        for node in graph.node:
            attrs = {a.name: _attribute(onnx, a) for a in node.attribute}
            if node.op_type in ("RNN", "LSTM", "GRU"):
                attrs["weights"] = _recurrent_weights(node, attrs, self.constants)
            self.nodes.append((node.op_type, list(node.input), list(node.output), attrs))

    def forward(self, *inputs: Any) -> Any:
        if len(inputs) != len(self.input_names):
            raise TypeError(f"OnnxModule expects {len(self.input_names)} input(s) "
                            f"({', '.join(self.input_names)}). Received: {len(inputs)}")
        env: dict[str, Value] = dict(self.constants)
        for name, x in zip(self.input_names, inputs, strict=True):
            env[name] = x if isinstance(x, Tensor) else Tensor(np.asarray(x))
        for op_type, names_in, names_out, attrs in self.nodes:
            args = [env[n] if n else None for n in names_in]
            try:
                result = RUNNERS[op_type](args, attrs)
            except (ValueError, TypeError, IndexError) as err:
                raise type(err)(f"sj.onnx.load: ONNX {op_type} node -> {names_out}: {err}"
                                ) from err
            results = result if isinstance(result, tuple) else (result,)
            env.update((n, r) for n, r in zip(names_out, results, strict=False) if n)
        outputs = tuple(_tensor(env[n]) for n in self.output_names)
        return outputs[0] if len(outputs) == 1 else outputs

    def extra_repr(self) -> str:
        return f"inputs={self.input_names}, nodes={len(self.nodes)}"


# --------------------------------------------------------------- values


def _value(array: np.ndarray) -> Value:
    """Floating data becomes a tensor; integers stay host arrays (shapes, indices)."""
    return Tensor(array) if array.dtype.kind == "f" else array


def _tensor(v: Value) -> Tensor:
    return v if isinstance(v, Tensor) else Tensor(np.asarray(v))


def _host(v: Value) -> np.ndarray:
    """A host array of small integers (a shape, axes, an index)."""
    if isinstance(v, Tensor):
        if v.dtype.kind == "f":
            raise TypeError(f"expected a fixed integer array. Received: a {v.dtype} tensor")
        return v.numpy()
    return np.asarray(v)


def _attribute(onnx: Any, a: Any) -> Any:
    value = onnx.helper.get_attribute_value(a)
    if isinstance(value, onnx.TensorProto):
        return onnx.numpy_helper.to_array(value)
    if isinstance(value, bytes):
        return value.decode()
    if isinstance(value, list) and value and isinstance(value[0], bytes):
        return [v.decode() for v in value]
    return value


def _all_host(args: list[Value]) -> bool:
    return all(not isinstance(a, Tensor) for a in args)


# --------------------------------------------------------------- runners


def _binary(tensor_fn: Callable[[Any, Any], Any], host_fn: Callable[[Any, Any], Any]
            ) -> Runner:
    def run(args: list[Value], attrs: dict) -> Value:
        a, b = args
        if _all_host(args):
            return host_fn(a, b)
        return tensor_fn(_tensor(a), _tensor(b))
    return run


def _unary(fn: Callable[[Tensor], Tensor]) -> Runner:
    return lambda args, attrs: fn(_tensor(args[0]))


def _gemm(args: list[Value], attrs: dict) -> Tensor:
    a, b = _tensor(args[0]), _tensor(args[1])
    c = _tensor(args[2]) if len(args) > 2 and args[2] is not None else None
    alpha, beta = attrs.get("alpha", 1.0), attrs.get("beta", 1.0)
    if attrs.get("transA", 0):
        a = a.T
    if attrs.get("transB", 0) and alpha == 1.0 and beta == 1.0:
        return F.linear(a, b, c)  # PyTorch's Linear: one fused op
    y = a @ (b.T if attrs.get("transB", 0) else b)
    y = y if alpha == 1.0 else y * alpha
    return y if c is None else y + (c if beta == 1.0 else c * beta)


def _symmetric_pads(attrs: dict, op: str, spatial: int) -> tuple[int, ...]:
    pads = list(attrs.get("pads", [0] * 2 * spatial))
    if pads[:spatial] != pads[spatial:]:
        raise ValueError(f"{op} with unequal begin/end padding is not supported. "
                         f"Received: pads={pads}")
    if attrs.get("auto_pad", "NOTSET") not in ("NOTSET", "VALID"):
        raise ValueError(f"{op} auto_pad={attrs['auto_pad']!r} is not supported")
    return tuple(pads[:spatial])


def _conv(args: list[Value], attrs: dict) -> Tensor:
    x, w = _tensor(args[0]), _tensor(args[1])
    b = _tensor(args[2]) if len(args) > 2 and args[2] is not None else None
    spatial = w.ndim - 2
    if spatial not in (1, 2):
        raise ValueError(f"Conv runs 1-D and 2-D convolutions. Received: weight shape {w.shape}")
    stride = tuple(attrs.get("strides", (1,) * spatial))
    dilation = tuple(attrs.get("dilations", (1,) * spatial))
    padding = _symmetric_pads(attrs, "Conv", spatial)
    if spatial == 1:
        return ops.conv1d(x, w, b, stride[0], padding[0], dilation[0], attrs.get("group", 1))
    return F.conv2d(x, w, b, stride=stride, padding=padding, dilation=dilation,
                    groups=attrs.get("group", 1))


def _pool(kind: str) -> Runner:
    def run(args: list[Value], attrs: dict) -> Tensor:
        if attrs.get("ceil_mode", 0) or any(d != 1 for d in attrs.get("dilations", ())):
            raise ValueError(f"{kind} with ceil_mode or dilation is not supported")
        kernel = tuple(attrs["kernel_shape"])
        spatial = len(kernel)
        padding = _symmetric_pads(attrs, kind, spatial)
        if kind == "AveragePool" and any(padding) and not attrs.get("count_include_pad", 0):
            raise ValueError("AveragePool that excludes the padding from the divisor is not "
                             "supported (shenjing counts it, as count_include_pad=1)")
        stride = tuple(attrs.get("strides", (1,) * spatial))
        x = _tensor(args[0])
        if spatial == 1:
            pool = ops.max_pool1d if kind == "MaxPool" else ops.avg_pool1d
            return pool(x, kernel[0], stride[0], padding[0])
        pool = F.max_pool2d if kind == "MaxPool" else F.avg_pool2d
        return pool(x, kernel, stride, padding)
    return run


def _reshape(args: list[Value], attrs: dict) -> Value:
    x, shape = args[0], [int(n) for n in _host(args[1])]
    if not attrs.get("allowzero", 0):
        shape = [x.shape[k] if n == 0 else n for k, n in enumerate(shape)]
    return x.reshape(*shape) if isinstance(x, Tensor) else np.reshape(x, shape)


def _flatten(args: list[Value], attrs: dict) -> Value:
    x = args[0]
    axis = attrs.get("axis", 1) % max(len(x.shape), 1)
    rows = int(np.prod(x.shape[:axis], dtype=np.int64))
    return x.reshape(rows, -1) if isinstance(x, Tensor) else np.reshape(x, (rows, -1))


def _axes(args: list[Value], attrs: dict) -> list[int]:
    return [int(a) for a in _host(args[1])] if len(args) > 1 else list(attrs.get("axes", []))


def _squeeze(args: list[Value], attrs: dict) -> Value:
    x = args[0]
    axes = [a % len(x.shape) for a in _axes(args, attrs)] or [
        k for k, n in enumerate(x.shape) if n == 1]
    shape = [n for k, n in enumerate(x.shape) if k not in axes]
    return x.reshape(*shape) if isinstance(x, Tensor) else np.reshape(x, shape)


def _unsqueeze(args: list[Value], attrs: dict) -> Value:
    x = args[0]
    rank = len(x.shape) + len(_axes(args, attrs))
    shape = list(x.shape)
    for a in sorted(a % rank for a in _axes(args, attrs)):
        shape.insert(a, 1)
    return x.reshape(*shape) if isinstance(x, Tensor) else np.reshape(x, shape)


def _transpose(args: list[Value], attrs: dict) -> Value:
    x = args[0]
    perm = attrs.get("perm", list(reversed(range(len(x.shape)))))
    return x.permute(*perm) if isinstance(x, Tensor) else np.transpose(x, perm)


def _concat(args: list[Value], attrs: dict) -> Value:
    if _all_host(args):
        return np.concatenate([np.asarray(a) for a in args], axis=attrs["axis"])
    return ops.concat([_tensor(a) for a in args], axis=attrs["axis"])


def _slice(args: list[Value], attrs: dict) -> Value:
    x = args[0]
    starts, ends = _host(args[1]), _host(args[2])
    axes = _host(args[3]) if len(args) > 3 and args[3] is not None else range(len(starts))
    steps = _host(args[4]) if len(args) > 4 and args[4] is not None else [1] * len(starts)
    index: list[Any] = [slice(None)] * len(x.shape)
    for start, end, axis, step in zip(starts, ends, axes, steps, strict=True):
        size = x.shape[int(axis)]
        # ONNX clamps huge ends (INT64_MAX stands for "to the end"); Python slices do too,
        # once they are Python integers.
        index[int(axis)] = slice(int(max(min(start, size), -size - 1)),
                                 int(max(min(end, size), -size - 1)), int(step))
    return x[tuple(index)]


def _gather(args: list[Value], attrs: dict) -> Value:
    data, indices = args
    axis = attrs.get("axis", 0)
    if not isinstance(data, Tensor):
        return np.take(np.asarray(data), _host(indices), axis=axis)
    indices = _host(indices)
    if indices.ndim == 0:  # one position along ``axis``: basic indexing
        return data[(slice(None),) * (axis % data.ndim) + (int(indices),)]
    if axis != 0 or data.ndim != 2:
        raise ValueError(f"Gather of an index array runs on a 2-D table along axis 0 (an "
                         f"embedding). Received: data {data.shape}, axis {axis}")
    return F.embedding(indices, data)


def _expand(args: list[Value], attrs: dict) -> Value:
    x = args[0]
    # ONNX broadcasts both ways: a size 1 in the wanted shape keeps the input's size.
    shape = np.broadcast_shapes(tuple(x.shape), tuple(int(n) for n in _host(args[1])))
    return ops.broadcast_to(x, shape) if isinstance(x, Tensor) else np.broadcast_to(x, shape)


def _constant_of_shape(args: list[Value], attrs: dict) -> Value:
    value = np.asarray(attrs.get("value", np.zeros(1, np.float32))).reshape(-1)
    return _value(np.full(tuple(int(n) for n in _host(args[0])), value[0], value.dtype))


def _cast(args: list[Value], attrs: dict) -> Value:
    onnx = require("onnx")
    dtype = onnx.helper.tensor_dtype_to_np_dtype(attrs["to"])
    x = args[0]
    return x.astype(dtype) if isinstance(x, Tensor) else np.asarray(x).astype(dtype)


def _batch_norm(args: list[Value], attrs: dict) -> Tensor:
    x, scale, bias, mean, var = (_tensor(a) for a in args[:5])
    return F.batch_norm(x, mean, var, scale, bias, training=False,
                        eps=attrs.get("epsilon", 1e-5))


def _prelu(args: list[Value], attrs: dict) -> Tensor:
    x, slope = _tensor(args[0]), _tensor(args[1])
    return F.prelu(x, slope.reshape(-1))


def _softmax(fn: Callable[..., Tensor]) -> Runner:
    return lambda args, attrs: fn(_tensor(args[0]), axis=attrs.get("axis", -1))


# The four gate blocks of ONNX's LSTM are i, o, f, c and PyTorch's i, f, g, o; GRU's are
# z, r, h and PyTorch's r, z, n: position k of PyTorch's order is ONNX block ORDER[k].
_TO_TORCH_ORDER = {"RNN": [0], "LSTM": [0, 2, 3, 1], "GRU": [1, 0, 2]}


def _recurrent_weights(node: Any, attrs: dict, constants: dict[str, Value]) -> tuple:
    """(w_ih, w_hh, b_ih, b_hh) in PyTorch's gate order, from the node's W, R, B."""
    kind = node.op_type
    if attrs.get("direction", "forward") not in ("forward", "reverse"):
        raise NotImplementedError(f"sj.onnx.load: {kind} direction "
                                  f"{attrs['direction']!r} is not supported")
    if attrs.get("layout", 0) or attrs.get("clip") or attrs.get("input_forget", 0):
        raise NotImplementedError(f"sj.onnx.load: {kind} with layout, clip or input_forget "
                                  "is not supported")
    if kind == "GRU" and not attrs.get("linear_before_reset", 0):
        raise NotImplementedError("sj.onnx.load: GRU needs linear_before_reset=1 (PyTorch's "
                                  "formula, which shenjing's GRU computes)")
    if len(node.input) > 4 and node.input[4]:
        raise NotImplementedError(f"sj.onnx.load: {kind} with sequence_lens is not supported")
    activations = attrs.get("activations")
    default = {"RNN": ["Tanh"], "LSTM": ["Sigmoid", "Tanh", "Tanh"],
               "GRU": ["Sigmoid", "Tanh"]}[kind]
    if activations and activations != default and not (kind == "RNN"
                                                       and activations == ["Relu"]):
        raise NotImplementedError(f"sj.onnx.load: {kind} activations {activations} are not "
                                  "supported")
    try:
        w, r = (np.asarray(constants[n].numpy()) for n in node.input[1:3])
    except KeyError:
        raise NotImplementedError(f"sj.onnx.load: {kind} weights must be initializers"
                                  ) from None
    order = _TO_TORCH_ORDER[kind]
    hidden = r.shape[-1]
    bias = (constants[node.input[3]].numpy() if len(node.input) > 3 and node.input[3]
            else np.zeros((1, 2 * len(order) * hidden), w.dtype))

    def torch_order(rows: np.ndarray) -> Tensor:
        blocks = np.split(rows, len(order), axis=0)
        return Tensor(np.ascontiguousarray(np.concatenate([blocks[k] for k in order])))

    b_ih, b_hh = np.split(bias[0], 2)
    return torch_order(w[0]), torch_order(r[0]), torch_order(b_ih), torch_order(b_hh)


def _recurrent(kind: str) -> Runner:
    def run(args: list[Value], attrs: dict) -> tuple:
        x = _tensor(args[0])
        states = [args[k][0] if len(args) > k and args[k] is not None else None
                  for k in ((5, 6) if kind == "LSTM" else (5,))]
        reverse = attrs.get("direction", "forward") == "reverse"
        common = {"batch_first": False, "reverse": reverse}
        if kind == "RNN":
            nonlinearity = "relu" if attrs.get("activations") == ["Relu"] else "tanh"
            y = ops.rnn(x, states[0], *attrs["weights"], nonlinearity=nonlinearity,
                        **common)
        elif kind == "GRU":
            y = ops.gru(x, states[0], *attrs["weights"], **common)
        else:
            both = ops.lstm(x, states[0], states[1], *attrs["weights"], **common)
            y, c = both[0], both[1]
        last = 0 if reverse else -1
        seq = y.reshape(y.shape[0], 1, *y.shape[1:])  # (T, 1 direction, N, H)
        outputs = (seq, y[last].reshape(1, *y.shape[1:]))
        if kind == "LSTM":
            outputs += (c[last].reshape(1, *c.shape[1:]),)
        return outputs
    return run


def _where(args: list[Value], attrs: dict) -> Value:
    if _all_host(args):
        return np.where(*args)
    return ops.where(_tensor(args[0]), _tensor(args[1]), _tensor(args[2]))


def _identity(args: list[Value], attrs: dict) -> Value:
    return args[0]


RUNNERS: dict[str, Runner] = {
    "Identity": _identity, "Dropout": _identity,
    "Constant": lambda args, attrs: _value(np.asarray(attrs["value"])),
    "Shape": lambda args, attrs: np.asarray(args[0].shape, dtype=np.int64),
    "ConstantOfShape": _constant_of_shape, "Cast": _cast,
    "Add": _binary(lambda a, b: a + b, np.add), "Sub": _binary(lambda a, b: a - b, np.subtract),
    "Mul": _binary(lambda a, b: a * b, np.multiply),
    "Div": _binary(lambda a, b: a / b, lambda a, b: a // b if a.dtype.kind in "iu" else a / b),
    "Pow": _binary(lambda a, b: a ** b, np.power), "MatMul": _binary(lambda a, b: a @ b, np.matmul),
    "Max": _binary(ops.maximum, np.maximum), "Min": _binary(ops.minimum, np.minimum),
    "Greater": _binary(lambda a, b: a > b, np.greater), "Where": _where,
    "Softplus": _unary(F.softplus),
    "Neg": _unary(lambda x: -x), "Exp": _unary(ops.exp), "Log": _unary(ops.log),
    "Sqrt": _unary(ops.sqrt), "Abs": _unary(ops.abs), "Erf": _unary(ops.erf),
    "Relu": _unary(F.relu), "Tanh": _unary(F.tanh), "Sigmoid": _unary(F.sigmoid),
    "LeakyRelu": lambda args, attrs: F.leaky_relu(_tensor(args[0]), attrs.get("alpha", 0.01)),
    "Elu": lambda args, attrs: F.elu(_tensor(args[0]), attrs.get("alpha", 1.0)),
    "PRelu": _prelu, "Softmax": _softmax(F.softmax), "LogSoftmax": _softmax(F.log_softmax),
    "Gemm": _gemm, "Conv": _conv, "MaxPool": _pool("MaxPool"),
    "AveragePool": _pool("AveragePool"), "BatchNormalization": _batch_norm,
    "Flatten": _flatten, "Reshape": _reshape, "Squeeze": _squeeze, "Unsqueeze": _unsqueeze,
    "Transpose": _transpose, "Expand": _expand, "Concat": _concat, "Slice": _slice,
    "Gather": _gather,
    "RNN": _recurrent("RNN"), "LSTM": _recurrent("LSTM"), "GRU": _recurrent("GRU"),
}
"""ONNX op type -> the function that runs it on shenjing tensors."""
