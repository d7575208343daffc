"""Recurrent networks over a whole sequence: Elman RNN, LSTM and GRU, one fused op each.

Each op takes the whole input sequence and the weights, runs the recurrence in one Python
loop over the time steps and returns every hidden state; its backward is backpropagation
through time (BPTT), written by hand. The graph gets one node per layer and direction
however long the sequence is, so ``backward()`` neither recurses nor keeps per-step
bookkeeping.

Where the time goes, and what is done about it (float32 throughout):

- each step's inputs sit side by side as S_t = [h_{t-1} x_t 1] (the LSTM writes h_t
  straight into S_{t+1}; the RNN, whose elementwise math reads h_t and runs slower on
  strided rows, copies it there), so a step's whole pre-activation is one GEMM,
  S_t [W_hh W_ih b]ᵀ, the column of ones carrying the bias; the GRU, whose n gate
  needs x's and h's parts apart, projects x for all steps in one GEMM instead, and
  its recurrent GEMM reads its own contiguous states, so S holds no h_t for it;
- states, gates and deltas live in arrays allocated once for all steps, and the loops
  update them in place;
- the per-step deltas δ_t (gradients of the gate pre-activations) are stacked into Δ of
  shape (T·N, G·H), so the weight gradients are one GEMM after the loop:
  [gW_hh gW_ih gb] = Σ_t δ_tᵀ S_t = Δᵀ S, and gx = Δ W_ih;
- the LSTM and GRU keep each step's gates gate-major, (G, N, H), so that their
  elementwise math runs over contiguous blocks: on a gate's strided (N, H) slice of the
  (N, G·H) GEMM output, NumPy takes two to three times as long per element; the GEMMs
  write them so directly, from weights held gate-major, (G, K, H), as G GEMMs in one
  broadcast matmul call;
- a step's gates come from one tanh over the gate block (NumPy's SIMD tanh costs less
  than exp here), σ(z) = ½·tanh(z/2) + ½ with the σ gates' weight rows pre-scaled by ½
  (exact), so no extra pass is needed; the step's GEMM reads a contiguous copy of the
  weights, not a transposed view, which it ran a fifth slower on;
- backward skips the steps whose output gradient is zero (a classifier reads only h_T);
- without a gradient for the initial state, backward skips its last recurrent GEMM;
- with the CPU kernel tier on (``shenjing.kernels``), the LSTM's and GRU's elementwise
  work of a step is one compiled loop forward and one backward (``_numba_recurrent``).
  The CPU LSTM keeps its stacked GEMM: projecting x for all steps in one GEMM (K = I + 1)
  and leaving K = H to the step's GEMM was measured (28×28→128, batch 64, one core):
  BLAS ran both at about the stacked GEMM's rate, so the step GEMMs saved no more than
  the projection cost, and the forward was no faster (``git log`` of this file);
- on a GPU (CuPy) both the LSTM and the GRU project x for all steps in one GEMM,
  [x_t 1] [W_ih b]ᵀ for every t at once, and a step is its recurrent GEMM plus one
  CuPy kernel forward and one backward (``_cuda_kernels``): launches, not arithmetic,
  set a GPU step's time at these sizes.

Shapes: x is (N, T, I) when ``batch_first`` (the default, as for the layers) else
(T, N, I); h0 and c0 are (N, H); W_ih is (G·H, I), W_hh is (G·H, H) and the biases
(G·H,), with the G = 1, 4 or 3 gate blocks of RNN, LSTM and GRU stacked in PyTorch's
order, so PyTorch's weights can be used as they are.
"""

from __future__ import annotations

from typing import Any

from shenjing import _bfloat16
from shenjing.backend import get_array_module
from shenjing.ops import _cuda_kernels as cuda_kernels
from shenjing.ops import _numba_recurrent as cpu_kernels
from shenjing.ops._recurrence import (
    Recurrence,
    caller_layout,
    gate_biases,
    gate_major,
    live_steps,
    stacked_weights,
    time_major,
)
from shenjing.ops.recurrent_gru import GRUSequence
from shenjing.tensor import Tensor

__all__ = ["gru", "lstm", "rnn"]


# --------------------------------------------------------------------- Elman RNN


class RNNSequence(Recurrence):
    """The Elman RNN over a sequence, h_0 = h0 and for t = 1..T:

        a_t = x_t W_ihᵀ + b_ih + h_{t-1} W_hhᵀ + b_hh,   h_t = φ(a_t),

    φ = tanh (or relu); y = (h_1, ..., h_T).

    Backward (BPTT), from t = T down to 1, with gh_t = gy_t + δ_{t+1} W_hh
    (δ_{T+1} = 0):  δ_t = gh_t ⊙ φ′(a_t),  φ′ = 1 − h_t² for tanh, [h_t > 0] for relu;
    then gh0 = δ_1 W_hh, gx_t = δ_t W_ih, gW_ih = Σ δ_tᵀ x_t, gW_hh = Σ δ_tᵀ h_{t-1},
    gb_ih = gb_hh = Σ δ_t.
    """

    def forward(self, x: Any, h0: Any, w_ih: Any, w_hh: Any, b_ih: Any = None,
                b_hh: Any = None, *, nonlinearity: str, batch_first: bool,
                reverse: bool) -> Any:
        xp = get_array_module(x)
        self.nonlinearity, self.w_ih, self.w_hh = nonlinearity, w_ih, w_hh
        b_ih, b_hh = gate_biases(xp, b_ih, b_hh, w_hh.shape[0], x.dtype)
        batch, hidden = h0.shape
        stacked = self._stack_inputs(x, h0, batch_first, reverse)
        steps = stacked.shape[0] - 1
        hs = xp.empty((steps + 1, batch, hidden), dtype=x.dtype)  # hs[t] = h_t
        hs[0] = h0
        # NOTE: contiguous, not a transposed view (see the module's docstring).
        weights_t = xp.ascontiguousarray(stacked_weights(w_hh, w_ih, b_ih + b_hh).T)
        for t in range(steps):
            h = hs[t + 1]
            xp.matmul(stacked[t], weights_t, out=h)
            if nonlinearity == "tanh":
                xp.tanh(h, out=h)
            else:
                xp.maximum(h, 0, out=h)
            stacked[t + 1, :, :hidden] = h
        self.hs = hs
        return caller_layout(hs[1:], batch_first, reverse)

    def backward(self, gy: Any) -> tuple[Any, ...]:
        xp = get_array_module(gy)
        gys = time_major(gy, self.batch_first, self.reverse)
        steps, batch, hidden = gys.shape
        hs, w_hh = self.hs, self.w_hh
        # NOTE: φ′ is taken from the output h_t (1 − h² for tanh), not from a_t. These
        # arrays are contiguous, so φ′ for all steps at once is one cheap pass.
        if self.nonlinearity == "tanh":
            deltas = xp.multiply(hs[1:], hs[1:])
            xp.subtract(1.0, deltas, out=deltas)
        else:
            deltas = (hs[1:] > 0).astype(hs.dtype)
        last = 0 if self._needs_state_grad() else 1
        gh = xp.zeros((batch, hidden), dtype=gy.dtype)  # δ_{t+1} W_hh, then gh_t
        for t in range(steps - 1, -1, -1):
            gh += gys[t]
            delta = deltas[t]
            delta *= gh
            if t >= last:
                xp.matmul(delta, w_hh, out=gh)
        delta_2d = deltas.reshape(steps * batch, hidden)
        gx, gw_ih, gw_hh, *gb = self._gemm_grads(delta_2d, delta_2d, self.w_ih)
        return (gx, gh, gw_ih, gw_hh, *gb)


# -------------------------------------------------------------------------- LSTM


_LSTM_GATE_SCALE = (0.5, 0.5, 1.0, 0.5)


class LSTMSequence(Recurrence):
    """The LSTM over a sequence, with PyTorch's gate order i, f, g, o in the stacked
    weights: h_0 = h0, c_0 = c0 and for t = 1..T, with z_t = x_t W_ihᵀ + b_ih +
    h_{t-1} W_hhᵀ + b_hh split into four blocks of H,

        i = σ(z_i),  f = σ(z_f),  g = tanh(z_g),  o = σ(z_o),
        c_t = f ⊙ c_{t-1} + i ⊙ g,   h_t = o ⊙ tanh(c_t);

    y = stack(h_1..h_T, c_1..c_T), shape (2, N, T, H) (or (2, T, N, H)).

    Backward, from t = T down to 1, with gh_t = gy^h_t + δ_{t+1} W_hh and
    gc_t = gy^c_t + gc_{t+1} ⊙ f_{t+1} + gh_t ⊙ o ⊙ (1 − tanh²(c_t)):

        δ_i = gc_t ⊙ g ⊙ i(1−i),   δ_f = gc_t ⊙ c_{t-1} ⊙ f(1−f),
        δ_g = gc_t ⊙ i ⊙ (1−g²),   δ_o = gh_t ⊙ tanh(c_t) ⊙ o(1−o);

    then gh0 = δ_1 W_hh, gc0 = gc_1 ⊙ f_1, and the GEMM gradients of the module.
    """

    n_states = 2

    def forward(self, x: Any, h0: Any, c0: Any, w_ih: Any, w_hh: Any, b_ih: Any = None,
                b_hh: Any = None, *, batch_first: bool, reverse: bool) -> Any:
        xp = get_array_module(x)
        self.w_ih, self.w_hh = w_ih, w_hh
        b_ih, b_hh = gate_biases(xp, b_ih, b_hh, w_hh.shape[0], x.dtype)
        batch, hidden = h0.shape
        # One tanh per step gives all four gates: the pre-activations are computed with
        # the weight rows of i, f, o scaled by ½ (exact in floating point), so their
        # blocks hold z/2 and σ(z) = ½·tanh(z/2) + ½ (see ``sigmoid_of_halved_``).
        scale = xp.asarray(_LSTM_GATE_SCALE, dtype=x.dtype).repeat(hidden)
        stacked = self._stack_inputs(x, h0, batch_first, reverse)
        if cuda_kernels.usable(x):  # on a GPU: input projections as one GEMM
            return self._forward_on_gpu(stacked, h0, c0, w_ih, w_hh, b_ih + b_hh, scale)
        steps = stacked.shape[0] - 1
        hs = stacked[:, :, :hidden]  # hs[0] = h0 and hs[t] = h_t
        # The weights gate-major, (4, H+I+1, H): one matmul call then writes a step's
        # pre-activations gate-major, as four GEMMs broadcasting S_t, with no transposing
        # pass over a row-major (N, 4H) result (a tenth faster for the GEMM and the tanh).
        weights_gm = gate_major(stacked_weights(w_hh, w_ih, b_ih + b_hh, scale), 4)
        # hc[0, t] = h_t and hc[1, t] = c_t, with the initial states at t = 0.
        hc = xp.empty((2, steps + 1, batch, hidden), dtype=x.dtype)
        cs = hc[1]
        cs[0] = c0
        gates = xp.empty((steps, 4, batch, hidden), dtype=x.dtype)  # gate-major steps
        tanh_c = xp.empty((steps, batch, hidden), dtype=x.dtype)
        i_times_g = xp.empty((batch, hidden), dtype=x.dtype)
        self.on_kernels = cpu_kernels.wanted(x)  # on the CPU kernel tier: one loop per step
        for t in range(steps):
            z = gates[t]
            xp.matmul(stacked[t], weights_gm, out=z)
            if self.on_kernels:  # h_t goes to hc[0] (contiguous), then into S
                cpu_kernels.lstm_step_forward(z, cs[t], cs[t + 1], tanh_c[t], hc[0, t + 1],
                                              scale.dtype.type(0.5))
                hs[t + 1] = hc[0, t + 1]
                continue
            xp.tanh(z, out=z)
            i, f, g, o = z
            for sigma in (z[:2], o):  # i and f, then o: σ = ½·tanh + ½
                sigma *= 0.5
                sigma += 0.5
            c = cs[t + 1]
            xp.multiply(f, cs[t], out=c)
            xp.multiply(i, g, out=i_times_g)
            c += i_times_g
            xp.tanh(c, out=tanh_c[t])
            xp.multiply(o, tanh_c[t], out=hs[t + 1])
        if not self.on_kernels:
            hc[0] = hs
        else:
            hc[0, 0] = h0
        self.gates, self.hc, self.tanh_c = gates, hc, tanh_c
        return caller_layout(hc[:, 1:], batch_first, reverse)

    def _forward_on_gpu(self, stacked: Any, h0: Any, c0: Any, w_ih: Any, w_hh: Any,
                        bias: Any, scale: Any) -> Any:
        """The forward with CuPy kernels (``_cuda_kernels``): every step's input
        projection [x_t 1] [W_ih b]ᵀ first, as one GEMM; then per step the recurrent
        GEMM h_{t-1} W_hhᵀ (a plain 2-D GEMM) and one kernel for the gates, c_t and h_t."""
        xp = get_array_module(stacked)
        self.on_kernels = False
        steps = stacked.shape[0] - 1
        batch, hidden = h0.shape
        w_in = xp.concatenate([w_ih, bias[:, None]], axis=1) * scale[:, None]  # (4H, I+1)
        inputs = stacked[:steps].reshape(steps * batch, -1)[:, hidden:]  # [x_t 1], all t
        projected = xp.matmul(inputs, w_in.T).reshape(steps, batch, 4 * hidden)
        # (H, 4H), contiguous: the step's GEMM is one plain 2-D GEMM, no broadcast.
        w_hh_t = xp.ascontiguousarray((w_hh * scale[:, None]).T)
        hc = xp.empty((2, steps + 1, batch, hidden), dtype=stacked.dtype)
        hc[0, 0], hc[1, 0] = h0, c0
        hs, cs = hc
        gates = xp.empty((steps, 4, batch, hidden), dtype=stacked.dtype)
        tanh_c = xp.empty((steps, batch, hidden), dtype=stacked.dtype)
        recurrent = xp.empty((batch, 4 * hidden), dtype=stacked.dtype)
        for t in range(steps):
            xp.matmul(hs[t], w_hh_t, out=recurrent)
            cuda_kernels.lstm_step_forward_projected(xp, recurrent, projected[t], cs[t],
                                                     gates[t], cs[t + 1], tanh_c[t], hs[t + 1])
        stacked[1:, :, :hidden] = hs[1:]  # S's h_{t-1}, for the weight gradients' GEMM
        self.gates, self.hc, self.tanh_c = gates, hc, tanh_c
        return caller_layout(hc[:, 1:], self.batch_first, self.reverse)

    def backward(self, gy: Any) -> tuple[Any, ...]:
        xp = get_array_module(gy)
        gy_h, gy_c = time_major(gy, self.batch_first, self.reverse)
        gates, tanh_c = self.gates, self.tanh_c
        cs = self.hc[1]
        steps, _, batch, hidden = gates.shape
        deltas = xp.empty((steps, batch, 4 * hidden), dtype=gy.dtype)  # Δ, row-major
        last = 0 if self._needs_state_grad() else 1
        if cuda_kernels.usable(gy) or self.on_kernels:
            return self._backward_fused(deltas, gy_h, gy_c, last)
        # What multiplies gc_t (for i, f, g) or gh_t (for o) in δ_t depends on the forward
        # values alone, so it is computed for all steps at once, outside the loop: a few
        # calls on big arrays instead of many on one step's blocks.
        # NOTE: σ′ = σ(1 − σ) and tanh′ = 1 − tanh², from the saved gate outputs.
        factor = xp.multiply(gates, gates)  # (T, 4, N, H)
        xp.subtract(gates[:, :2], factor[:, :2], out=factor[:, :2])  # i, f
        xp.subtract(gates[:, 3], factor[:, 3], out=factor[:, 3])  # o
        xp.subtract(1.0, factor[:, 2], out=factor[:, 2])  # g
        factor[:, 0::2] *= gates[:, 2::-2]  # δ_i gets g and δ_g gets i, in one call
        factor[:, 1] *= cs[:-1]  # c_{t-1}
        # gc_t gets gh_t ⊙ o ⊙ (1 − tanh²(c_t)) through h_t = o ⊙ tanh(c_t).
        h_to_c = xp.multiply(tanh_c, tanh_c)
        xp.subtract(1.0, h_to_c, out=h_to_c)
        h_to_c *= gates[:, 3]
        factor[:, 3] *= tanh_c
        gh = xp.zeros((batch, hidden), dtype=gy.dtype)  # δ_{t+1} W_hh, then gh_t
        gc = xp.zeros((batch, hidden), dtype=gy.dtype)  # gc_{t+1} ⊙ f_{t+1}, then gc_t
        # Skip the steps whose output gradient is zero: a classifier reads only h_T, and
        # nothing reads c, so most of gy is zeros; adding its strided rows each step cost
        # more than finding the live steps once.
        live_h, live_c = (live_steps(xp, g) for g in (gy_h, gy_c))
        for t in range(steps - 1, -1, -1):
            if live_h[t]:
                gh += gy_h[t]
            if live_c[t]:
                gc += gy_c[t]
            through_h = h_to_c[t]  # used up here: becomes gh_t ⊙ o ⊙ (1 − tanh²(c_t))
            through_h *= gh
            gc += through_h
            delta = deltas[t]
            delta_gm = delta.reshape(batch, 4, hidden).transpose(1, 0, 2)
            xp.multiply(factor[t, :3], gc, out=delta_gm[:3])
            xp.multiply(factor[t, 3], gh, out=delta_gm[3])
            if t >= last:
                gc *= gates[t, 1]  # f
                xp.matmul(delta, self.w_hh, out=gh)
        return self._grads(deltas, gh, gc)

    def _backward_fused(self, deltas: Any, gy_h: Any, gy_c: Any, last: int) -> tuple[Any, ...]:
        """The backward on a GPU (``_cuda_kernels``) or the CPU kernel tier
        (``_numba_recurrent``): one kernel per step for its deltas."""
        xp = get_array_module(deltas)
        gates, tanh_c, cs = self.gates, self.tanh_c, self.hc[1]
        gh = xp.zeros(gy_h.shape[1:], dtype=deltas.dtype)
        gc = xp.zeros(gy_h.shape[1:], dtype=deltas.dtype)
        one = deltas.dtype.type(1)
        if self.on_kernels:
            # Contiguous blocks (the kernel's dispatch is then cheap), copied one step at a
            # time and only where the gradient is nonzero: a classifier reads h_T alone,
            # and copying the whole (mostly zero) gy cost more than finding its live steps.
            zero = xp.zeros(gh.shape, dtype=gh.dtype)
            live_h, live_c = (live_steps(xp, g) for g in (gy_h, gy_c))
        for t in range(deltas.shape[0] - 1, -1, -1):
            if self.on_kernels:
                gy_ht = xp.ascontiguousarray(gy_h[t]) if live_h[t] else zero
                gy_ct = xp.ascontiguousarray(gy_c[t]) if live_c[t] else zero
                cpu_kernels.lstm_step_backward(gates[t], tanh_c[t], cs[t], gy_ht, gy_ct,
                                               gh, gc, deltas[t], t >= last, one)
            else:
                cuda_kernels.lstm_step_backward(xp, gates[t], tanh_c[t], cs[t], gy_h[t],
                                                gy_c[t], gh, gc, deltas[t], t >= last)
            if t >= last:
                xp.matmul(deltas[t], self.w_hh, out=gh)
        return self._grads(deltas, gh, gc)

    def _grads(self, deltas: Any, gh: Any, gc: Any) -> tuple[Any, ...]:
        """All the gradients from the steps' deltas Δ and the initial states' gh, gc."""
        delta_2d = deltas.reshape(-1, deltas.shape[-1])
        gx, gw_ih, gw_hh, *gb = self._gemm_grads(delta_2d, delta_2d, self.w_ih)
        return (gx, gh, gc, gw_ih, gw_hh, *gb)


# ----------------------------------------------------------------- the functions


def _states_and_weights(op: str, gates: int, x: Tensor, states: dict[str, Tensor | None],
                        w_ih: Tensor, w_hh: Tensor, b_ih: Tensor | None,
                        b_hh: Tensor | None, batch_first: bool) -> list[Tensor]:
    """Check shapes and dtypes; return the op's inputs, zeros for missing states."""
    layout = "(batch, seq, input_size)" if batch_first else "(seq, batch, input_size)"
    if x.ndim != 3:
        raise ValueError(f"{op}: expects a 3-D input {layout}. Received: shape={x.shape}")
    batch, steps = (x.shape[0], x.shape[1]) if batch_first else (x.shape[1], x.shape[0])
    if steps == 0:
        raise ValueError(f"{op}: the sequence is empty. Received: shape={x.shape}")
    if w_hh.ndim != 2 or w_hh.shape[0] != gates * w_hh.shape[1]:
        raise ValueError(
            f"{op}: w_hh must have shape ({gates}·hidden_size, hidden_size). "
            f"Received: shape={w_hh.shape}"
        )
    hidden = w_hh.shape[1]
    expected_w_ih = (gates * hidden, x.shape[-1])
    if w_ih.shape != expected_w_ih:
        raise ValueError(
            f"{op}: expected w_ih of shape {expected_w_ih} (input_size {x.shape[-1]}, "
            f"hidden_size {hidden}). Received: shape={w_ih.shape}"
        )
    if (b_ih is None) != (b_hh is None):
        raise ValueError(f"{op}: give both b_ih and b_hh, or neither")
    biases = [] if b_ih is None else [b_ih, b_hh]
    for name, b in zip(("b_ih", "b_hh"), biases, strict=False):
        if b.shape != (gates * hidden,):
            raise ValueError(
                f"{op}: expected {name} of shape {(gates * hidden,)}. Received: shape={b.shape}"
            )
    tensors = []
    for name, state in states.items():
        if state is None:
            state = Tensor._make(get_array_module(x.array).zeros((batch, hidden), x.dtype), None)
        elif state.shape != (batch, hidden):
            raise ValueError(
                f"{op}: expected {name} of shape {(batch, hidden)} (batch, hidden_size). "
                f"Received: shape={state.shape}"
            )
        tensors.append(state)
    inputs = [x, *tensors, w_ih, w_hh, *biases]
    if _bfloat16.kind(x.dtype) != "f" or any(t.dtype != x.dtype for t in inputs):
        dtypes = ", ".join(str(t.dtype) for t in inputs)
        raise TypeError(f"{op}: every input must have one floating dtype. Received: {dtypes}")
    return inputs


def rnn(x: Tensor, h0: Tensor | None, w_ih: Tensor, w_hh: Tensor, b_ih: Tensor | None = None,
        b_hh: Tensor | None = None, nonlinearity: str = "tanh", batch_first: bool = True,
        reverse: bool = False) -> Tensor:
    """Every hidden state of an Elman RNN, h_t = tanh(x_t W_ihᵀ + b_ih + h_{t-1} W_hhᵀ +
    b_hh) (or relu), over the whole sequence in one op.

    Args:
        x: (N, T, I) when ``batch_first`` (the default), else (T, N, I).
        h0: the initial state (N, H); None means zeros.
        w_ih, w_hh: (H, I) and (H, H), as PyTorch's ``weight_ih_l0``, ``weight_hh_l0``.
        b_ih, b_hh: (H,) each, or both None.
        nonlinearity: "tanh" or "relu".
        reverse: run from the last step to the first (the backward direction of a
            bidirectional layer); the outputs stay aligned with the input steps.

    Returns:
        h_1..h_T as (N, T, H) (or (T, N, H)).

    Example:
        >>> import shenjing as sj
        >>> x, w_ih, w_hh = sj.randn(2, 5, 3), sj.randn(4, 3), sj.randn(4, 4)
        >>> sj.rnn(x, None, w_ih, w_hh).shape
        (2, 5, 4)
    """
    if nonlinearity not in ("tanh", "relu"):
        raise ValueError(f"rnn: nonlinearity must be 'tanh' or 'relu'. Received: {nonlinearity!r}")
    inputs = _states_and_weights("rnn", 1, x, {"h0": h0}, w_ih, w_hh, b_ih, b_hh, batch_first)
    return RNNSequence.apply(*inputs, nonlinearity=nonlinearity, batch_first=batch_first,
                             reverse=reverse)


def lstm(x: Tensor, h0: Tensor | None, c0: Tensor | None, w_ih: Tensor, w_hh: Tensor,
         b_ih: Tensor | None = None, b_hh: Tensor | None = None, batch_first: bool = True,
         reverse: bool = False) -> Tensor:
    """Every hidden and cell state of an LSTM (gates i, f, g, o as in PyTorch):
    c_t = f ⊙ c_{t-1} + i ⊙ g,  h_t = o ⊙ tanh(c_t), over the whole sequence in one op.

    Args:
        x: (N, T, I) when ``batch_first`` (the default), else (T, N, I).
        h0, c0: the initial states (N, H); None means zeros.
        w_ih, w_hh: (4H, I) and (4H, H); b_ih, b_hh: (4H,) each, or both None.
        reverse: run from the last step to the first; outputs stay aligned with the input.

    Returns:
        (2, N, T, H) (or (2, T, N, H)): index 0 holds h_1..h_T, index 1 c_1..c_T.

    Example:
        >>> import shenjing as sj
        >>> x, w_ih, w_hh = sj.randn(2, 5, 3), sj.randn(16, 3), sj.randn(16, 4)
        >>> sj.lstm(x, None, None, w_ih, w_hh).shape
        (2, 2, 5, 4)
    """
    inputs = _states_and_weights("lstm", 4, x, {"h0": h0, "c0": c0}, w_ih, w_hh, b_ih, b_hh,
                                 batch_first)
    return LSTMSequence.apply(*inputs, batch_first=batch_first, reverse=reverse)


def gru(x: Tensor, h0: Tensor | None, w_ih: Tensor, w_hh: Tensor, b_ih: Tensor | None = None,
        b_hh: Tensor | None = None, batch_first: bool = True, reverse: bool = False) -> Tensor:
    """Every hidden state of a GRU (gates r, z, n and PyTorch's formula for n:
    n = tanh(W_in x + b_in + r ⊙ (W_hn h + b_hn)), h_t = (1 − z) ⊙ n + z ⊙ h_{t-1}).

    Args:
        x: (N, T, I) when ``batch_first`` (the default), else (T, N, I).
        h0: the initial state (N, H); None means zeros.
        w_ih, w_hh: (3H, I) and (3H, H); b_ih, b_hh: (3H,) each, or both None.
        reverse: run from the last step to the first; outputs stay aligned with the input.

    Returns:
        h_1..h_T as (N, T, H) (or (T, N, H)).

    Example:
        >>> import shenjing as sj
        >>> x, w_ih, w_hh = sj.randn(2, 5, 3), sj.randn(12, 3), sj.randn(12, 4)
        >>> sj.gru(x, None, w_ih, w_hh).shape
        (2, 5, 4)
    """
    inputs = _states_and_weights("gru", 3, x, {"h0": h0}, w_ih, w_hh, b_ih, b_hh, batch_first)
    return GRUSequence.apply(*inputs, batch_first=batch_first, reverse=reverse)
