"""The LSTM's and GRU's elementwise work as one compiled loop per step, forward and
backward (the CPU kernel tier, ``shenjing.kernels``).

On NumPy a step's gates, state and output take about ten array calls forward and as
many backward, each a pass over memory; here they are one kernel call per step. The
GEMMs stay in BLAS, between the kernel calls, with the layouts of the NumPy code (the
GRU projects x for all steps in one GEMM; the LSTM's per-step GEMM reads [h_{t-1} x_t 1],
see ``recurrent.py``).

How the loops are written, so that LLVM vectorises them (each point was measured: the
first versions ran slower than NumPy):
- every loop runs ``for k in range(a.size)`` over 1-D views, taken inside the kernel,
  indexed by the loop variable alone: offsets such as ``z[m + k]`` kept the loop scalar;
- a loop touches few arrays (about five): LLVM checks at run time that arrays it writes
  do not overlap the others, and past a handful of pairs it gives up and stays scalar;
- ``tanh`` is the vectorisable ``tanh32`` in float32 (the C library's in float64), and
  constants come in the arrays' dtype (``half``, ``one``), since a float literal would
  make the arithmetic float64.

The math is that of ``LSTMSequence`` and ``GRUSequence`` (whose docstrings give it):
pre-activations of the σ gates are halved through their weight rows, so σ(z) =
½·tanh(z/2) + ½; gates are saved after activation, gate-major; deltas are written in the
NumPy backward's column order.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from shenjing import kernels
from shenjing.kernels import kernel
from shenjing.ops._numba_math import tanh


def wanted(x: Any) -> bool:
    """Whether a recurrent op on ``x`` runs on the kernel tier: on, and a float32 or
    float64 NumPy array (CuPy has its own kernels; other dtypes stay on NumPy)."""
    return (type(x) is np.ndarray and x.dtype in (np.float32, np.float64)
            and kernels.enabled())


def _scalars(dtype: Any) -> tuple[Any, Any]:
    """½ and 1 in the arrays' dtype (float literals would make Numba compute in
    float64)."""
    kind = np.dtype(dtype).type
    return kind(0.5), kind(1.0)


# ------------------------------------------------------------------ the drivers


def gru_loop(projected: Any, w_hh_gm: Any, b_hn: Any, gates: Any, hn: Any, hs: Any) -> None:
    """The GRU forward's time loop (``GRUSequence.forward``): per step the recurrent GEMM
    h_{t-1} W_hhᵀ, gate-major, then one kernel call."""
    recurrent = np.empty((3, *hs.shape[1:]), dtype=hs.dtype)
    half, _ = _scalars(hs.dtype)
    # Step-major, so each step's block is contiguous: Numba's dispatcher takes a fast
    # path for contiguous arrays, and strided ones cost tens of µs a call to type.
    projected = np.ascontiguousarray(projected.transpose(1, 0, 2, 3))
    for t in range(gates.shape[0]):
        np.matmul(hs[t], w_hh_gm, out=recurrent)
        gru_step_forward(projected[t], recurrent, b_hn, gates[t], hn[t], hs[t], hs[t + 1],
                         half)


def gru_backward_loop(gys: Any, w_hh: Any, gates: Any, hn: Any, hs: Any, deltas: Any,
                      last: int) -> Any:
    """The GRU backward's time loop (``GRUSequence.backward``): per step one kernel call
    and the GEMM δʰ_t W_hh. Returns gh for h0."""
    gys = np.ascontiguousarray(gys)
    hidden = hs.shape[2]
    gh = np.zeros(hs.shape[1:], dtype=gys.dtype)  # δʰ_{t+1} W_hh, then gh_t
    through_z = np.zeros(hs.shape[1:], dtype=gys.dtype)  # gh_{t+1} ⊙ z_{t+1}
    _, one = _scalars(gys.dtype)
    for t in range(gys.shape[0] - 1, -1, -1):
        gru_step_backward(gys[t], gh, through_z, gates[t], hn[t], hs[t], deltas[t], one)
        if t >= last:
            np.matmul(deltas[t, :, hidden:], w_hh, out=gh)
    if last == 0:
        gh += through_z  # gh0 = δʰ_1 W_hh + gh_1 ⊙ z_1
    return gh


# ------------------------------------------------------------------ the kernels


@kernel
def _sigmoid_of_halved(z: Any, half: Any) -> None:
    for k in range(z.size):
        z[k] = tanh(z[k]) * half + half


@kernel
def _tanh_inplace(z: Any) -> None:
    for k in range(z.size):
        z[k] = tanh(z[k])


@kernel
def lstm_step_forward(z: Any, c_prev: Any, c: Any, tanh_c: Any, h: Any, half: Any) -> None:
    """One step, from the gate-major pre-activations z (4, N, H) (i, f, o halved):
    z = (σ(z_i), σ(z_f), tanh(z_g), σ(z_o)) in place; c = f ⊙ c_prev + i ⊙ g;
    tanh(c); h = o ⊙ tanh(c). Every array C-contiguous."""
    m = c.size
    flat = z.reshape(-1)
    i, f, g, o = flat[:m], flat[m : 2 * m], flat[2 * m : 3 * m], flat[3 * m :]
    _sigmoid_of_halved(flat[: 2 * m], half)
    _tanh_inplace(g)
    _sigmoid_of_halved(o, half)
    c_prev, c, tanh_c, h = c_prev.reshape(-1), c.reshape(-1), tanh_c.reshape(-1), h.reshape(-1)
    for k in range(m):
        c[k] = f[k] * c_prev[k] + i[k] * g[k]
    for k in range(m):
        tc = tanh(c[k])
        tanh_c[k] = tc
        h[k] = o[k] * tc


@kernel
def lstm_step_backward(gates: Any, tanh_c: Any, c_prev: Any, gy_h: Any, gy_c: Any, gh: Any,
                       gc: Any, delta: Any, carry: bool, one: Any) -> None:
    """One step of BPTT: gh += gy^h; gc += gy^c + gh ⊙ o ⊙ (1 − tanh²c); the deltas of
    i, f, g, o into the row-major ``delta`` (N, 4H); then gc ⊙= f when ``carry`` (the
    state gradient flows on to step t − 1). Every array C-contiguous."""
    batch, hidden = gh.shape
    for n in range(batch):
        i, f, g, o = gates[0, n], gates[1, n], gates[2, n], gates[3, n]
        tc, cp, gyh, gyc = tanh_c[n], c_prev[n], gy_h[n], gy_c[n]
        ghn, gcn, row = gh[n], gc[n], delta[n]
        d_i, d_f = row[:hidden], row[hidden : 2 * hidden]
        d_g, d_o = row[2 * hidden : 3 * hidden], row[3 * hidden :]
        for j in range(hidden):
            ghn[j] += gyh[j]
        for j in range(hidden):
            gcn[j] += gyc[j] + (one - tc[j] * tc[j]) * o[j] * ghn[j]
        for j in range(hidden):
            d_i[j] = (i[j] - i[j] * i[j]) * g[j] * gcn[j]
            d_g[j] = (one - g[j] * g[j]) * i[j] * gcn[j]
        for j in range(hidden):
            d_f[j] = (f[j] - f[j] * f[j]) * cp[j] * gcn[j]
        for j in range(hidden):
            d_o[j] = (o[j] - o[j] * o[j]) * tc[j] * ghn[j]
        if carry:
            for j in range(hidden):
                gcn[j] *= f[j]


@kernel
def gru_step_forward(projected: Any, recurrent: Any, b_hn: Any, gates: Any, hn: Any,
                     h_prev: Any, h: Any, half: Any) -> None:
    """One step: r, z = σ(projected + recurrent) (halved rows); hn = recurrent_n + b_hn;
    n = tanh(projected_n + r ⊙ hn); h = n + z ⊙ (h_prev − n). Every array C-contiguous,
    gate-major."""
    batch, hidden = h.shape
    for b in range(batch):
        p_r, p_z, p_n = projected[0, b], projected[1, b], projected[2, b]
        q_r, q_z, q_n = recurrent[0, b], recurrent[1, b], recurrent[2, b]
        r, z, n = gates[0, b], gates[1, b], gates[2, b]
        hnb, hp, hb = hn[b], h_prev[b], h[b]
        for j in range(hidden):
            r[j] = tanh(p_r[j] + q_r[j]) * half + half
        for j in range(hidden):
            z[j] = tanh(p_z[j] + q_z[j]) * half + half
        for j in range(hidden):
            hnb[j] = q_n[j] + b_hn[j]
        for j in range(hidden):
            n[j] = tanh(p_n[j] + r[j] * hnb[j])
        for j in range(hidden):
            hb[j] = n[j] + z[j] * (hp[j] - n[j])


@kernel
def gru_step_backward(gy: Any, gh: Any, through_z: Any, gates: Any, hn: Any, h_prev: Any,
                      delta: Any, one: Any) -> None:
    """One step of BPTT: gh_t = gy + gh (δʰ_{t+1} W_hh, from the GEMM) + through_z
    (gh_{t+1} ⊙ z_{t+1}), kept in ``gh``; the row-major ``delta`` (N, 4H) gets the
    blocks (δ_n, δ_r, δ_z, δ_hn); then through_z = gh_t ⊙ z."""
    batch, hidden = gh.shape
    for b in range(batch):
        r, z, n = gates[0, b], gates[1, b], gates[2, b]
        g, tz, gyb, hnb, hp, row = gh[b], through_z[b], gy[b], hn[b], h_prev[b], delta[b]
        d_n, d_r = row[:hidden], row[hidden : 2 * hidden]
        d_z, d_hn = row[2 * hidden : 3 * hidden], row[3 * hidden :]
        for j in range(hidden):
            g[j] += tz[j] + gyb[j]
        for j in range(hidden):
            d_n[j] = g[j] * (one - z[j]) * (one - n[j] * n[j])
        for j in range(hidden):
            d_r[j] = d_n[j] * hnb[j] * (r[j] - r[j] * r[j])
        for j in range(hidden):
            d_z[j] = g[j] * (hp[j] - n[j]) * (z[j] - z[j] * z[j])
        for j in range(hidden):
            d_hn[j] = d_n[j] * r[j]
        for j in range(hidden):
            tz[j] = g[j] * z[j]
