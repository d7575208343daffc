"""A recurrent classifier that reads an image one row per time step."""

from __future__ import annotations

import shenjing.nn as nn
from shenjing.tensor import Tensor

CELLS = {"rnn": nn.RNN, "lstm": nn.LSTM, "gru": nn.GRU}


class RowClassifier(nn.Module):
    """Reads (N, 1, H, W) or (N, H, W) images as H time steps of W features, and
    classifies from the last hidden state: RNN/LSTM/GRU → Linear(hidden, classes).

    Args:
        cell: "rnn" (tanh Elman), "lstm" or "gru".
        input_size: features per step (the image width).
        hidden_size: width of the hidden state.
        num_layers: stacked recurrent layers.
        num_classes: outputs (logits).
    """

    def __init__(self, cell: str = "lstm", input_size: int = 28, hidden_size: int = 128,
                 num_layers: int = 1, num_classes: int = 10) -> None:
        super().__init__()
        if cell not in CELLS:
            raise ValueError(f"RowClassifier: cell must be one of {', '.join(CELLS)}. "
                             f"Received: {cell!r}")
        self.rnn = CELLS[cell](input_size, hidden_size, num_layers=num_layers,
                               batch_first=True)
        self.head = nn.Linear(hidden_size, num_classes)

    def forward(self, x: Tensor) -> Tensor:
        if x.ndim == 4:
            x = x.reshape(x.shape[0], x.shape[2], x.shape[3])
        output, _ = self.rnn(x)
        return self.head(output[:, -1])


def rnn_classifier(cell: str = "lstm", **kwargs: int) -> RowClassifier:
    """A ``RowClassifier``; e.g. ``rnn_classifier("gru", hidden_size=64)``."""
    return RowClassifier(cell, **kwargs)
