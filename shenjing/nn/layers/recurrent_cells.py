"""One step of a recurrent layer: ``RNNCell``, ``LSTMCell`` and ``GRUCell``.

Each is the fused sequence op of ``shenjing.ops.recurrent`` run over a sequence of one
step, so a cell and the full layer share one forward and one backward. Parameters are
PyTorch's: ``weight_ih`` (G·H, I), ``weight_hh`` (G·H, H), ``bias_ih`` and ``bias_hh``
(G·H,), with the gate blocks in PyTorch's order (LSTM i, f, g, o; GRU r, z, n), so a
state dict moves between the two libraries.
"""

from __future__ import annotations

import math
from typing import Any

from shenjing import creation, ops
from shenjing.nn import init
from shenjing.nn.layers._factory import apply_factory_kwargs
from shenjing.nn.module import Module
from shenjing.nn.parameter import Parameter
from shenjing.tensor import Tensor

__all__ = ["GRUCell", "LSTMCell", "RNNCell"]


class _CellBase(Module):
    """The parameters, initialisation and input checks the three cells share."""

    gates = 1

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True,
                 device: Any = None, dtype: Any = None) -> None:
        super().__init__()
        name = type(self).__name__
        for label, value in (("input_size", input_size), ("hidden_size", hidden_size)):
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"{name}: {label} must be a positive integer. Received: "
                                 f"{value!r}")
        self.input_size, self.hidden_size, self.bias = input_size, hidden_size, bias
        rows = self.gates * hidden_size
        self.weight_ih = Parameter(creation.zeros(rows, input_size))
        self.weight_hh = Parameter(creation.zeros(rows, hidden_size))
        if bias:
            self.bias_ih = Parameter(creation.zeros(rows))
            self.bias_hh = Parameter(creation.zeros(rows))
        else:
            self.register_parameter("bias_ih", None)
            self.register_parameter("bias_hh", None)
        self.reset_parameters()
        apply_factory_kwargs(self, device, dtype)

    def reset_parameters(self) -> None:
        """Draw every weight and bias from U(−1/√H, 1/√H), as PyTorch does."""
        bound = 1.0 / math.sqrt(self.hidden_size)
        for p in self.parameters():
            init.uniform_(p, -bound, bound)

    def _weights(self) -> list[Tensor]:
        weights = [self.weight_ih, self.weight_hh]
        return weights + ([self.bias_ih, self.bias_hh] if self.bias else [])

    def _check(self, x: Tensor, states: list[Any]) -> tuple[Tensor, list[Any], bool]:
        """x as (N, I) and the states as (N, H) (None stays None); whether the input was
        one unbatched step (I,), whose result drops the batch dim again."""
        name = type(self).__name__
        if not isinstance(x, Tensor):
            raise TypeError(f"{name} expects a Tensor. Received: {type(x).__name__}")
        if x.ndim not in (1, 2) or x.shape[-1] != self.input_size:
            raise ValueError(f"{name}: expected input of shape (batch, {self.input_size}) or "
                             f"({self.input_size},). Received: shape={x.shape}")
        unbatched = x.ndim == 1
        if unbatched:
            x = x.unsqueeze(0)
        checked = []
        for state in states:
            if state is not None:
                expected = (self.hidden_size,) if unbatched else (x.shape[0], self.hidden_size)
                if not isinstance(state, Tensor) or state.shape != expected:
                    shape = getattr(state, "shape", type(state).__name__)
                    raise ValueError(f"{name}: expected a hidden state of shape {expected}. "
                                     f"Received: {shape}")
                state = state.unsqueeze(0) if unbatched else state
            checked.append(state)
        return x, checked, unbatched

    def extra_repr(self) -> str:
        extra = f"{self.input_size}, {self.hidden_size}"
        return extra if self.bias else f"{extra}, bias=False"


class RNNCell(_CellBase):
    """One Elman step, h' = tanh(x W_ihᵀ + b_ih + h W_hhᵀ + b_hh) (or relu), as
    PyTorch's ``nn.RNNCell``; ``forward(input, hx=None)`` returns h' (N, H).

    Example:
        >>> import shenjing as sj
        >>> import shenjing.nn as nn
        >>> nn.RNNCell(3, 5)(sj.randn(4, 3)).shape
        (4, 5)
    """

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True,
                 nonlinearity: str = "tanh", device: Any = None, dtype: Any = None) -> None:
        if nonlinearity not in ("tanh", "relu"):
            raise ValueError(f"RNNCell: nonlinearity must be 'tanh' or 'relu'. Received: "
                             f"{nonlinearity!r}")
        self.nonlinearity = nonlinearity
        super().__init__(input_size, hidden_size, bias, device, dtype)

    def forward(self, input: Tensor, hx: Tensor | None = None) -> Tensor:
        x, (h,), unbatched = self._check(input, [hx])
        out = ops.rnn(x.unsqueeze(1), h, *self._weights(), nonlinearity=self.nonlinearity,
                      batch_first=True)[:, 0]
        return out[0] if unbatched else out

    def extra_repr(self) -> str:
        extra = super().extra_repr()
        return extra if self.nonlinearity == "tanh" else f"{extra}, nonlinearity=relu"


class LSTMCell(_CellBase):
    """One LSTM step (gates i, f, g, o): c' = f ⊙ c + i ⊙ g, h' = o ⊙ tanh(c'), as
    PyTorch's ``nn.LSTMCell``; ``forward(input, (h, c)=None)`` returns (h', c').

    Example:
        >>> import shenjing as sj
        >>> import shenjing.nn as nn
        >>> h, c = nn.LSTMCell(3, 5)(sj.randn(4, 3))
        >>> h.shape, c.shape
        ((4, 5), (4, 5))
    """

    gates = 4

    def forward(self, input: Tensor, hx: Any = None) -> tuple[Tensor, Tensor]:
        if hx is not None and (not isinstance(hx, (tuple, list)) or len(hx) != 2):
            raise TypeError(f"LSTMCell: hx must be a pair (h, c). Received: {hx!r:.80}")
        x, (h, c), unbatched = self._check(input, [None, None] if hx is None else list(hx))
        hc = ops.lstm(x.unsqueeze(1), h, c, *self._weights(), batch_first=True)[:, :, 0]
        h_next, c_next = hc[0], hc[1]
        return (h_next[0], c_next[0]) if unbatched else (h_next, c_next)


class GRUCell(_CellBase):
    """One GRU step (gates r, z, n): n = tanh(W_in x + b_in + r ⊙ (W_hn h + b_hn)),
    h' = (1 − z) ⊙ n + z ⊙ h, as PyTorch's ``nn.GRUCell``; returns h' (N, H).

    Example:
        >>> import shenjing as sj
        >>> import shenjing.nn as nn
        >>> nn.GRUCell(3, 5)(sj.randn(4, 3)).shape
        (4, 5)
    """

    gates = 3

    def forward(self, input: Tensor, hx: Tensor | None = None) -> Tensor:
        x, (h,), unbatched = self._check(input, [hx])
        out = ops.gru(x.unsqueeze(1), h, *self._weights(), batch_first=True)[:, 0]
        return out[0] if unbatched else out
