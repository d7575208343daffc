"""What the recurrent ops of ``shenjing.ops.recurrent`` share: the time-major layout
and the base class with the input projection and the weight
gradients as single GEMMs (see that module's docstring for why)."""

from __future__ import annotations

from typing import Any

from shenjing.autograd.function import Function
from shenjing.backend import get_array_module


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


class Recurrence(Function):
    """What the three cells share: the input projection and the GEMM gradients.

    Inputs are ``(x, *states, W_ih, W_hh[, b_ih, b_hh])``; ``n_states`` is 1 (h0) or 2
    (h0, c0).
    """

    n_states = 1

    def _project_inputs(self, x: Any, w_ih: Any, bias: Any, batch_first: bool,
                        reverse: bool, out: Any = None) -> Any:
        """X W_ihᵀ + bias for every step, as (T, N, G·H) (written into ``out`` if given):
        the whole input side of the recurrence in one GEMM.

        X, the inputs as (T·N, I) in processing order, gets a column of ones, so the
        bias rides in the same GEMM, [X 1] [W_ih b]ᵀ, instead of a pass of its own; in
        backward, Δᵀ [X 1] = [gW_ih gb] likewise. ``self.x_aug`` keeps [X 1].
        """
        xp = get_array_module(x)
        self.batch_first, self.reverse = batch_first, reverse
        xs = time_major(x, batch_first, reverse)
        steps, batch, features = xs.shape
        self.x_shape_tm = xs.shape
        self.x_aug = xp.empty((steps, batch, features + 1), dtype=x.dtype)
        self.x_aug[..., :features] = xs
        self.x_aug[..., features] = 1.0
        self.x_aug = self.x_aug.reshape(steps * batch, features + 1)
        w_aug = xp.concatenate([w_ih, bias[:, None]], axis=1)
        if out is None:
            out = xp.empty((steps, batch, w_ih.shape[0]), dtype=x.dtype)
        xp.matmul(self.x_aug, w_aug.T, out=out.reshape(steps * batch, -1))
        return out

    def _needs_state_grad(self) -> bool:
        """Whether an initial state wants a gradient; if not, backward skips the last
        recurrent GEMM, whose only use is that gradient."""
        return any(self.needs_input_grad[1 : 1 + self.n_states])

    def _gemm_grads(self, delta_x: Any, delta_h: Any, h_prev: Any, w_ih: Any) -> list[Any]:
        """[gx, gW_ih, gW_hh, gb_ih, gb_hh] from the stacked deltas, one GEMM each.

        ``delta_x`` (T·N, G·H) multiplies the rows of ``w_ih``, ``delta_h`` the rows of
        W_hh (they differ only for the GRU); ``h_prev`` is H_prev as (T·N, H).
        """
        needs = self.needs_input_grad
        need_w_ih, need_w_hh, *need_biases = needs[1 + self.n_states :]
        need_b_ih = bool(need_biases) and need_biases[0]
        grads: list[Any] = [None] * (3 + len(need_biases))
        if needs[0]:
            gx = (delta_x @ w_ih).reshape(self.x_shape_tm)
            grads[0] = caller_layout(gx, self.batch_first, self.reverse)
        if need_w_ih or need_b_ih:
            gw_aug = delta_x.T @ self.x_aug  # [gW_ih gb_ih]
            if need_w_ih:
                grads[1] = gw_aug[:, :-1]
            if need_b_ih:
                grads[3] = gw_aug[:, -1]
        if need_w_hh:
            grads[2] = delta_h.T @ h_prev
        if need_biases and need_biases[1]:
            # b_ih and b_hh add to the same pre-activations unless the cell is a GRU.
            same = delta_h is delta_x and grads[3] is not None
            grads[4] = grads[3].copy() if same else delta_h.sum(axis=0)
        return grads
