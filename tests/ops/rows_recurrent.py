"""Op-table rows for the fused recurrent ops (rnn, lstm, gru) and embedding.

The NumPy references are literal per-step loops over the cell equations, with the gates
sliced out of the stacked weights in PyTorch's order, so they share nothing with the
fused implementations. Shapes are tiny (T=3, N=2, I=3, H=4) so that gradcheck in float64
covers every element of x, h0, c0 and all four weight and bias tensors.
"""

from __future__ import annotations

from typing import Any

import numpy as np

import shenjing as sj
from tests.ops.opinfo import OpInfo

STEPS, BATCH, FEATURES, HIDDEN = 3, 2, 3, 4


def _sigmoid(a: np.ndarray) -> np.ndarray:
    return 0.5 * (1.0 + np.tanh(0.5 * a))  # the same function, and no exp to overflow


def _steps(x: np.ndarray, batch_first: bool, reverse: bool) -> tuple[np.ndarray, range]:
    """x as (T, N, I) and the order its steps are read in."""
    xs = x.swapaxes(0, 1) if batch_first else x
    order = range(xs.shape[0] - 1, -1, -1) if reverse else range(xs.shape[0])
    return xs, order


def _zero_bias(b: np.ndarray | None, rows: int) -> np.ndarray:
    return np.zeros(rows) if b is None else b


def rnn_ref(x, h0, w_ih, w_hh, b_ih=None, b_hh=None, nonlinearity="tanh", batch_first=True,
            reverse=False):
    """h_t = φ(x_t W_ihᵀ + b_ih + h_{t-1} W_hhᵀ + b_hh), one step at a time."""
    xs, order = _steps(x, batch_first, reverse)
    b_ih, b_hh = _zero_bias(b_ih, len(w_hh)), _zero_bias(b_hh, len(w_hh))
    out = np.empty((xs.shape[0], xs.shape[1], w_hh.shape[1]))
    h = h0
    for t in order:
        a = xs[t] @ w_ih.T + b_ih + h @ w_hh.T + b_hh
        h = np.tanh(a) if nonlinearity == "tanh" else np.maximum(a, 0.0)
        out[t] = h
    return out.swapaxes(0, 1) if batch_first else out


def lstm_ref(x, h0, c0, w_ih, w_hh, b_ih=None, b_hh=None, batch_first=True, reverse=False):
    """Gates i, f, g, o; c_t = f c_{t-1} + i g, h_t = o tanh(c_t); returns stack(h, c)."""
    xs, order = _steps(x, batch_first, reverse)
    hidden = w_hh.shape[1]
    b_ih, b_hh = _zero_bias(b_ih, len(w_hh)), _zero_bias(b_hh, len(w_hh))
    out = np.empty((2, xs.shape[0], xs.shape[1], hidden))
    h, c = h0, c0
    for t in order:
        z = xs[t] @ w_ih.T + b_ih + h @ w_hh.T + b_hh
        i = _sigmoid(z[:, :hidden])
        f = _sigmoid(z[:, hidden : 2 * hidden])
        g = np.tanh(z[:, 2 * hidden : 3 * hidden])
        o = _sigmoid(z[:, 3 * hidden :])
        c = f * c + i * g
        h = o * np.tanh(c)
        out[0, t], out[1, t] = h, c
    return out.swapaxes(1, 2) if batch_first else out


def gru_ref(x, h0, w_ih, w_hh, b_ih=None, b_hh=None, batch_first=True, reverse=False):
    """Gates r, z, n with n = tanh(W_in x + b_in + r (W_hn h + b_hn)),
    h_t = (1 − z) n + z h_{t-1}."""
    xs, order = _steps(x, batch_first, reverse)
    hidden = w_hh.shape[1]
    b_ih, b_hh = _zero_bias(b_ih, len(w_hh)), _zero_bias(b_hh, len(w_hh))
    w_ir, w_iz, w_in = np.split(w_ih, 3)
    w_hr, w_hz, w_hn = np.split(w_hh, 3)
    b_ir, b_iz, b_in = np.split(b_ih, 3)
    b_hr, b_hz, b_hn = np.split(b_hh, 3)
    out = np.empty((xs.shape[0], xs.shape[1], hidden))
    h = h0
    for t in order:
        r = _sigmoid(xs[t] @ w_ir.T + b_ir + h @ w_hr.T + b_hr)
        z = _sigmoid(xs[t] @ w_iz.T + b_iz + h @ w_hz.T + b_hz)
        n = np.tanh(xs[t] @ w_in.T + b_in + r * (h @ w_hn.T + b_hn))
        h = (1 - z) * n + z * h
        out[t] = h
    return out.swapaxes(0, 1) if batch_first else out


def _torch_ref(module_name: str) -> Any:
    """The same computation by PyTorch's nn.RNN / nn.GRU, with our tensors as its
    parameters (``functional_call``), so gradients reach them."""

    def ref(x, h0, w_ih, w_hh, b_ih=None, b_hh=None, batch_first=True, reverse=False, **kw):
        import torch
        from torch.func import functional_call

        bias = b_ih is not None
        module = getattr(torch.nn, module_name)(x.shape[-1], h0.shape[-1], bias=bias,
                                                batch_first=batch_first, **kw).double()
        params = {"weight_ih_l0": w_ih, "weight_hh_l0": w_hh}
        if bias:
            params.update(bias_ih_l0=b_ih, bias_hh_l0=b_hh)
        time_axis = 1 if batch_first else 0
        if reverse:
            x = x.flip(time_axis)
        out, _ = functional_call(module, params, (x, h0[None]))
        return out.flip(time_axis) if reverse else out

    return ref


def _shapes(gates: int, states: int, batch_first: bool, bias: bool = True) -> list[tuple]:
    x = (BATCH, STEPS, FEATURES) if batch_first else (STEPS, BATCH, FEATURES)
    rows = gates * HIDDEN
    weights = ((rows, FEATURES), (rows, HIDDEN))
    biases = ((rows,), (rows,)) if bias else ()
    return [(x, *[(BATCH, HIDDEN)] * states, *weights, *biases)]


def _torch_embedding(indices, weight):
    import torch

    return torch.nn.functional.embedding(indices, weight)


def _embedding_inputs(shapes, rng):
    indices = np.array([[0, 3, 3], [4, 3, 0]])  # repeats: 3 three times, 0 twice
    return [indices, rng.uniform(-1, 1, size=shapes[1])]


TIME_MAJOR_REVERSED = {"batch_first": False, "reverse": True}

ROWS = [
    OpInfo("rnn-tanh", sj.rnn, rnn_ref, _shapes(1, 1, True), domain=(-1, 1),
           torch_ref=_torch_ref("RNN")),
    OpInfo("rnn-tanh-time-major-reversed", sj.rnn, rnn_ref, _shapes(1, 1, False),
           domain=(-1, 1), kwargs=TIME_MAJOR_REVERSED, torch_ref=_torch_ref("RNN")),
    OpInfo("rnn-relu", sj.rnn, rnn_ref, _shapes(1, 1, True), domain=(-1, 1),
           kwargs={"nonlinearity": "relu"}, torch_ref=_torch_ref("RNN")),
    OpInfo("rnn-no-bias", sj.rnn, rnn_ref, _shapes(1, 1, True, bias=False), domain=(-1, 1),
           torch_ref=_torch_ref("RNN")),
    OpInfo("lstm", sj.lstm, lstm_ref, _shapes(4, 2, True), domain=(-1, 1)),
    OpInfo("lstm-time-major-reversed", sj.lstm, lstm_ref, _shapes(4, 2, False),
           domain=(-1, 1), kwargs=TIME_MAJOR_REVERSED),
    OpInfo("lstm-no-bias", sj.lstm, lstm_ref, _shapes(4, 2, True, bias=False),
           domain=(-1, 1)),
    OpInfo("gru", sj.gru, gru_ref, _shapes(3, 1, True), domain=(-1, 1),
           torch_ref=_torch_ref("GRU")),
    OpInfo("gru-time-major-reversed", sj.gru, gru_ref, _shapes(3, 1, False), domain=(-1, 1),
           kwargs=TIME_MAJOR_REVERSED, torch_ref=_torch_ref("GRU")),
    OpInfo("gru-no-bias", sj.gru, gru_ref, _shapes(3, 1, True, bias=False), domain=(-1, 1),
           torch_ref=_torch_ref("GRU")),
    OpInfo("embedding-repeated-indices", sj.embedding, lambda idx, w: w[idx],
           [((2, 3), (5, 4))], make_inputs=_embedding_inputs,
           torch_ref=_torch_embedding),
]
