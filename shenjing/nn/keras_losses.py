"""Keras's cross-entropy losses under Keras's names and meanings (``sj.losses``).

Keras's losses take ``(y_true, y_pred)`` (target first, the reverse of PyTorch's) and,
unless ``from_logits=True``, *probabilities*: the output of a softmax or sigmoid head.
shenjing's own names (``F.cross_entropy``, ``loss="cross_entropy"``) take logits, as in
PyTorch; these are the Keras ones, so that ``Dense(10, activation="softmax")`` with
``loss="sparse_categorical_crossentropy"`` computes what it computes in Keras.

Math, for probabilities p over C classes (ε = 1e-7, Keras's ``backend.epsilon()``):

    categorical:   q = clip(p / Σ_c p_c, ε, 1 − ε);   loss_i = −Σ_c y_ic log q_ic
    sparse:        the same with y_i one-hot at the label
    binary:        q = clip(p, ε, 1 − ε);   loss_i = −mean_c [y log q + (1 − y) log(1 − q)]

with ``from_logits=True`` the log-softmax (or the stable BCE-with-logits) of the raw
outputs instead, unclipped. The probabilities are normalised before they are clipped, as
Keras's NumPy, JAX and PyTorch backends do. Everything is built from differentiable ops,
so the gradient is that of the formula (zero where the clip is active, as in Keras).
"""

from __future__ import annotations

from typing import Any

from shenjing import ops
from shenjing.ops.activation import log_softmax
from shenjing.ops.loss import binary_cross_entropy_with_logits
from shenjing.ops.loss_class import nll_loss
from shenjing.tensor import Tensor, as_tensor

EPSILON = 1e-7  # Keras's backend.epsilon()
REDUCTIONS = ("sum_over_batch_size", "sum", "none", None)

__all__ = [
    "BinaryCrossentropy",
    "CategoricalCrossentropy",
    "Loss",
    "SparseCategoricalCrossentropy",
    "binary_crossentropy",
    "categorical_crossentropy",
    "sparse_categorical_crossentropy",
]


def _check_axis(name: str, axis: int) -> None:
    if axis != -1:
        raise ValueError(f"{name}: only axis=-1 (the class axis last) is supported. "
                         f"Received: axis={axis!r}")


def _log_probs(name: str, y_pred: Tensor, from_logits: bool) -> Tensor:
    """log q of the formula: the log-softmax of logits, or log of the normalised and
    clipped probabilities."""
    if from_logits:
        return log_softmax(y_pred, -1)
    total = ops.sum(y_pred, axis=-1, keepdims=True)
    return ops.log(ops.clip(y_pred / total, EPSILON, 1.0 - EPSILON))


def sparse_categorical_crossentropy(y_true: Any, y_pred: Any, from_logits: bool = False,
                                    ignore_class: int | None = None,
                                    axis: int = -1) -> Tensor:
    """Per-sample cross-entropy of integer labels ``y_true`` (shape ``y_pred.shape[:-1]``,
    or with a trailing 1) against probabilities (or logits) ``y_pred``, as Keras's."""
    name = "sparse_categorical_crossentropy"
    _check_axis(name, axis)
    if ignore_class is not None:
        raise ValueError(f"{name}: ignore_class is not supported. Received: {ignore_class!r}")
    y_pred = as_tensor(y_pred)
    y_true = as_tensor(y_true)
    if y_true.ndim == y_pred.ndim and y_true.shape[-1] == 1:  # Keras's (N, 1) labels
        y_true = y_true.reshape(y_true.shape[:-1])
    if y_true.shape != y_pred.shape[:-1]:
        raise ValueError(
            f"{name}: labels of shape {y_pred.shape[:-1]} (the outputs' shape without the "
            f"class axis) expected. Received: y_true.shape={y_true.shape}, "
            f"y_pred.shape={y_pred.shape}"
        )
    labels = y_true.array.astype("int64").reshape(-1)
    classes = y_pred.shape[-1]
    log_q = _log_probs(name, y_pred, from_logits).reshape(-1, classes)
    losses = nll_loss(log_q, Tensor._make(labels, None), reduction="none")
    return losses.reshape(y_true.shape)


def categorical_crossentropy(y_true: Any, y_pred: Any, from_logits: bool = False,
                             label_smoothing: float = 0.0, axis: int = -1) -> Tensor:
    """Per-sample cross-entropy of one-hot (or soft) targets against probabilities (or
    logits), as Keras's; ``label_smoothing`` mixes the targets with the uniform."""
    name = "categorical_crossentropy"
    _check_axis(name, axis)
    y_pred = as_tensor(y_pred)
    y_true = as_tensor(y_true, like=y_pred)
    if y_true.shape != y_pred.shape:
        raise ValueError(
            f"{name}: one-hot targets of the outputs' shape expected (use "
            f"sparse_categorical_crossentropy for integer labels). Received: "
            f"y_true.shape={y_true.shape}, y_pred.shape={y_pred.shape}"
        )
    y_true = y_true.astype(y_pred.dtype)
    if label_smoothing:
        y_true = y_true * (1.0 - label_smoothing) + label_smoothing / y_pred.shape[-1]
    return -ops.sum(y_true * _log_probs(name, y_pred, from_logits), axis=-1)


def binary_crossentropy(y_true: Any, y_pred: Any, from_logits: bool = False,
                        label_smoothing: float = 0.0, axis: int = -1) -> Tensor:
    """Per-sample binary cross-entropy, averaged over the last axis, as Keras's."""
    _check_axis("binary_crossentropy", axis)
    y_pred = as_tensor(y_pred)
    y_true = as_tensor(y_true, like=y_pred)
    if y_true.shape != y_pred.shape:
        if y_true.ndim + 1 == y_pred.ndim and y_pred.shape[-1] == 1:
            y_true = y_true.reshape(y_pred.shape)  # (N,) targets of a (N, 1) head
        else:
            raise ValueError(
                f"binary_crossentropy: targets of the outputs' shape expected. Received: "
                f"y_true.shape={y_true.shape}, y_pred.shape={y_pred.shape}"
            )
    y_true = y_true.astype(y_pred.dtype)
    if label_smoothing:
        y_true = y_true * (1.0 - label_smoothing) + 0.5 * label_smoothing
    if from_logits:
        elementwise = binary_cross_entropy_with_logits(y_pred, y_true, reduction="none")
    else:
        q = ops.clip(y_pred, EPSILON, 1.0 - EPSILON)
        elementwise = -(y_true * ops.log(q) + (1.0 - y_true) * ops.log(1.0 - q))
    return ops.mean(elementwise, axis=-1)


class Loss:
    """A Keras loss object: ``loss(y_true, y_pred, sample_weight=None)`` gives the
    reduced loss ("sum_over_batch_size": the mean; "sum"; or "none": per sample)."""

    kind = ""  # what the targets and outputs are; read by compile (training/registry)

    def __init__(self, reduction: str | None = "sum_over_batch_size",
                 name: str | None = None) -> None:
        if reduction not in REDUCTIONS:
            raise ValueError(f"{type(self).__name__}: reduction must be one of "
                             f"{REDUCTIONS}. Received: {reduction!r}")
        self.reduction = reduction
        self.name = name

    def call(self, y_true: Any, y_pred: Any) -> Tensor:
        """The per-sample losses."""
        raise NotImplementedError

    def __call__(self, y_true: Any, y_pred: Any, sample_weight: Any = None) -> Tensor:
        losses = self.call(y_true, y_pred)
        if sample_weight is not None:
            losses = losses * as_tensor(sample_weight, like=losses)
        if self.reduction in ("none", None):
            return losses
        total = ops.sum(losses)
        if self.reduction == "sum":
            return total
        return total / max(losses.array.size, 1)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(from_logits={self.from_logits})"


class SparseCategoricalCrossentropy(Loss):
    """Keras's ``SparseCategoricalCrossentropy``: integer labels, probabilities unless
    ``from_logits=True``.

    Example:
        >>> import shenjing as sj
        >>> loss = sj.losses.SparseCategoricalCrossentropy()
        >>> round(loss(sj.tensor([0]), sj.tensor([[0.5, 0.5]])).item(), 4)
        0.6931
    """

    def __init__(self, from_logits: bool = False, ignore_class: int | None = None,
                 reduction: str | None = "sum_over_batch_size",
                 name: str = "sparse_categorical_crossentropy") -> None:
        super().__init__(reduction, name)
        if ignore_class is not None:
            raise ValueError(f"SparseCategoricalCrossentropy: ignore_class is not "
                             f"supported. Received: {ignore_class!r}")
        self.from_logits = from_logits
        self.kind = "classes" if from_logits else "probs"

    def call(self, y_true: Any, y_pred: Any) -> Tensor:
        return sparse_categorical_crossentropy(y_true, y_pred, self.from_logits)


class CategoricalCrossentropy(Loss):
    """Keras's ``CategoricalCrossentropy``: one-hot targets, probabilities unless
    ``from_logits=True``."""

    def __init__(self, from_logits: bool = False, label_smoothing: float = 0.0,
                 axis: int = -1, reduction: str | None = "sum_over_batch_size",
                 name: str = "categorical_crossentropy") -> None:
        super().__init__(reduction, name)
        _check_axis("CategoricalCrossentropy", axis)
        self.from_logits, self.label_smoothing = from_logits, label_smoothing
        self.kind = "one_hot_logits" if from_logits else "one_hot_probs"

    def call(self, y_true: Any, y_pred: Any) -> Tensor:
        return categorical_crossentropy(y_true, y_pred, self.from_logits,
                                        self.label_smoothing)


class BinaryCrossentropy(Loss):
    """Keras's ``BinaryCrossentropy``: 0/1 targets, probabilities unless
    ``from_logits=True``."""

    def __init__(self, from_logits: bool = False, label_smoothing: float = 0.0,
                 axis: int = -1, reduction: str | None = "sum_over_batch_size",
                 name: str = "binary_crossentropy") -> None:
        super().__init__(reduction, name)
        _check_axis("BinaryCrossentropy", axis)
        self.from_logits, self.label_smoothing = from_logits, label_smoothing
        self.kind = "binary_logits" if from_logits else "binary_probs"

    def call(self, y_true: Any, y_pred: Any) -> Tensor:
        return binary_crossentropy(y_true, y_pred, self.from_logits, self.label_smoothing)
