"""Convolutional and recurrent training speed, batch 64, against PyTorch:

- LeNet-5 (modern form) training steps/s and inference batches/s;
- a tanh RNN (input 28, hidden 128, 28 steps, last state → Linear 10) training steps/s;
- the same with an LSTM.

Each step: forward, cross-entropy, backward, plain SGD.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from benchmarks.common import Row, rates, torch_or_none

BATCH = 64


def _data() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    return rng.random((BATCH, 1, 28, 28), dtype=np.float32), rng.integers(0, 10, BATCH)


def _shenjing_model(kind: str):  # noqa: ANN202
    import shenjing as sj
    from shenjing.models import lenet5, rnn_classifier

    sj.manual_seed(0)
    return lenet5() if kind == "lenet5" else rnn_classifier(kind, hidden_size=128)


def _shenjing(kind: str, train: bool = True) -> Callable[[], None]:
    import shenjing as sj
    import shenjing.nn.functional as F

    x_np, y_np = _data()
    if kind != "lenet5":
        x_np = x_np.reshape(BATCH, 28, 28)
    model = _shenjing_model(kind)
    opt = sj.optim.SGD(model.parameters(), lr=0.01)
    x, y = sj.tensor(x_np), sj.tensor(y_np)

    def step() -> None:
        loss = F.cross_entropy(model(x), y)
        opt.zero_grad()
        loss.backward()
        opt.step()

    def infer() -> None:
        with sj.no_grad():
            model(x)

    if not train:
        model.eval()
    return step if train else infer


class _TorchRows:
    """The same models in PyTorch."""

    def __init__(self, torch) -> None:  # noqa: ANN001
        self.torch = torch

    def model(self, kind: str):  # noqa: ANN202
        nn = self.torch.nn
        self.torch.manual_seed(0)
        if kind == "lenet5":
            return nn.Sequential(
                nn.Conv2d(1, 6, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2),
                nn.Conv2d(6, 16, 5), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
                nn.Linear(400, 120), nn.ReLU(), nn.Linear(120, 84), nn.ReLU(),
                nn.Linear(84, 10))
        cell = nn.RNN if kind == "rnn" else nn.LSTM

        class Rows(nn.Module):
            def __init__(self) -> None:
                super().__init__()
                self.rnn = cell(28, 128, batch_first=True)
                self.head = nn.Linear(128, 10)

            def forward(self, x):  # noqa: ANN001, ANN202
                out, _ = self.rnn(x)
                return self.head(out[:, -1])

        return Rows()

    def step(self, kind: str, train: bool = True) -> Callable[[], None]:
        torch = self.torch
        x_np, y_np = _data()
        if kind != "lenet5":
            x_np = x_np.reshape(BATCH, 28, 28)
        model = self.model(kind)
        opt = torch.optim.SGD(model.parameters(), lr=0.01)
        x, y = torch.from_numpy(x_np), torch.from_numpy(y_np)

        def step() -> None:
            loss = torch.nn.functional.cross_entropy(model(x), y)
            opt.zero_grad()
            loss.backward()
            opt.step()

        def infer() -> None:
            with torch.no_grad():
                model(x)

        if not train:
            model.eval()
        return step if train else infer


def run() -> tuple[str, list[Row]]:
    """Measure the four benchmarks; returns the table title and rows."""
    torch = torch_or_none()
    theirs = _TorchRows(torch) if torch else None

    rows = []
    for name, unit, kind, train, target in (
        ("LeNet-5 training step, batch 64", "steps/s", "lenet5", True, ">= 1.0x PyTorch"),
        ("LeNet-5 inference, batch 64", "batches/s", "lenet5", False, ""),
        ("tanh RNN 28x28→128 training step, batch 64", "steps/s", "rnn", True,
         ">= 1.5x PyTorch"),
        ("LSTM 28x28→128 training step, batch 64", "steps/s", "lstm", True,
         ">= 1.0x PyTorch"),
    ):
        ours, reference = rates(_shenjing(kind, train),
                                theirs.step(kind, train) if theirs else None)
        rows.append(Row(name, unit, ours, torch=reference, target=target))
    return "CNN and RNN (issue: convolutional and recurrent networks)", rows
