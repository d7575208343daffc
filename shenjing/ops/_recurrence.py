"""What the recurrent ops of ``shenjing.ops.recurrent`` share: the time-major layout
and the base class with the stacked inputs [h_{t-1} x_t 1] and the weight gradients as
single GEMMs (see that module's docstring for why)."""

from __future__ import annotations

from typing import Any

from shenjing.autograd.function import Function
from shenjing.backend import get_array_module, on_host


def time_major(a: Any, batch_first: bool, reverse: bool) -> Any:
    """A view of (..., N, T, F) or (..., T, N, F) as (..., T, N, F) in processing order."""
    if batch_first:
        a = a.swapaxes(-3, -2)
    return a[..., ::-1, :, :] if reverse else a


def caller_layout(a: Any, batch_first: bool, reverse: bool) -> Any:
    """The inverse view of ``time_major``: back to the caller's layout and step order."""
    if reverse:
        a = a[..., ::-1, :, :]
    return a.swapaxes(-3, -2) if batch_first else a


def gate_biases(xp: Any, b_ih: Any, b_hh: Any, rows: int, dtype: Any) -> tuple[Any, Any]:
    """The bias vectors, or zeros standing in for them when the layer has none."""
    if b_ih is None:
        zeros = xp.zeros(rows, dtype=dtype)
        return zeros, zeros
    return b_ih, b_hh


def gate_major(weights: Any, gates: int) -> Any:
    """Stacked gate rows (G·H, K) as a contiguous (G, K, H): for a broadcast matmul
    (N, K) @ (G, K, H) that gives the gates gate-major, (G, N, H)."""
    xp = get_array_module(weights)
    rows, k = weights.shape
    return xp.ascontiguousarray(weights.reshape(gates, rows // gates, k).transpose(0, 2, 1))


def live_steps(xp: Any, gy: Any) -> list[bool]:
    """For a time-major (T, N, H) gradient, whether each step's block has a nonzero.

    Off the host every step counts as live: asking would read back to the host each
    backward, which costs more on a GPU than the adds it saves."""
    if not on_host(gy):
        return [True] * gy.shape[0]
    return xp.any(gy, axis=(1, 2)).tolist()


def stacked_weights(w_hh: Any, w_ih: Any, bias: Any, scale: Any = None) -> Any:
    """[W_hh W_ih b], shape (G·H, H+I+1), with row k multiplied by ``scale[k]`` if given:
    what ``Recurrence._stack_inputs``' rows multiply."""
    xp = get_array_module(w_hh)
    stacked = xp.concatenate([w_hh, w_ih, bias[:, None]], axis=1)
    if scale is not None:
        stacked *= scale[:, None]
    return stacked


class Recurrence(Function):
    """What the three cells share: the stacked inputs and the GEMM gradients.

    Inputs are ``(x, *states, W_ih, W_hh[, b_ih, b_hh])``; ``n_states`` is 1 (h0) or 2
    (h0, c0).
    """

    n_states = 1

    def _stack_inputs(self, x: Any, h0: Any, batch_first: bool, reverse: bool) -> Any:
        """S of shape (T+1, N, H+I+1) with S[t] = [h_{t-1} x_t 1] (h_T in S[T, :, :H]).

        The RNN and LSTM write each h_t into S[t+1, :, :H]. Then one GEMM per step,
        S[t] [W_hh W_ih b]ᵀ, gives the whole pre-activation (the column of ones carries
        the bias), and after the loop one GEMM, Δᵀ S[:T], gives [gW_hh gW_ih gb]. The
        previous layout (a separate input projection with K = I, and separate weight
        gradients) spent a sixth of an LSTM step in those skinny GEMMs.
        """
        xp = get_array_module(x)
        self.batch_first, self.reverse = batch_first, reverse
        xs = time_major(x, batch_first, reverse)
        steps, batch, features = xs.shape
        self.hidden = hidden = h0.shape[1]
        self.x_shape_tm = xs.shape
        stacked = xp.empty((steps + 1, batch, hidden + features + 1), dtype=x.dtype)
        stacked[0, :, :hidden] = h0
        stacked[:steps, :, hidden:-1] = xs
        stacked[:steps, :, -1] = 1.0
        self.stacked = stacked
        return stacked

    def _needs_state_grad(self) -> bool:
        """Whether an initial state wants a gradient; if not, backward skips the last
        recurrent GEMM, whose only use is that gradient."""
        return any(self.needs_input_grad[1 : 1 + self.n_states])

    def _gemm_grads(self, delta_x: Any, delta_h: Any, w_ih: Any,
                    previous: Any = None) -> list[Any]:
        """[gx, gW_ih, gW_hh, gb_ih, gb_hh] from the stacked deltas and S.

        ``delta_x`` (T·N, G·H) multiplies the rows of ``w_ih``, ``delta_h`` the rows of
        W_hh. When they are one array (RNN, LSTM), [gW_hh gW_ih gb] = Δᵀ S is one GEMM;
        the GRU's differ, and take one GEMM for each side, the hidden side's reading the
        previous states from ``previous`` (T·N, H), which S does not hold for it.
        """
        needs = self.needs_input_grad
        n_weights = len(needs) - 1 - self.n_states  # 2, or 4 with the biases
        grads: list[Any] = [None] * (1 + n_weights)
        if needs[0]:
            gx = (delta_x @ w_ih).reshape(self.x_shape_tm)
            grads[0] = caller_layout(gx, self.batch_first, self.reverse)
        if not any(needs[1 + self.n_states :]):
            return grads
        # One GEMM yields every weight's gradient; the engine drops those not wanted.
        hidden = self.hidden
        stacked = self.stacked[:-1].reshape(-1, self.stacked.shape[2])
        if delta_h is delta_x:
            g_all = delta_x.T @ stacked  # [gW_hh gW_ih gb]
            g_ih, g_hh = g_all[:, hidden:], g_all[:, :hidden]
            gb_hh = g_all[:, -1].copy()  # b_ih and b_hh add to the same pre-activations
        else:
            g_ih = delta_x.T @ stacked[:, hidden:]  # [gW_ih gb_ih]
            g_hh = delta_h.T @ previous
            gb_hh = delta_h.sum(axis=0)
        grads[1:] = (g_ih[:, :-1], g_hh, g_ih[:, -1], gb_hh)[:n_weights]
        return grads
