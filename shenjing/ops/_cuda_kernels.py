"""The LSTM and GRU cells' elementwise work as one CuPy kernel per step, each way.

On NumPy a step's gates take a dozen array calls (see ``LSTMSequence``); on a GPU each
is a kernel launch that costs more than its arithmetic at these sizes, so the step's
gates, cell and output (forward) and its deltas (backward) are one kernel each here.
On a GPU every step's input projection, [x_t 1] [W_ih b]ᵀ, is computed before the loop
as one GEMM, (T·N, I+1) × (I+1, G·H), into row-major (T, N, G·H); a step is then its
recurrent GEMM, (N, H) × (H, G·H), a plain 2-D GEMM into a row-major (N, G·H) buffer,
and one kernel that adds the two and applies the gates, storing them gate-major
(G, N, H) for the backward kernel. The σ gates' weight rows are pre-halved,
so σ(z) = ½·tanh(z/2) + ½. Same float operations as the NumPy code (the sums of the
two GEMMs aside: on the CPU the LSTM's step is one GEMM over [h x 1]); deltas are written
as rows (N, G'·H). Used when the array module is CuPy (and, in tests, on the strict
stand-in with the kernels compiled for the host: ``shenjing.testing.host_kernels``).
"""

from __future__ import annotations

from types import ModuleType
from typing import Any

from shenjing._cuda import available
from shenjing._cuda import elementwise_kernel as _kernel

# ``available`` and ``usable`` are this module's interface: callers ask before a kernel.
__all__ = ["available", "usable"]


def usable(a: Any) -> bool:
    """Whether the kernels here run on array ``a``: a float32 or float64 array of a module
    that takes them (float16 falls back to the ops' array code: CuPy's half type has
    no ``atomicAdd`` and no overloads of the math the kernels call)."""
    return a.dtype.char in "fd" and available(_module(a))


def _module(a: Any) -> ModuleType:
    from shenjing.backend import get_array_module

    return get_array_module(a)

_FORWARD_PROJECTED = """
int nh = NH;
int row = (i / H) * 4 * H + i % H;
T ig = tanh(rec[row] + proj[row]) * (T)0.5 + (T)0.5;
T fg = tanh(rec[row + H] + proj[row + H]) * (T)0.5 + (T)0.5;
T gg = tanh(rec[row + 2 * H] + proj[row + 2 * H]);
T og = tanh(rec[row + 3 * H] + proj[row + 3 * H]) * (T)0.5 + (T)0.5;
gates[i] = ig; gates[i + nh] = fg; gates[i + 2 * nh] = gg; gates[i + 3 * nh] = og;
c = fg * c_prev + ig * gg;
tc = tanh(c);
h = og * tc;
"""

_BACKWARD = """
int n = i / H, j = i % H;
int nh = N * H;
T ig = gates[i], fg = gates[i + nh], gg = gates[i + 2 * nh], og = gates[i + 3 * nh];
T ghv = gh + gy_h;
T gcv = gc + gy_c + (1 - tc * tc) * og * ghv;
int row = n * 4 * H + j;
delta[row] = (ig - ig * ig) * gg * gcv;
delta[row + H] = (fg - fg * fg) * c_prev * gcv;
delta[row + 2 * H] = (1 - gg * gg) * ig * gcv;
delta[row + 3 * H] = (og - og * og) * tc * ghv;
gh = ghv;
gc = carry ? gcv * fg : gcv;
"""


def lstm_step_backward(xp: ModuleType, gates: Any, tanh_c: Any, c_prev: Any, gy_h: Any,
                       gy_c: Any, gh: Any, gc: Any, delta: Any, carry: bool) -> None:
    """gh += gy_h; gc += gy_c + gh⊙o⊙(1 − tanh²c); the step's four deltas into ``delta``;
    then gc ⊙= f when ``carry`` (the state gradient flows on to step t − 1)."""
    batch, hidden = gh.shape
    _kernel(
        xp, "shenjing_lstm_backward",
        "raw T gates, T tc, T c_prev, T gy_h, T gy_c, int32 H, int32 N, int32 carry",
        "T gh, T gc, raw T delta", _BACKWARD,
    )(gates, tanh_c, c_prev, gy_h, gy_c, xp.int32(hidden), xp.int32(batch),
      xp.int32(carry), gh, gc, delta)


def lstm_step_forward_projected(xp: ModuleType, recurrent: Any, projected: Any,
                                c_prev: Any, gates: Any, c: Any, tanh_c: Any, h: Any) -> None:
    """One LSTM step: the pre-activations are ``recurrent`` (N, 4H) = h_{t-1} W_hhᵀ plus
    the step's input projection ``projected`` (N, 4H), both row-major; i, f, g, o go to
    ``gates`` (4, N, H), gate-major (as backward reads them); c = f⊙c_prev + i⊙g;
    tanh(c); h = o⊙tanh(c)."""
    hidden = c.shape[1]
    _kernel(
        xp, "shenjing_lstm_forward_projected",
        "raw T rec, raw T proj, T c_prev, int32 NH, int32 H", "raw T gates, T c, T tc, T h",
        _FORWARD_PROJECTED,
    )(recurrent, projected, c_prev, xp.int32(c.size), xp.int32(hidden), gates, c, tanh_c, h)


_GRU_FORWARD = """
int nh = NH, j = i % H;
int row = (i / H) * 3 * H + j;
T r = tanh(proj[row] + rec[row]) * (T)0.5 + (T)0.5;
T z = tanh(proj[row + H] + rec[row + H]) * (T)0.5 + (T)0.5;
T hn_t = rec[row + 2 * H] + b_hn[j];
T n = tanh(r * hn_t + proj[row + 2 * H]);
gates[i] = r; gates[i + nh] = z; gates[i + 2 * nh] = n;
hn = hn_t;
h = (h_prev - n) * z + n;
"""

_GRU_BACKWARD = """
int nh = NH;
int row = (i / H) * 4 * H + i % H;
T r = gates[i], z = gates[i + nh], n = gates[i + 2 * nh];
T g = gh + carry + gy;
T d_n = ((T)1 - n * n) * ((T)1 - z) * g;
delta[row] = d_n;
delta[row + H] = (r - r * r) * hn * d_n;
delta[row + 2 * H] = (h_prev - n) * (((T)1 - z) * z) * g;
delta[row + 3 * H] = r * d_n;
gh = g;
carry = g * z;
"""


def gru_step_forward(xp: ModuleType, recurrent: Any, projected: Any, b_hn: Any,
                     h_prev: Any, gates: Any, hn: Any, h: Any) -> None:
    """One GRU step: ``recurrent`` (N, 3H) is h_{t-1} W_hhᵀ (r, z rows halved) and
    ``projected`` (N, 3H) the step's [x_t 1] [W_ih b]ᵀ (with b_hr, b_hz in it), both
    row-major; r, z, n go to ``gates`` (3, N, H), gate-major;
    hn = h_{t-1} W_hnᵀ + b_hn; h = (h_{t-1} − n) ⊙ z + n."""
    hidden = h.shape[1]
    _kernel(
        xp, "shenjing_gru_forward",
        "raw T rec, raw T proj, raw T b_hn, T h_prev, int32 NH, int32 H",
        "raw T gates, T hn, T h", _GRU_FORWARD,
    )(recurrent, projected, b_hn, h_prev, xp.int32(h.size), xp.int32(hidden), gates, hn, h)


def gru_step_backward(xp: ModuleType, gates: Any, hn: Any, h_prev: Any, gy: Any, gh: Any,
                      carry: Any, delta: Any) -> None:
    """One GRU step back: g = gh + carry + gy (gh: δʰ_{t+1} W_hh, carry: gh_{t+1} ⊙
    z_{t+1}); the deltas (δ_n, δ_r, δ_z, δ_hn) into ``delta`` (N, 4H), rows; then
    gh = g and carry = g ⊙ z, for the caller's GEMM gh = δʰ W_hh."""
    hidden = gh.shape[1]
    _kernel(
        xp, "shenjing_gru_backward",
        "raw T gates, T hn, T h_prev, T gy, int32 NH, int32 H", "T gh, T carry, raw T delta",
        _GRU_BACKWARD,
    )(gates, hn, h_prev, gy, xp.int32(gh.size), xp.int32(hidden), gh, carry, delta)


_MAX_POOL_FORWARD = """
int wo = i % Wo;
int ho = (i / Wo) % Ho;
long long base = (long long)(i / (Wo * Ho)) * H * W;
T best = neg_inf;
int where = -1;
for (int p = 0; p < kh; ++p) {
  int row = ho * sh - ph + p * dh;
  if (row < 0 || row >= H) continue;
  for (int q = 0; q < kw; ++q) {
    int col = wo * sw - pw + q * dw;
    if (col < 0 || col >= W) continue;
    T v = x[base + row * W + col];
    if (where < 0 || v > best || (v != v && best == best)) { best = v; where = row * W + col; }
  }
}
y = best;
arg = where;
"""

_MAX_POOL_BACKWARD = """
if (arg >= 0) atomicAdd(&gx[(long long)(i / HoWo) * HW + arg], gy);
"""


def max_pool_forward(xp: ModuleType, x: Any, out_size: tuple[int, int],
                     kernel: tuple[int, int], stride: tuple[int, int],
                     padding: tuple[tuple[int, int], tuple[int, int]],
                     dilation: tuple[int, int]) -> tuple[Any, Any]:
    """2-D max pooling of a C-ordered (N, C, H, W) ``x`` in one kernel over the outputs:
    (y, the flat position row·W + column of each window's first maximum in its plane,
    int32; a NaN wins, as in PyTorch). Padding is −∞ (never chosen)."""
    n, c, h, w = x.shape
    y = xp.empty((n, c, *out_size), dtype=x.dtype)
    arg = xp.empty((n, c, *out_size), dtype=xp.int32)
    _kernel(
        xp, "shenjing_max_pool_forward",
        "raw T x, T neg_inf, int32 H, int32 W, int32 Ho, int32 Wo, int32 kh, int32 kw, "
        "int32 sh, int32 sw, int32 ph, int32 pw, int32 dh, int32 dw",
        "T y, int32 arg", _MAX_POOL_FORWARD,
    )(x, x.dtype.type(-float("inf")), *(xp.int32(v) for v in (
        h, w, *out_size, *kernel, *stride, padding[0][0], padding[1][0], *dilation)), y, arg)
    return y, arg


def max_pool_backward(xp: ModuleType, gy: Any, arg: Any, x_shape: tuple[int, ...]) -> Any:
    """gx: each output gradient added at its window's maximum (windows may overlap)."""
    gx = xp.zeros(x_shape, dtype=gy.dtype)
    _kernel(
        xp, "shenjing_max_pool_backward", "T gy, int32 arg, int32 HoWo, int64 HW",
        "raw T gx", _MAX_POOL_BACKWARD,
    )(gy, arg, xp.int32(gy.shape[2] * gy.shape[3]), xp.int64(x_shape[2] * x_shape[3]), gx)
    return gx
