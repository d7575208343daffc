"""A simple (Elman) RNN, hₜ = tanh(W_ih xₜ + W_hh hₜ₋₁ + b), learns to add up a sequence
of numbers it reads one at a time; a linear layer reads the sum off the last hₜ.

Run ``python examples/rnn.py``; ``--full`` trains on longer sequences, and also trains a
row-by-row image classifier (``shenjing.models.rnn_classifier("rnn")``: each 28-pixel
row of an image is one time step) on the bundled Fashion-MNIST subset.
"""

from __future__ import annotations

import numpy as np
from _common import Checks, parse_args

import shenjing as sj
import shenjing.nn as nn
from shenjing.models import rnn_classifier


class SequenceSum(nn.Module):
    """RNN over (N, T, 1) sequences, then Linear(hidden, 1) on the last hidden state."""

    def __init__(self, hidden_size: int = 16) -> None:
        super().__init__()
        self.rnn = nn.RNN(1, hidden_size, batch_first=True)
        self.head = nn.Linear(hidden_size, 1)

    def forward(self, x: sj.Tensor) -> sj.Tensor:
        output, _ = self.rnn(x)
        return self.head(output[:, -1])


def learn_to_sum(steps: int, epochs: int, check: Checks) -> None:
    rng = np.random.default_rng(0)
    x_train = rng.uniform(-0.5, 0.5, size=(2000, steps, 1)).astype(np.float32)
    x_test = rng.uniform(-0.5, 0.5, size=(200, steps, 1)).astype(np.float32)
    model = SequenceSum()
    model.compile(optimizer=sj.optim.Adam(lr=1e-2), loss="mse")
    history = model.fit(x_train, x_train.sum(axis=1), epochs=epochs, batch_size=32,
                        verbose=0)
    test_mse = model.evaluate(x_test, x_test.sum(axis=1))["loss"]
    # Predicting the mean (zero) scores the variance of the sum, steps/12.
    baseline = steps / 12
    print(f"sequences of {steps}: training MSE {history.history['loss'][0]:.4f} → "
          f"{history.history['loss'][-1]:.4f}; test MSE {test_mse:.4f} "
          f"(guessing 0 scores {baseline:.3f})")
    probe = np.array([[[0.1], [0.2], [-0.3], [0.4]] + [[0.0]] * (steps - 4)], np.float32)
    shown = [round(float(v), 2) for v in probe[0, :4, 0]]
    print(f"  the sum of {shown} (then zeros) is 0.4; the RNN says "
          f"{model.predict(probe)[0, 0]:.3f}")
    check(test_mse < baseline / 20, f"test MSE {test_mse:.4f} < 1/20 of guessing "
          f"({baseline / 20:.4f})")


def row_classifier(check: Checks) -> None:
    (x_train, y_train), (x_test, y_test) = sj.data.load_fashion_mnist_small()
    sj.manual_seed(0)
    model = rnn_classifier("rnn", hidden_size=128)
    model.compile(optimizer=sj.optim.Adam(lr=2e-3), loss="cross_entropy",
                  metrics=["accuracy"])
    model.fit(x_train, y_train, epochs=10, batch_size=64, verbose=0)
    accuracy = model.evaluate(x_test, y_test)["accuracy"]
    print(f"row-by-row RNN on Fashion-MNIST: test accuracy {accuracy:.4f}")
    check(accuracy >= 0.75, f"row classifier accuracy {accuracy:.4f} >= 0.75")


def main() -> None:
    args = parse_args(__doc__, "longer sequences, and a row-by-row image classifier")
    check = Checks()
    sj.manual_seed(0)
    learn_to_sum(steps=20 if args.full else 8, epochs=30 if args.full else 10, check=check)
    if args.full:
        row_classifier(check)
    check.finish()


if __name__ == "__main__":
    main()
