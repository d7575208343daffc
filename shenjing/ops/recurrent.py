"""Recurrent networks over a whole sequence: Elman RNN, LSTM and GRU, one fused op each.

Each op takes the whole input sequence and the weights, runs the recurrence in one Python
loop over the time steps and returns every hidden state; its backward is backpropagation
through time (BPTT), written by hand. The graph gets one node per layer and direction
however long the sequence is, so ``backward()`` neither recurses nor keeps per-step
bookkeeping.

Where the time goes, and what is done about it:

- the input projection x_t W_ihᵀ + b of *all* steps is one GEMM, (T·N, I) @ (I, G·H),
  before the loop; inside the loop only the recurrent GEMM h_{t-1} W_hhᵀ is left;
- gates and states live in arrays allocated once for all steps and updated in place;
- the derivative factors that do not depend on the incoming gradient (σ′, tanh′ and what
  they multiply) are computed for all steps at once before the backward loop, which then
  only scales them and does the recurrent GEMM δ_t W_hh;
- the per-step deltas δ_t (gradients of the gate pre-activations) are stacked into Δ of
  shape (T·N, G·H), so each weight gradient is one GEMM after the loop:
  gW_ih = Σ_t δ_tᵀ x_t = Δᵀ X,  gW_hh = Σ_t δ_tᵀ h_{t-1} = Δᵀ H_prev,  gx = Δ W_ih.

Shapes: x is (N, T, I) when ``batch_first`` (the default, as for the layers) else
(T, N, I); h0 and c0 are (N, H); W_ih is (G·H, I), W_hh is (G·H, H) and the biases
(G·H,), with the G = 1, 4 or 3 gate blocks of RNN, LSTM and GRU stacked in PyTorch's
order, so PyTorch's weights can be used as they are.
"""

from __future__ import annotations

from typing import Any

from shenjing.autograd.function import Function
from shenjing.backend import get_array_module
from shenjing.tensor import Tensor

__all__ = ["gru", "lstm", "rnn"]


# ---------------------------------------------------------------- shared machinery


def _time_major(a: Any, batch_first: bool, reverse: bool) -> Any:
    """A view of (..., N, T, F) or (..., T, N, F) as (..., T, N, F) in processing order."""
    if batch_first:
        a = a.swapaxes(-3, -2)
    return a[..., ::-1, :, :] if reverse else a


def _caller_layout(a: Any, batch_first: bool, reverse: bool) -> Any:
    """The inverse view of ``_time_major``: back to the caller's layout and step order."""
    if reverse:
        a = a[..., ::-1, :, :]
    return a.swapaxes(-3, -2) if batch_first else a


_EXP_LIMIT = 80.0
"""exp(80) ≈ 5.5e34 fits float32 (exp overflows past 88.7), and 1 / (1 + exp(80)) ≈ 2e-35
is σ(−80) to float32 precision, so clamping exp's argument here loses nothing."""


def _sigmoid_of_negated_(u: Any) -> None:
    """u ← 1 / (1 + exp(u)) in place: σ(z) for u = −z, with exp's argument clamped so it
    never overflows. (On NumPy, exp is the cheapest way to σ and to tanh: tanh and
    the tanh form of σ cost more per element.)"""
    xp = get_array_module(u)
    xp.minimum(u, _EXP_LIMIT, out=u)
    xp.exp(u, out=u)
    u += 1.0
    xp.divide(1.0, u, out=u)


def _sigmoid_(a: Any) -> None:
    """a ← σ(a) = 1 / (1 + exp(−a)) in place, without overflow."""
    get_array_module(a).negative(a, out=a)
    _sigmoid_of_negated_(a)


class _Recurrence(Function):
    """What the three cells share: the input projection and the GEMM gradients.

    Inputs are ``(x, *states, W_ih, W_hh[, b_ih, b_hh])``; ``n_states`` is 1 (h0) or 2
    (h0, c0).
    """

    n_states = 1

    def _project_inputs(self, x: Any, w_ih: Any, bias: Any, batch_first: bool,
                        reverse: bool) -> Any:
        """Keep X = the inputs as (T·N, I) in processing order and return
        X W_ihᵀ + bias for every step, (T, N, G·H): the whole input side in one GEMM."""
        xp = get_array_module(x)
        xs = _time_major(x, batch_first, reverse)
        steps, batch, features = xs.shape
        self.x2d = xp.ascontiguousarray(xs).reshape(steps * batch, features)
        gates = xp.empty((steps, batch, w_ih.shape[0]), dtype=x.dtype)
        xp.matmul(self.x2d, w_ih.T, out=gates.reshape(steps * batch, -1))
        gates += bias
        return gates

    def _gemm_grads(self, delta_x: Any, delta_h: Any, h_prev: Any, w_ih: Any) -> list[Any]:
        """[gx, gW_ih, gW_hh, gb_ih, gb_hh] from the stacked deltas, one GEMM each.

        ``delta_x`` (T·N, G·H) multiplies the rows of ``w_ih``, ``delta_h`` the rows of
        W_hh (they differ only for the GRU); ``h_prev`` is H_prev as (T·N, H).
        """
        needs = self.needs_input_grad
        first_weight = 1 + self.n_states
        need_w_ih, need_w_hh, *need_biases = needs[first_weight:]
        grads: list[Any] = [None] * 5
        if needs[0]:
            gx = (delta_x @ w_ih).reshape(self.x_shape_tm)
            grads[0] = _caller_layout(gx, self.batch_first, self.reverse)
        if need_w_ih:
            grads[1] = delta_x.T @ self.x2d
        if need_w_hh:
            grads[2] = delta_h.T @ h_prev
        if need_biases and need_biases[0]:
            grads[3] = delta_x.sum(axis=0)
        if need_biases and need_biases[1]:
            grads[4] = delta_h.sum(axis=0)
        return grads[: 3 + len(need_biases)]


def _biases(xp: Any, b_ih: Any, b_hh: Any, rows: int, dtype: Any) -> tuple[Any, Any]:
    """The bias vectors, or zeros standing in for them when the layer has none."""
    if b_ih is None:
        zeros = xp.zeros(rows, dtype=dtype)
        return zeros, zeros
    return b_ih, b_hh


# --------------------------------------------------------------------- Elman RNN


class RNNSequence(_Recurrence):
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
        self.batch_first, self.reverse, self.nonlinearity = batch_first, reverse, nonlinearity
        self.w_ih, self.w_hh = w_ih, w_hh
        b_ih, b_hh = _biases(xp, b_ih, b_hh, w_hh.shape[0], x.dtype)
        pre = self._project_inputs(x, w_ih, b_ih + b_hh, batch_first, reverse)
        steps, batch, hidden = pre.shape
        self.x_shape_tm = (steps, batch, x.shape[-1])
        # hs[0] = h0 and hs[t] = h_t, so hs[:-1] is H_prev and hs[1:] the output.
        hs = xp.empty((steps + 1, batch, hidden), dtype=x.dtype)
        hs[0] = h0
        hs[1:] = pre
        recurrent = xp.empty((batch, hidden), dtype=x.dtype)
        w_hh_t = w_hh.T
        for t in range(steps):
            h = hs[t + 1]
            xp.matmul(hs[t], w_hh_t, out=recurrent)
            h += recurrent
            if nonlinearity == "tanh":
                xp.tanh(h, out=h)
            else:
                xp.maximum(h, 0, out=h)
        self.hs = hs
        return _caller_layout(hs[1:], batch_first, reverse)

    def backward(self, gy: Any) -> tuple[Any, ...]:
        xp = get_array_module(gy)
        gys = _time_major(gy, self.batch_first, self.reverse)
        hs, w_hh = self.hs, self.w_hh
        steps, batch, hidden = gys.shape
        # NOTE: φ′ is taken from the output h_t (1 − h² for tanh), not from a_t.
        if self.nonlinearity == "tanh":
            deltas = xp.multiply(hs[1:], hs[1:])
            xp.subtract(1, deltas, out=deltas)
        else:
            deltas = (hs[1:] > 0).astype(hs.dtype)
        gh = xp.zeros((batch, hidden), dtype=gy.dtype)  # δ_{t+1} W_hh, then gh_t
        for t in range(steps - 1, -1, -1):
            gh += gys[t]
            delta = deltas[t]
            delta *= gh
            xp.matmul(delta, w_hh, out=gh)
        delta_2d = deltas.reshape(steps * batch, hidden)
        h_prev = hs[:-1].reshape(steps * batch, hidden)
        gx, gw_ih, gw_hh, *gb = self._gemm_grads(delta_2d, delta_2d, h_prev, self.w_ih)
        return (gx, gh, gw_ih, gw_hh, *gb)


# -------------------------------------------------------------------------- LSTM


_LSTM_GATE_SCALE = (-1.0, -1.0, -2.0, -1.0)


class LSTMSequence(_Recurrence):
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
        self.batch_first, self.reverse = batch_first, reverse
        self.w_ih, self.w_hh = w_ih, w_hh
        b_ih, b_hh = _biases(xp, b_ih, b_hh, w_hh.shape[0], x.dtype)
        # One exp per step gives all four gates: the pre-activations are computed with the
        # weight rows of i, f, o scaled by −1 and those of g by −2 (exact in floating
        # point), so every block holds u = −z (u = −2z for g), and
        #     σ(z) = 1 / (1 + exp(u)),   tanh(z) = 2σ(2z) − 1.
        hidden = w_hh.shape[1]
        scale = xp.asarray(_LSTM_GATE_SCALE, dtype=x.dtype).repeat(hidden)
        gates = self._project_inputs(x, w_ih * scale[:, None], (b_ih + b_hh) * scale,
                                     batch_first, reverse)
        w_hh_t = (w_hh * scale[:, None]).T
        steps, batch, _ = gates.shape
        self.x_shape_tm = (steps, batch, x.shape[-1])
        # hc[0, t] = h_t and hc[1, t] = c_t, with the initial states at t = 0.
        hc = xp.empty((2, steps + 1, batch, hidden), dtype=x.dtype)
        hc[0, 0], hc[1, 0] = h0, c0
        hs, cs = hc
        tanh_c = xp.empty((steps, batch, hidden), dtype=x.dtype)
        recurrent = xp.empty((batch, 4 * hidden), dtype=x.dtype)
        i_times_g = xp.empty((batch, hidden), dtype=x.dtype)
        blocks = gates.reshape(steps, batch, 4, hidden)  # blocks[t, :, k]: gate k at step t
        for t in range(steps):
            xp.matmul(hs[t], w_hh_t, out=recurrent)
            gates[t] += recurrent
            _sigmoid_of_negated_(gates[t])
            z = blocks[t]
            z[:, 2] *= 2.0
            z[:, 2] -= 1.0
            i, f, g, o = z[:, 0], z[:, 1], z[:, 2], z[:, 3]
            c = cs[t + 1]
            xp.multiply(f, cs[t], out=c)
            xp.multiply(i, g, out=i_times_g)
            c += i_times_g
            xp.tanh(c, out=tanh_c[t])
            xp.multiply(o, tanh_c[t], out=hs[t + 1])
        self.gates, self.hc, self.tanh_c = gates, hc, tanh_c
        return _caller_layout(hc[:, 1:], batch_first, reverse)

    def backward(self, gy: Any) -> tuple[Any, ...]:
        xp = get_array_module(gy)
        gy_h, gy_c = _time_major(gy, self.batch_first, self.reverse)
        tanh_c = self.tanh_c
        hs, cs = self.hc
        steps, batch, hidden = tanh_c.shape
        blocks = self.gates.reshape(steps, batch, 4, hidden)
        deltas = xp.empty_like(blocks)
        gh = xp.zeros((batch, hidden), dtype=gy.dtype)  # δ_{t+1} W_hh, then gh_t
        gc = xp.zeros((batch, hidden), dtype=gy.dtype)  # gc_{t+1} ⊙ f_{t+1}, then gc_t
        h_to_c = xp.empty((batch, hidden), dtype=gy.dtype)
        # Everything per step, while the step's gates are in cache: computing the
        # derivative factors for all steps at once before the loop measured slower.
        for t in range(steps - 1, -1, -1):
            z, d, tc = blocks[t], deltas[t], tanh_c[t]
            f, o = z[:, 1], z[:, 3]
            gh += gy_h[t]
            gc += gy_c[t]
            # gc_t gets gh_t ⊙ o ⊙ (1 − tanh²(c_t)) through h_t = o ⊙ tanh(c_t).
            xp.multiply(tc, tc, out=h_to_c)
            xp.subtract(1.0, h_to_c, out=h_to_c)
            h_to_c *= o
            h_to_c *= gh
            gc += h_to_c
            # NOTE: σ′ = σ(1 − σ) and tanh′ = 1 − tanh², from the saved gate outputs.
            xp.multiply(z, z, out=d)
            xp.subtract(z[:, :2], d[:, :2], out=d[:, :2])  # i, f
            xp.subtract(o, d[:, 3], out=d[:, 3])
            xp.subtract(1.0, d[:, 2], out=d[:, 2])  # g
            d[:, 0::2] *= z[:, 2::-2]  # δ_i gets g and δ_g gets i, in one call
            d[:, 1] *= cs[t]  # c_{t-1}
            d[:, 3] *= tc
            d[:, :3] *= gc[:, None, :]
            d[:, 3] *= gh
            gc *= f
            xp.matmul(d.reshape(batch, 4 * hidden), self.w_hh, out=gh)
        delta_2d = deltas.reshape(steps * batch, 4 * hidden)
        h_prev = hs[:-1].reshape(steps * batch, hidden)
        gx, gw_ih, gw_hh, *gb = self._gemm_grads(delta_2d, delta_2d, h_prev, self.w_ih)
        return (gx, gh, gc, gw_ih, gw_hh, *gb)


# --------------------------------------------------------------------------- GRU


class GRUSequence(_Recurrence):
    """The GRU over a sequence, with PyTorch's gate order r, z, n and its formula for n:
    h_0 = h0 and for t = 1..T,

        r = σ(x_t W_irᵀ + b_ir + h_{t-1} W_hrᵀ + b_hr),
        z = σ(x_t W_izᵀ + b_iz + h_{t-1} W_hzᵀ + b_hz),
        n = tanh(x_t W_inᵀ + b_in + r ⊙ (h_{t-1} W_hnᵀ + b_hn)),
        h_t = (1 − z) ⊙ n + z ⊙ h_{t-1};

    y = (h_1, ..., h_T).

    Backward, from t = T down to 1, with gh_t = gy_t + δʰ_{t+1} W_hh + gh_{t+1} ⊙ z_{t+1}
    and hn_t = h_{t-1} W_hnᵀ + b_hn:

        δ_n = gh_t ⊙ (1 − z) ⊙ (1 − n²),   δ_z = gh_t ⊙ (h_{t-1} − n) ⊙ z(1 − z),
        δ_r = δ_n ⊙ hn_t ⊙ r(1 − r),        δ_hn = δ_n ⊙ r;

    the input side sees δˣ = (δ_r, δ_z, δ_n) and the hidden side δʰ = (δ_r, δ_z, δ_hn),
    so gW_ih = Σ δˣᵀ x_t, gW_hh = Σ δʰᵀ h_{t-1}, gx_t = δˣ_t W_ih, gh0 = δʰ_1 W_hh +
    gh_1 ⊙ z_1.
    """

    def forward(self, x: Any, h0: Any, w_ih: Any, w_hh: Any, b_ih: Any = None,
                b_hh: Any = None, *, batch_first: bool, reverse: bool) -> Any:
        xp = get_array_module(x)
        self.batch_first, self.reverse = batch_first, reverse
        self.w_ih, self.w_hh = w_ih, w_hh
        hidden = w_hh.shape[1]
        b_ih, b_hh = _biases(xp, b_ih, b_hh, w_hh.shape[0], x.dtype)
        # b_hr and b_hz add to the pre-activations like the input biases; b_hn sits
        # inside r ⊙ (...), so it stays with the recurrent term.
        bias = b_ih.copy()
        bias[: 2 * hidden] += b_hh[: 2 * hidden]
        b_hn = b_hh[2 * hidden :]
        gates = self._project_inputs(x, w_ih, bias, batch_first, reverse)
        steps, batch, _ = gates.shape
        self.x_shape_tm = (steps, batch, x.shape[-1])
        blocks = gates.reshape(steps, batch, 3, hidden)  # blocks[t, :, k]: gate k at step t
        hs = xp.empty((steps + 1, batch, hidden), dtype=x.dtype)
        hs[0] = h0
        hn = xp.empty((steps, batch, hidden), dtype=x.dtype)  # h_{t-1} W_hnᵀ + b_hn
        recurrent = xp.empty((batch, 3, hidden), dtype=x.dtype)
        r_times_hn = xp.empty((batch, hidden), dtype=x.dtype)
        w_hh_t = w_hh.T
        for t in range(steps):
            xp.matmul(hs[t], w_hh_t, out=recurrent.reshape(batch, 3 * hidden))
            gate = blocks[t]
            gate[:, :2] += recurrent[:, :2]
            _sigmoid_(gate[:, :2])  # r and z
            r, z, n = gate[:, 0], gate[:, 1], gate[:, 2]
            xp.add(recurrent[:, 2], b_hn, out=hn[t])
            xp.multiply(r, hn[t], out=r_times_hn)
            n += r_times_hn
            xp.tanh(n, out=n)
            h = hs[t + 1]  # n + z ⊙ (h_{t-1} − n)
            xp.subtract(hs[t], n, out=h)
            h *= z
            h += n
        self.blocks, self.hs, self.hn = blocks, hs, hn
        return _caller_layout(hs[1:], batch_first, reverse)

    def backward(self, gy: Any) -> tuple[Any, ...]:
        xp = get_array_module(gy)
        gys = _time_major(gy, self.batch_first, self.reverse)
        blocks, hs = self.blocks, self.hs
        steps, batch, hidden = gys.shape
        r, z, n = blocks[:, :, 0], blocks[:, :, 1], blocks[:, :, 2]
        # deltas[t, :, k] for k = 0..3 will hold δ_n, δ_r, δ_z, δ_hn: the input side's
        # (δ_r, δ_z, δ_n) and the hidden side's (δ_r, δ_z, δ_hn) are then both contiguous
        # column blocks, with the input weights' rows rolled to the order n, r, z. Before
        # the loop each holds the factor its gradient is multiplied by (σ′ and tanh′
        # taken from the saved outputs).
        deltas = xp.empty((steps, batch, 4, hidden), dtype=gy.dtype)
        d_n, d_r, d_z, d_hn = (deltas[:, :, k] for k in range(4))
        one_minus_z = xp.subtract(1, z)
        xp.multiply(n, n, out=d_n)
        xp.subtract(1, d_n, out=d_n)
        d_n *= one_minus_z  # (1 − z)(1 − n²)
        xp.multiply(r, r, out=d_r)
        xp.subtract(r, d_r, out=d_r)
        d_r *= self.hn  # hn ⊙ r(1 − r)
        xp.subtract(hs[:-1], n, out=d_z)
        one_minus_z *= z
        d_z *= one_minus_z  # (h_{t-1} − n) ⊙ z(1 − z)
        d_hn[...] = r
        gh = xp.zeros((batch, hidden), dtype=gy.dtype)  # what reaches h_t from step t+1
        through_z = xp.empty((batch, hidden), dtype=gy.dtype)
        for t in range(steps - 1, -1, -1):
            gh += gys[t]
            delta = deltas[t]
            delta[:, 0::2] *= gh[:, None, :]  # δ_n and δ_z
            delta[:, 1::2] *= delta[:, :1]  # δ_r and δ_hn, both δ_n times their factor
            xp.multiply(gh, z[t], out=through_z)
            xp.matmul(delta.reshape(batch, 4 * hidden)[:, hidden:], self.w_hh, out=gh)
            gh += through_z
        delta_2d = deltas.reshape(steps * batch, 4 * hidden)
        h_prev = hs[:-1].reshape(steps * batch, hidden)
        w_ih_nrz = xp.roll(self.w_ih, hidden, axis=0)
        gx, gw_ih, gw_hh, *gb = self._gemm_grads(
            delta_2d[:, : 3 * hidden], delta_2d[:, hidden:], h_prev, w_ih_nrz
        )
        if gw_ih is not None:
            gw_ih = xp.roll(gw_ih, -hidden, axis=0)  # rows back to r, z, n
        if gb and gb[0] is not None:
            gb[0] = xp.roll(gb[0], -hidden)
        return (gx, gh, gw_ih, gw_hh, *gb)


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
            state = Tensor._make(get_array_module(x.data).zeros((batch, hidden), x.dtype), None)
        elif state.shape != (batch, hidden):
            raise ValueError(
                f"{op}: expected {name} of shape {(batch, hidden)} (batch, hidden_size). "
                f"Received: shape={state.shape}"
            )
        tensors.append(state)
    inputs = [x, *tensors, w_ih, w_hh, *biases]
    if x.dtype.kind != "f" or any(t.dtype != x.dtype for t in inputs):
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
