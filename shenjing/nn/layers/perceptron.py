"""``Perceptron``: Rosenblatt's threshold unit, trained by the perceptron learning rule."""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np

import shenjing.nn.functional as F
from shenjing import creation
from shenjing.autograd import no_grad
from shenjing.nn.module import Module
from shenjing.nn.parameter import Parameter
from shenjing.tensor import Tensor

__all__ = ["Perceptron", "PerceptronConvergenceWarning"]


class PerceptronConvergenceWarning(UserWarning):
    """``Perceptron.fit`` ran out of epochs with samples still misclassified."""


def _as_numpy(value: Any) -> np.ndarray:
    if isinstance(value, Tensor):
        return value.numpy()
    if hasattr(value, "to_numpy"):
        return np.asarray(value.to_numpy())
    return np.asarray(value)


class Perceptron(Module):
    """A single linear threshold unit: y = step(w·x + b), 1 where w·x + b > 0, else 0.

    It learns by the perceptron rule, not by gradients (the step's derivative is zero
    wherever it exists). For each sample x with target t ∈ {0, 1}, in turn::

        y = step(w·x + b)
        w ← w + η (t − y) x
        b ← b + η (t − y)

    so nothing changes when the unit is right, and a mistake moves the boundary towards
    the misclassified sample. If the two classes can be split by a hyperplane, the rule
    reaches zero mistakes in a finite number of epochs (Novikoff's theorem); if not
    (XOR is the classic case), it cycles for ever, and ``fit`` reports that it did not
    converge.

    The weights are parameters that need no gradient (``weight`` of shape
    (1, in_features) and ``bias`` of shape (1,), PyTorch's ``Linear`` layout), starting
    at zero so that training is deterministic.

    Args:
        in_features: the number of inputs.
        lr: the learning rate η (with zero initial weights any η > 0 makes the same
            mistakes; it only scales w and b).
        max_epochs: passes over the data before ``fit`` gives up.

    Attributes:
        converged_: whether the last ``fit`` ended an epoch with no mistakes.
        epochs_: epochs the last ``fit`` ran.
        errors_: mistakes in each of those epochs.
        message_: what the last ``fit`` found, in words.

    Example:
        >>> import shenjing.nn as nn
        >>> unit = nn.Perceptron(2)
        >>> unit.fit([[0, 0], [0, 1], [1, 0], [1, 1]], [1, 1, 1, 0]).converged_    # NAND
        True
        >>> unit.predict([[0, 0], [1, 1]]).tolist()
        [1, 0]
    """

    def __init__(self, in_features: int, lr: float = 1.0, max_epochs: int = 100) -> None:
        super().__init__()
        if isinstance(in_features, bool) or not isinstance(in_features, int) or in_features < 1:
            raise ValueError(
                f"Perceptron: in_features must be a positive integer. Received: {in_features!r}"
            )
        if not lr > 0:
            raise ValueError(f"Perceptron: lr must be positive. Received: {lr!r}")
        if isinstance(max_epochs, bool) or not isinstance(max_epochs, int) or max_epochs < 1:
            raise ValueError(
                f"Perceptron: max_epochs must be a positive integer. Received: {max_epochs!r}"
            )
        self.in_features = in_features
        self.lr = float(lr)
        self.max_epochs = max_epochs
        self.weight = Parameter(creation.zeros(1, in_features), requires_grad=False)
        self.bias = Parameter(creation.zeros(1), requires_grad=False)
        self.converged_: bool | None = None
        self.epochs_ = 0
        self.errors_: list[int] = []
        self.message_ = "not trained"

    def forward(self, x: Tensor) -> Tensor:
        """step(x wᵀ + b), shape (n, 1)."""
        if x.ndim != 2 or x.shape[1] != self.in_features:
            raise ValueError(
                f"Perceptron expects input of shape (n, {self.in_features}). "
                f"Received: shape={x.shape}"
            )
        return F.step(F.linear(x, self.weight, self.bias))

    def _inputs(self, X: Any, method: str) -> np.ndarray:
        x = _as_numpy(X).astype(np.float32)
        if x.ndim != 2 or x.shape[1] != self.in_features:
            raise ValueError(
                f"Perceptron.{method} expects X of shape (n, {self.in_features}). "
                f"Received: shape={x.shape}"
            )
        return x

    def fit(self, X: Any, y: Any) -> Perceptron:
        """Train by the perceptron rule, from zero weights, until an epoch makes no
        mistake or ``max_epochs`` run out; returns the unit (scikit-learn's convention),
        whose ``converged_`` says whether it converged.

        Warns (``PerceptronConvergenceWarning``) when it did not converge.

        Args:
            X: (n, in_features) inputs.
            y: n targets, each 0 or 1.
        """
        x = self._inputs(X, "fit")
        t = _as_numpy(y).reshape(-1)
        if len(t) != len(x):
            raise ValueError(
                f"Perceptron.fit: X and y have different lengths. Received: {len(x)} and "
                f"{len(t)}"
            )
        if not np.isin(t, (0, 1)).all():
            raise ValueError(
                f"Perceptron.fit: targets must be 0 or 1. Received: {np.unique(t).tolist()}"
            )
        t = t.astype(np.float32)
        w, b = self.weight.array[0], self.bias.array
        w.fill(0.0)
        b.fill(0.0)
        self.errors_ = []
        self.converged_ = False
        # The rule is sequential by nature: each update changes the next prediction, so
        # the samples are visited one at a time (this is a teaching unit, not a hot path).
        for _ in range(self.max_epochs):
            mistakes = 0
            for xi, ti in zip(x, t, strict=True):
                error = ti - float(xi @ w + b[0] > 0)
                if error:
                    w += (self.lr * error) * xi
                    b += self.lr * error
                    mistakes += 1
            self.errors_.append(mistakes)
            if mistakes == 0:
                self.converged_ = True
                break
        self.epochs_ = len(self.errors_)
        if self.converged_:
            self.message_ = f"converged after {self.epochs_} epochs"
        else:
            self.message_ = (
                f"did not converge in {self.max_epochs} epochs: {self.errors_[-1]} of "
                f"{len(x)} samples were still misclassified in the last epoch. A single "
                "linear threshold unit can only separate classes that a straight line "
                "(a hyperplane) divides; XOR, for one, cannot be divided so, which is why "
                "networks have hidden layers"
            )
            warnings.warn(f"Perceptron {self.message_}", PerceptronConvergenceWarning,
                          stacklevel=2)
        return self

    def predict(self, X: Any) -> np.ndarray:
        """The unit's outputs, 0 or 1, as an int64 array of shape (n,)."""
        x = self._inputs(X, "predict")
        with no_grad():
            return self(Tensor(x)).numpy()[:, 0].astype(np.int64)

    def extra_repr(self) -> str:
        return f"in_features={self.in_features}, lr={self.lr}, max_epochs={self.max_epochs}"
