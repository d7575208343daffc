"""The GRU over a whole sequence, one fused op (``GRUSequence``); ``shenjing.ops.recurrent``
holds the Elman RNN and the LSTM beside it, the public ``gru`` function, and, in its
docstring, where the time goes and what is done about it (the same for all three)."""

from __future__ import annotations

from typing import Any

from shenjing.backend import get_array_module
from shenjing.ops import _cuda_kernels as cuda_kernels
from shenjing.ops import _numba_recurrent as cpu_kernels
from shenjing.ops._recurrence import (
    Recurrence,
    caller_layout,
    gate_biases,
    gate_major,
    live_steps,
    time_major,
)
from shenjing.ops._util import sigmoid_of_halved_

__all__ = ["GRUSequence"]


_GRU_GATE_SCALE = (0.5, 0.5, 1.0)


class GRUSequence(Recurrence):
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

    on_gpu = False  # the forward ran its CuPy kernels (``_forward_on_gpu``)

    def forward(self, x: Any, h0: Any, w_ih: Any, w_hh: Any, b_ih: Any = None,
                b_hh: Any = None, *, batch_first: bool, reverse: bool) -> Any:
        xp = get_array_module(x)
        self.w_ih, self.w_hh = w_ih, w_hh
        batch, hidden = h0.shape
        b_ih, b_hh = gate_biases(xp, b_ih, b_hh, w_hh.shape[0], x.dtype)
        # b_hr and b_hz add to the pre-activations like the input biases; b_hn sits
        # inside r ⊙ (...), so it stays with the recurrent term. The rows of r and z are
        # halved (exact), so their blocks hold z/2, ready for ``sigmoid_of_halved_``.
        scale = xp.asarray(_GRU_GATE_SCALE, dtype=x.dtype).repeat(hidden)
        bias = b_ih.copy()
        bias[: 2 * hidden] += b_hh[: 2 * hidden]
        b_hn = b_hh[2 * hidden :]
        stacked = self._stack_inputs(x, h0, batch_first, reverse)
        steps = stacked.shape[0] - 1
        hs = xp.empty((steps + 1, batch, hidden), dtype=x.dtype)  # hs[t] = h_t
        hs[0] = h0
        # n needs x's part and h's part apart, so x's side of all steps is one GEMM
        # here, [x_t 1] [W_ih b]ᵀ, and only h's side is left to the loop. Both sides'
        # weights are held gate-major, (3, K, H), so the broadcast matmuls write the
        # gates gate-major, as the LSTM's step does.
        input_side = stacked[:steps].reshape(steps * batch, -1)[:, hidden:]
        w_ih_aug = xp.concatenate([w_ih, bias[:, None]], axis=1) * scale[:, None]
        if cuda_kernels.usable(x):  # on a GPU: one kernel per step, each way
            return self._forward_on_gpu(xp.matmul(input_side, w_ih_aug.T), w_hh * scale[:, None],
                                        b_hn, hs)
        projected = xp.matmul(input_side, gate_major(w_ih_aug, 3))
        projected = projected.reshape(3, steps, batch, hidden)
        gates = xp.empty((steps, 3, batch, hidden), dtype=x.dtype)  # gate-major steps
        hn = xp.empty((steps, batch, hidden), dtype=x.dtype)  # h_{t-1} W_hnᵀ + b_hn
        w_hh_gm = gate_major(w_hh * scale[:, None], 3)
        self.on_kernels = cpu_kernels.wanted(x)
        if self.on_kernels:  # the CPU kernel tier: one compiled loop per step
            cpu_kernels.gru_loop(projected, w_hh_gm, b_hn, gates, hn, hs)
            self.gates, self.hs, self.hn = gates, hs, hn
            return caller_layout(hs[1:], batch_first, reverse)
        recurrent = xp.empty((3, batch, hidden), dtype=x.dtype)
        for t in range(steps):
            xp.matmul(hs[t], w_hh_gm, out=recurrent)
            gate = gates[t]
            xp.add(projected[:2, t], recurrent[:2], out=gate[:2])
            sigmoid_of_halved_(gate[:2])
            r, z, n = gate
            xp.add(recurrent[2], b_hn, out=hn[t])
            xp.multiply(r, hn[t], out=n)
            n += projected[2, t]
            xp.tanh(n, out=n)
            h = hs[t + 1]  # n + z ⊙ (h_{t-1} − n)
            xp.subtract(hs[t], n, out=h)
            h *= z
            h += n
        self.gates, self.hs, self.hn = gates, hs, hn
        return caller_layout(hs[1:], batch_first, reverse)

    def _forward_on_gpu(self, projected: Any, w_hh_scaled: Any, b_hn: Any, hs: Any) -> Any:
        """The forward with CuPy kernels (``_cuda_kernels``): ``projected`` holds every
        step's [x_t 1] [W_ih b]ᵀ, (T·N, 3H) from one GEMM; per step the recurrent GEMM
        (a plain 2-D GEMM), then one kernel for r, z, n, hn and h_t."""
        xp = get_array_module(projected)
        self.on_kernels, self.on_gpu = False, True
        steps = hs.shape[0] - 1
        batch, hidden = hs.shape[1:]
        projected = projected.reshape(steps, batch, 3 * hidden)
        w_hh_t = xp.ascontiguousarray(w_hh_scaled.T)  # (H, 3H): a plain 2-D GEMM per step
        gates = xp.empty((steps, 3, batch, hidden), dtype=hs.dtype)
        hn = xp.empty((steps, batch, hidden), dtype=hs.dtype)
        recurrent = xp.empty((batch, 3 * hidden), dtype=hs.dtype)
        for t in range(steps):
            xp.matmul(hs[t], w_hh_t, out=recurrent)
            cuda_kernels.gru_step_forward(xp, recurrent, projected[t], b_hn, hs[t], gates[t],
                                          hn[t], hs[t + 1])
        self.gates, self.hs, self.hn = gates, hs, hn
        return caller_layout(hs[1:], self.batch_first, self.reverse)

    def backward(self, gy: Any) -> tuple[Any, ...]:
        xp = get_array_module(gy)
        gys = time_major(gy, self.batch_first, self.reverse)
        gates, hs = self.gates, self.hs
        steps, _, batch, hidden = gates.shape
        # deltas[t] holds (δ_n, δ_r, δ_z, δ_hn): the input side's (δ_r, δ_z, δ_n) and the
        # hidden side's (δ_r, δ_z, δ_hn) are then both contiguous column blocks, the input
        # weights' rows taken in the order n, r, z.
        deltas = xp.empty((steps, batch, 4 * hidden), dtype=gy.dtype)
        last = 0 if self._needs_state_grad() else 1
        if self.on_gpu:
            return self._backward_on_gpu(gys, deltas, last)
        if self.on_kernels:  # the forward ran on the CPU kernel tier
            gh = cpu_kernels.gru_backward_loop(gys, self.w_hh, gates, self.hn, hs, deltas, last)
            return self._gru_grads(deltas, gh)
        r, z, n = gates[:, 0], gates[:, 1], gates[:, 2]
        # As in the LSTM's backward, what multiplies gh_t (for δ_n, δ_z) and then δ_n
        # (for δ_r, δ_hn) depends on the forward values alone: computed for all steps at
        # once, in the order of δ's blocks, so that each step needs one call for each.
        # NOTE: σ′ = σ(1 − σ) and tanh′ = 1 − tanh², from the saved gate outputs.
        by_gh = xp.empty((steps, 2, batch, hidden), dtype=gy.dtype)  # δ_n, δ_z per gh
        one_minus_z = xp.subtract(1.0, z)
        xp.multiply(n, n, out=by_gh[:, 0])
        xp.subtract(1.0, by_gh[:, 0], out=by_gh[:, 0])
        by_gh[:, 0] *= one_minus_z  # (1 − z)(1 − n²)
        xp.subtract(hs[:-1], n, out=by_gh[:, 1])
        one_minus_z *= z
        by_gh[:, 1] *= one_minus_z  # (h_{t-1} − n) ⊙ z(1 − z)
        by_d_n = xp.empty((steps, 2, batch, hidden), dtype=gy.dtype)  # δ_r, δ_hn per δ_n
        xp.multiply(r, r, out=by_d_n[:, 0])
        xp.subtract(r, by_d_n[:, 0], out=by_d_n[:, 0])
        by_d_n[:, 0] *= self.hn  # hn ⊙ r(1 − r)
        by_d_n[:, 1] = r
        through_z = xp.empty((batch, hidden), dtype=gy.dtype)
        gh = xp.zeros((batch, hidden), dtype=gy.dtype)  # what reaches h_t from step t+1
        live = live_steps(xp, gys)  # as in the LSTM's backward
        for t in range(steps - 1, -1, -1):
            if live[t]:
                gh += gys[t]
            delta = deltas[t]
            d = delta.reshape(batch, 4, hidden).transpose(1, 0, 2)  # δ_n, δ_r, δ_z, δ_hn
            xp.multiply(by_gh[t], gh, out=d[0::2])
            xp.multiply(by_d_n[t], d[0], out=d[1::2])
            if t >= last:
                xp.multiply(gh, z[t], out=through_z)
                xp.matmul(delta[:, hidden:], self.w_hh, out=gh)
                gh += through_z
        return self._gru_grads(deltas, gh)

    def _backward_on_gpu(self, gys: Any, deltas: Any, last: int) -> tuple[Any, ...]:
        """The backward with one CuPy kernel per step for its deltas; what flows to
        h_{t-1} through z is carried into the next step's kernel, not added apart."""
        xp = get_array_module(deltas)
        hidden = self.hs.shape[2]
        gh = xp.zeros(self.hs.shape[1:], dtype=deltas.dtype)  # δʰ_{t+1} W_hh, then gh_t
        carry = xp.zeros_like(gh)  # gh_{t+1} ⊙ z_{t+1}
        for t in range(deltas.shape[0] - 1, -1, -1):
            cuda_kernels.gru_step_backward(xp, self.gates[t], self.hn[t], self.hs[t], gys[t],
                                           gh, carry, deltas[t])
            if t >= last:
                xp.matmul(deltas[t][:, hidden:], self.w_hh, out=gh)
        if last == 0:
            gh += carry
        return self._gru_grads(deltas, gh)

    def _gru_grads(self, deltas: Any, gh: Any) -> tuple[Any, ...]:
        """All the gradients from the steps' deltas (δ_n, δ_r, δ_z, δ_hn) and gh0."""
        xp = get_array_module(deltas)
        steps, batch, width = deltas.shape
        hidden, hs = width // 4, self.hs
        delta_2d = deltas.reshape(steps * batch, 4 * hidden)
        w_ih_nrz = xp.roll(self.w_ih, hidden, axis=0)
        gx, gw_ih, gw_hh, *gb = self._gemm_grads(
            delta_2d[:, : 3 * hidden], delta_2d[:, hidden:], w_ih_nrz,
            previous=hs[:-1].reshape(steps * batch, hidden),
        )
        if gw_ih is not None:
            gw_ih = xp.roll(gw_ih, -hidden, axis=0)  # rows back to r, z, n
        if gb and gb[0] is not None:
            gb[0] = xp.roll(gb[0], -hidden)
        return (gx, gh, gw_ih, gw_hh, *gb)
