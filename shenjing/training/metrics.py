"""Streaming metrics for ``fit`` and ``evaluate``: updated batch by batch, read per epoch.

Each metric keeps a running total and a count, so an epoch's value is exact whatever the
batch sizes. They work on raw arrays (model outputs and targets), never on the graph.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from shenjing.backend import get_array_module


class Metric:
    """A running mean of a per-sample quantity; subclasses define ``per_sample``."""

    name = "metric"

    def __init__(self) -> None:
        self.total = 0.0
        self.count = 0

    def per_sample(self, output: Any, target: Any) -> Any:
        """The metric of each sample (an array with one entry per sample)."""
        raise NotImplementedError

    def update(self, output: Any, target: Any) -> None:
        """Add one batch."""
        values = self.per_sample(output, target)
        # Summed where the values live, in float64: a GPU batch is read back only by
        # result(), not once per update.
        self.total = values.sum(dtype=np.float64) + self.total
        self.count += values.size

    def result(self) -> float:
        """The mean over everything added since the last reset."""
        return float(self.total) / self.count if self.count else float("nan")

    def reset(self) -> None:
        """Forget everything added."""
        self.total, self.count = 0.0, 0


class Accuracy(Metric):
    """Fraction of samples whose largest output is the labelled class (integer labels)."""

    name = "accuracy"

    def per_sample(self, output: Any, target: Any) -> Any:
        return output.argmax(axis=1) == target


class CategoricalAccuracy(Metric):
    """Fraction of samples whose largest output is where the one-hot target's is."""

    name = "categorical_accuracy"

    def per_sample(self, output: Any, target: Any) -> Any:
        return output.argmax(axis=1) == target.argmax(axis=1)


class BinaryAccuracy(Metric):
    """Fraction of samples whose output, thresholded, equals the 0/1 target.

    Args:
        threshold: 0.5 for probabilities; 0.0 for logits.
    """

    name = "binary_accuracy"

    def __init__(self, threshold: float = 0.5) -> None:
        super().__init__()
        self.threshold = threshold

    def per_sample(self, output: Any, target: Any) -> Any:
        return (output > self.threshold).reshape(target.shape) == (target > 0.5)


class TopKAccuracy(Metric):
    """Fraction of samples whose labelled class is among the ``k`` largest outputs."""

    def __init__(self, k: int = 5) -> None:
        super().__init__()
        self.k = k
        self.name = f"top_{k}_accuracy"

    def per_sample(self, output: Any, target: Any) -> Any:
        k = min(self.k, output.shape[1])
        top = get_array_module(output).argpartition(-output, k - 1, axis=1)[:, :k]
        return (top == target.reshape(-1, 1)).any(axis=1)


class MeanAbsoluteError(Metric):
    """Mean of |output − target| over every element."""

    name = "mae"

    def per_sample(self, output: Any, target: Any) -> Any:
        return abs(output - target.reshape(output.shape))


class MeanSquaredError(Metric):
    """Mean of (output − target)² over every element."""

    name = "mse"

    def per_sample(self, output: Any, target: Any) -> Any:
        return (output - target.reshape(output.shape)) ** 2
