"""ONNX mapping entries for the recurrent ops, as ONNX's own RNN, LSTM and GRU nodes.

shenjing keeps PyTorch's gate order (LSTM i, f, g, o; GRU r, z, n); ONNX stacks the gates
as i, o, f, c (LSTM) and z, r, h (GRU), so the weight rows are reordered at export, and
ONNX's GRU runs with ``linear_before_reset=1``, which is PyTorch's formula
n = tanh(W_in x + b_in + r ⊙ (W_hn h + b_hn)).

An ONNX node reads time-major input (T, N, I) and returns Y of shape (T, 1, N, H) for
one direction, which is transposed back for ``batch_first``.
"""

from __future__ import annotations

import numpy as np

from shenjing.graph.symbolic import Operation, SymbolicTensor
from shenjing.onnx.context import ExportContext, ExportError
from shenjing.onnx.map_basic import Entry

_GATE_ORDER = {"RNNSequence": [0], "LSTMSequence": [0, 3, 1, 2], "GRUSequence": [1, 0, 2]}
_ONNX_TYPE = {"RNNSequence": "RNN", "LSTMSequence": "LSTM", "GRUSequence": "GRU"}


def _fixed(ctx: ExportContext, op: Operation, t: SymbolicTensor) -> np.ndarray:
    value = ctx.value(t)
    if value is None:
        raise ExportError(f"onnx export: {op.type} {op.name!r} needs fixed weights (parameters"
                          f" or constants); {t.name!r} is computed")
    return value


def _reorder(array: np.ndarray, order: list[int]) -> np.ndarray:
    """Rows of gate blocks in shenjing's order -> ONNX's, with a leading direction axis."""
    blocks = np.split(array, len(order), axis=0)
    return np.concatenate([blocks[k] for k in order], axis=0)[None]


def _initial_state(ctx: ExportContext, t: SymbolicTensor, hint: str) -> str:
    """A zero initial state is ONNX's default (left out, so the batch stays dynamic);
    any other is given with its direction axis."""
    value = ctx.value(t)
    if value is not None and not value.any():
        return ""
    return ctx.add("Unsqueeze", [ctx.name(t), ctx.ints([0], "axes")], hint)


def _check_cell_sequence_use(ctx: ExportContext, op: Operation) -> None:
    """An ONNX LSTM returns the cell state of the last step only: the traced model may read
    the cell sequence (index 1 of the output) only there."""
    batch_first, reverse = op.params["batch_first"], op.params["reverse"]
    last = 0 if reverse else -1
    wanted = [(slice(None), last)] if batch_first else [last, (last,)]
    for reader in ctx.consumers(op.outputs[0]):
        index = reader.params.get("index") if reader.type == "GetItem" else None
        if index in (0, (0,)):
            continue
        if index in (1, (1,)) and not ctx.is_output(reader.outputs[0]) and all(
                r.type == "GetItem" and _same_index(r.params["index"], wanted)
                for r in ctx.consumers(reader.outputs[0])):
            continue
        raise ExportError(
            f"onnx export: LSTMSequence {op.name!r} is read as {reader.type} "
            f"{reader.params.get('index', '')!r}; ONNX's LSTM gives the hidden sequence and "
            "only the last cell state, so only those can be exported")


def _same_index(index: object, wanted: list) -> bool:
    return any(index == w for w in wanted)


def recurrent(ctx: ExportContext, op: Operation) -> str:
    kind = op.type
    cell_inputs = 3 if kind == "LSTMSequence" else 2  # x, h0 (, c0)
    x, *states = op.inputs[:cell_inputs]
    w_ih, w_hh, *biases = op.inputs[cell_inputs:]
    order = _GATE_ORDER[kind]
    hidden = w_hh.shape[1]
    w = _reorder(_fixed(ctx, op, w_ih), order)
    r = _reorder(_fixed(ctx, op, w_hh), order)
    if biases:
        b_ih, b_hh = (_fixed(ctx, op, t) for t in biases)
    else:
        b_ih = b_hh = np.zeros(w_hh.shape[0], w.dtype)
    b = np.concatenate([_reorder(b_ih, order), _reorder(b_hh, order)], axis=1)
    batch_first, reverse = op.params["batch_first"], op.params["reverse"]
    if kind == "LSTMSequence":
        _check_cell_sequence_use(ctx, op)
    attrs: dict = {"hidden_size": int(hidden),
                   "direction": "reverse" if reverse else "forward"}
    if kind == "GRUSequence":
        attrs["linear_before_reset"] = 1
    if kind == "RNNSequence":
        attrs["activations"] = ["Relu" if op.params["nonlinearity"] == "relu" else "Tanh"]
    seq = ctx.name(x)
    if batch_first:
        seq = ctx.add("Transpose", [seq], op.name, perm=[1, 0, 2])
    inputs = [seq, ctx.constant(w, f"{op.name}_W"), ctx.constant(r, f"{op.name}_R"),
              ctx.constant(b, f"{op.name}_B"), ""]
    inputs += [_initial_state(ctx, s, op.name) for s in states]
    outputs = 3 if kind == "LSTMSequence" else 1
    node_out = ctx.add(_ONNX_TYPE[kind], inputs, op.name, outputs=outputs, **attrs)
    y = node_out[0] if outputs > 1 else node_out
    axes = ctx.ints([1], "axes")
    h_seq = ctx.add("Squeeze", [y, axes], op.name)  # (T, N, H)
    if batch_first:
        h_seq = ctx.add("Transpose", [h_seq], op.name, perm=[1, 0, 2])
    if kind != "LSTMSequence":
        return h_seq
    # The cell "sequence" holds the last cell state at every step; the check above made
    # sure only the last step is read.
    c_last = node_out[2]  # (1, N, H): time-major already, with one step
    if batch_first:
        c_last = ctx.add("Transpose", [c_last], op.name, perm=[1, 0, 2])
    c_seq = ctx.add("Expand", [c_last, ctx.add("Shape", [h_seq], op.name)], op.name)
    both = [ctx.add("Unsqueeze", [s, ctx.ints([0], "axes")], op.name) for s in (h_seq, c_seq)]
    return ctx.add("Concat", both, op.name, axis=0)


ENTRIES: dict[str, Entry] = dict.fromkeys(_GATE_ORDER, recurrent)
"""Op class name -> mapping entry."""
