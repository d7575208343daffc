"""The LSTM cell's elementwise work as one CuPy kernel per step, forward and backward.

On NumPy a step's gates take a dozen array calls (see ``LSTMSequence``); on a GPU each
is a kernel launch that costs more than its arithmetic at these sizes, so the step's
gates, cell and output (forward) and its deltas (backward) are one kernel each here.
Same float operations as the NumPy code, with the same layouts: a step's gate-major
(4, N, H) block holds the pre-activations (halved for i, f, o, so σ(z) = ½·tanh(z/2) + ½)
and is overwritten with the gates; deltas are written as rows (N, 4H). Used only when
the array module is CuPy.
"""

from __future__ import annotations

from types import ModuleType
from typing import Any

from shenjing._cuda import available
from shenjing._cuda import elementwise_kernel as _kernel

# ``available`` is part of this module's interface: callers ask it before a kernel.
__all__ = ["available"]

_FORWARD = """
int nh = NH;
T ig = tanh(gates[i]) * (T)0.5 + (T)0.5;
T fg = tanh(gates[i + nh]) * (T)0.5 + (T)0.5;
T gg = tanh(gates[i + 2 * nh]);
T og = tanh(gates[i + 3 * nh]) * (T)0.5 + (T)0.5;
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


def lstm_step_forward(xp: ModuleType, gates: Any, c_prev: Any, c: Any, tanh_c: Any,
                      h: Any) -> None:
    """i, f, g, o from the pre-activations in ``gates`` (in place); c = f⊙c_prev + i⊙g;
    tanh(c); h = o⊙tanh(c)."""
    _kernel(
        xp, "shenjing_lstm_forward_tanh",
        "T c_prev, int32 NH", "raw T gates, T c, T tc, T h", _FORWARD,
    )(c_prev, xp.int32(c.size), gates, c, tanh_c, h)


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
