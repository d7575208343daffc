"""Recurrent layers: ``RNN`` (Elman), ``LSTM`` and ``GRU``, stacked and bidirectional.

Each layer and direction is one fused op from ``shenjing.ops.recurrent`` (the whole
sequence forward, backpropagation through time in its backward), so a sequence of any
length adds one graph node per layer and direction.

Constructor arguments, parameter names, shapes and initialisation are PyTorch's, so a
state dict moves between the two libraries: ``weight_ih_l{k}`` (G·H, I_k),
``weight_hh_l{k}`` (G·H, H), ``bias_ih_l{k}`` and ``bias_hh_l{k}`` (G·H,), with a
``_reverse`` suffix for the backward direction, and G = 1, 4 (i, f, g, o) or 3
(r, z, n) stacked gate blocks. ``batch_first`` defaults to False, as in PyTorch: inputs
are (seq, batch, features) unless you pass ``batch_first=True``; the states h_n and c_n
are (num_layers · num_directions, batch, hidden) either way.
"""

from __future__ import annotations

import math
from typing import Any

import shenjing.nn.functional as F
from shenjing import creation, ops
from shenjing.nn import init
from shenjing.nn.layers._factory import apply_factory_kwargs
from shenjing.nn.module import Module
from shenjing.nn.parameter import Parameter
from shenjing.tensor import Tensor

__all__ = ["GRU", "LSTM", "RNN"]


def _check_positive(layer: str, name: str, value: Any) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"{layer}: {name} must be a positive integer. Received: {value!r}")


class _RecurrentBase(Module):
    """The stacking, state handling and checks that RNN, LSTM and GRU share.

    A subclass sets ``gates`` (G) and implements ``_run(x, states, weights, reverse)``,
    returning the layer-direction's output sequence and its final states.
    """

    gates = 1
    n_states = 1  # 2 for the LSTM: (h, c)

    def __init__(self, input_size: int, hidden_size: int, num_layers: int = 1,
                 bias: bool = True, batch_first: bool = False, dropout: float = 0.0,
                 bidirectional: bool = False, device: Any = None, dtype: Any = None) -> None:
        super().__init__()
        name = type(self).__name__
        _check_positive(name, "input_size", input_size)
        _check_positive(name, "hidden_size", hidden_size)
        _check_positive(name, "num_layers", num_layers)
        if isinstance(dropout, bool) or not isinstance(dropout, (int, float)) or not (
            0 <= dropout <= 1
        ):
            raise ValueError(
                f"{name}: dropout must be a probability in [0, 1]. Received: {dropout!r}"
            )
        self.input_size = input_size
        self.hidden_size = hidden_size
        self.num_layers = num_layers
        self.bias = bias
        self.batch_first = batch_first
        self.dropout = float(dropout)
        self.bidirectional = bidirectional
        directions = 2 if bidirectional else 1
        rows = self.gates * hidden_size
        # PyTorch's order: layer by layer, forward direction first, and within each
        # direction weight_ih, weight_hh, bias_ih, bias_hh.
        for layer in range(num_layers):
            layer_input = input_size if layer == 0 else hidden_size * directions
            for suffix in self._suffixes(layer):
                setattr(self, f"weight_ih{suffix}", Parameter(creation.zeros(rows, layer_input)))
                setattr(self, f"weight_hh{suffix}", Parameter(creation.zeros(rows, hidden_size)))
                if bias:
                    setattr(self, f"bias_ih{suffix}", Parameter(creation.zeros(rows)))
                    setattr(self, f"bias_hh{suffix}", Parameter(creation.zeros(rows)))
        self.reset_parameters()
        apply_factory_kwargs(self, device, dtype)

    def _suffixes(self, layer: int) -> list[str]:
        """The parameter-name suffixes of one layer: ``_l0``, and ``_l0_reverse``."""
        return [f"_l{layer}", f"_l{layer}_reverse"] if self.bidirectional else [f"_l{layer}"]

    def reset_parameters(self) -> None:
        """Draw every weight and bias from U(−1/√H, 1/√H), as PyTorch does."""
        bound = 1.0 / math.sqrt(self.hidden_size)
        for p in self.parameters():
            init.uniform_(p, -bound, bound)

    # ---------------------------------------------------------------- forward
    def forward(self, x: Tensor, hx: Any = None) -> tuple[Tensor, Any]:
        """Run the stack over the sequence ``x``.

        Args:
            x: (batch, seq, input_size) when ``batch_first``, else
                (seq, batch, input_size).
            hx: the initial state(s), (num_layers · num_directions, batch, hidden_size)
                each; an (h0, c0) pair for the LSTM; None means zeros.

        Returns:
            (output, h_n), or (output, (h_n, c_n)) for the LSTM. output holds the last
            layer's hidden state at every step, (batch, seq, num_directions · hidden_size)
            (or seq first); h_n (and c_n) the final state of every layer and direction.
        """
        initial = self._check_inputs(x, hx)
        directions = 2 if self.bidirectional else 1
        finals: list[list[Tensor]] = [[] for _ in range(self.n_states)]
        layer_input = x
        for layer in range(self.num_layers):
            if layer > 0 and self.dropout > 0 and self.training:
                layer_input = F.dropout(layer_input, self.dropout, True)
            outputs = []
            for direction, suffix in enumerate(self._suffixes(layer)):
                index = layer * directions + direction
                states = [None if s is None else s[index] for s in initial]
                weights = [getattr(self, f"{kind}{suffix}")
                           for kind in ("weight_ih", "weight_hh", "bias_ih", "bias_hh")
                           if hasattr(self, f"{kind}{suffix}")]
                output, last = self._run(layer_input, states, weights, reverse=direction == 1)
                outputs.append(output)
                for kept, state in zip(finals, last, strict=True):
                    kept.append(state)
            layer_input = outputs[0] if directions == 1 else ops.concat(outputs, axis=-1)
        stacked = [ops.stack(kept, axis=0) for kept in finals]
        return layer_input, (stacked[0] if self.n_states == 1 else tuple(stacked))

    def _run(self, x: Tensor, states: list[Tensor | None], weights: list[Tensor],
             reverse: bool) -> tuple[Tensor, list[Tensor]]:
        raise NotImplementedError

    def _last_step(self, output: Tensor, reverse: bool) -> Tensor:
        """The state after the whole sequence: the last step, or the first when the
        direction runs backwards."""
        step = 0 if reverse else -1
        return output[:, step] if self.batch_first else output[step]

    def _check_inputs(self, x: Tensor, hx: Any) -> list[Tensor | None]:
        """Check x and hx against the layer; return the initial states (or Nones)."""
        name = type(self).__name__
        layout = "(batch, seq, input_size)" if self.batch_first else "(seq, batch, input_size)"
        if not isinstance(x, Tensor):
            raise TypeError(f"{name} expects a Tensor. Received: {type(x).__name__}")
        if x.ndim != 3:
            raise ValueError(
                f"{name} expects a 3-D input {layout} (batch_first={self.batch_first}). "
                f"Received: shape={x.shape}"
            )
        if x.shape[-1] != self.input_size:
            raise ValueError(
                f"{name}: expected input with {self.input_size} features (input_size). "
                f"Received: shape={x.shape}"
            )
        if hx is None:
            return [None] * self.n_states
        batch = x.shape[0] if self.batch_first else x.shape[1]
        directions = 2 if self.bidirectional else 1
        expected = (self.num_layers * directions, batch, self.hidden_size)
        if self.n_states == 2:
            if not isinstance(hx, (tuple, list)) or len(hx) != 2:
                raise TypeError(f"{name}: hx must be a pair (h0, c0). Received: {hx!r:.80}")
            states, labels = list(hx), ["h0", "c0"]
        else:
            states, labels = [hx], ["hx"]
        for label, state in zip(labels, states, strict=True):
            if not isinstance(state, Tensor):
                raise TypeError(f"{name}: {label} must be a Tensor. Received: "
                                f"{type(state).__name__}")
            if state.shape != expected:
                raise ValueError(
                    f"{name}: expected {label} of shape {expected} (num_layers · "
                    f"num_directions, batch, hidden_size). Received: shape={state.shape}"
                )
        return states

    def extra_repr(self) -> str:
        fields = [f"{self.input_size}", f"{self.hidden_size}"]
        if self.num_layers != 1:
            fields.append(f"num_layers={self.num_layers}")
        if not self.bias:
            fields.append("bias=False")
        if self.batch_first:  # shown only when set, as PyTorch's repr does
            fields.append("batch_first=True")
        if self.dropout:
            fields.append(f"dropout={self.dropout}")
        if self.bidirectional:
            fields.append("bidirectional=True")
        return ", ".join(fields)


class RNN(_RecurrentBase):
    """The Elman RNN, h_t = tanh(x_t W_ihᵀ + b_ih + h_{t-1} W_hhᵀ + b_hh) (or relu),
    with PyTorch's arguments and parameter names; ``batch_first`` defaults to False
    (PyTorch's default).

    Args:
        input_size, hidden_size: features per input step and per hidden state.
        num_layers: stacked layers, each reading the one below.
        nonlinearity: "tanh" or "relu".
        bias: whether to learn b_ih and b_hh.
        batch_first: inputs and outputs are (batch, seq, features) when True,
            (seq, batch, features) when False (the default, as in PyTorch).
        dropout: dropout probability on each layer's output but the last, in training.
        bidirectional: also run each layer from the last step to the first, and
            concatenate the two directions' outputs.

    Example:
        >>> import shenjing as sj
        >>> import shenjing.nn as nn
        >>> output, h_n = nn.RNN(3, 5, num_layers=2)(sj.randn(7, 4, 3))  # (seq, batch, features)
        >>> output.shape, h_n.shape
        ((7, 4, 5), (2, 4, 5))
    """

    def __init__(self, input_size: int, hidden_size: int, num_layers: int = 1,
                 nonlinearity: str = "tanh", bias: bool = True, batch_first: bool = False,
                 dropout: float = 0.0, bidirectional: bool = False, device: Any = None,
                 dtype: Any = None) -> None:
        if nonlinearity not in ("tanh", "relu"):
            raise ValueError(
                f"RNN: nonlinearity must be 'tanh' or 'relu'. Received: {nonlinearity!r}"
            )
        self.nonlinearity = nonlinearity
        super().__init__(input_size, hidden_size, num_layers, bias, batch_first, dropout,
                         bidirectional, device, dtype)

    def _run(self, x: Tensor, states: list[Tensor | None], weights: list[Tensor],
             reverse: bool) -> tuple[Tensor, list[Tensor]]:
        output = ops.rnn(x, states[0], *weights, nonlinearity=self.nonlinearity,
                         batch_first=self.batch_first, reverse=reverse)
        return output, [self._last_step(output, reverse)]

    def extra_repr(self) -> str:
        extra = super().extra_repr()
        return extra if self.nonlinearity == "tanh" else f"{extra}, nonlinearity=relu"


class LSTM(_RecurrentBase):
    """The LSTM (gates i, f, g, o; c_t = f ⊙ c_{t-1} + i ⊙ g, h_t = o ⊙ tanh(c_t)), with
    PyTorch's arguments and parameter names; ``batch_first`` defaults to False
    (PyTorch's default).

    Arguments as for ``RNN`` (no ``nonlinearity``); ``forward(x, (h0, c0))`` returns
    ``(output, (h_n, c_n))``.

    Example:
        >>> import shenjing as sj
        >>> import shenjing.nn as nn
        >>> output, (h_n, c_n) = nn.LSTM(3, 5, batch_first=True)(sj.randn(4, 7, 3))
        >>> output.shape, h_n.shape, c_n.shape
        ((4, 7, 5), (1, 4, 5), (1, 4, 5))
    """

    gates = 4
    n_states = 2

    def _run(self, x: Tensor, states: list[Tensor | None], weights: list[Tensor],
             reverse: bool) -> tuple[Tensor, list[Tensor]]:
        hc = ops.lstm(x, states[0], states[1], *weights, batch_first=self.batch_first,
                      reverse=reverse)
        output, cells = hc[0], hc[1]
        return output, [self._last_step(output, reverse), self._last_step(cells, reverse)]


class GRU(_RecurrentBase):
    """The GRU (gates r, z, n; n = tanh(W_in x + b_in + r ⊙ (W_hn h + b_hn)),
    h_t = (1 − z) ⊙ n + z ⊙ h_{t-1}), with PyTorch's arguments and parameter names;
    ``batch_first`` defaults to False (PyTorch's default).

    Arguments as for ``RNN`` (no ``nonlinearity``).

    Example:
        >>> import shenjing as sj
        >>> import shenjing.nn as nn
        >>> output, h_n = nn.GRU(3, 5, bidirectional=True, batch_first=True)(
        ...     sj.randn(4, 7, 3))
        >>> output.shape, h_n.shape
        ((4, 7, 10), (2, 4, 5))
    """

    gates = 3

    def _run(self, x: Tensor, states: list[Tensor | None], weights: list[Tensor],
             reverse: bool) -> tuple[Tensor, list[Tensor]]:
        output = ops.gru(x, states[0], *weights, batch_first=self.batch_first,
                         reverse=reverse)
        return output, [self._last_step(output, reverse)]
