"""The small registries behind ``compile``: names of losses, optimizers and metrics.

A loss is registered with the kind of problem it solves, because that decides what
"accuracy" means, what ``predict`` returns and how ``predict_proba`` turns outputs into
probabilities.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from shenjing.nn import keras_losses
from shenjing.training import metrics as metrics_module

CLASSES = "classes"  # integer labels, outputs are logits over the classes
LOG_PROBS = "log_probs"  # integer labels, outputs are log-probabilities
BINARY_LOGITS = "binary_logits"  # 0/1 targets, outputs are logits
BINARY_PROBS = "binary_probs"  # 0/1 targets, outputs are probabilities
PROBS = "probs"  # integer labels, outputs are class probabilities (Keras's sparse CE)
ONE_HOT_PROBS = "one_hot_probs"  # one-hot targets, outputs are class probabilities
ONE_HOT_LOGITS = "one_hot_logits"  # one-hot targets, outputs are logits
INTEGER_LABELS = (CLASSES, LOG_PROBS, PROBS)
ONE_HOT = (ONE_HOT_PROBS, ONE_HOT_LOGITS)
REGRESSION = "regression"
CUSTOM = "custom"  # a user's callable: targets are passed through untouched


@dataclass(frozen=True)
class LossSpec:
    """A loss function with the kind of target it expects."""

    name: str
    function: Callable[..., Any]
    kind: str


def _keras(loss: keras_losses.Loss) -> LossSpec:
    """A Keras loss object as a spec: Keras's loss takes (y_true, y_pred), compile's
    loop calls (output, target)."""

    def function(output: Any, target: Any) -> Any:
        return loss(target, output)

    return LossSpec(loss.name or type(loss).__name__, function, loss.kind)


def _losses() -> dict[str, LossSpec]:
    import shenjing.nn.functional as F

    specs = [
        LossSpec("cross_entropy", F.cross_entropy, CLASSES),
        LossSpec("nll_loss", F.nll_loss, LOG_PROBS),
        LossSpec("binary_cross_entropy", F.binary_cross_entropy, BINARY_PROBS),
        LossSpec(
            "binary_cross_entropy_with_logits", F.binary_cross_entropy_with_logits, BINARY_LOGITS
        ),
        LossSpec("mse", F.mse_loss, REGRESSION),
        LossSpec("mae", F.l1_loss, REGRESSION),
        LossSpec("huber", F.huber_loss, REGRESSION),
    ]
    # Keras's names keep Keras's meaning: probabilities in (from_logits=False), clipped.
    specs += [_keras(keras_losses.SparseCategoricalCrossentropy()),
              _keras(keras_losses.CategoricalCrossentropy()),
              _keras(keras_losses.BinaryCrossentropy())]
    table = {spec.name: spec for spec in specs}
    aliases = {
        "categorical_cross_entropy": "cross_entropy",
        "nll": "nll_loss",
        "bce": "binary_cross_entropy",
        "bce_with_logits": "binary_cross_entropy_with_logits",
        "mse_loss": "mse",
        "mean_squared_error": "mse",
        "quadratic": "mse",
        "l1": "mae",
        "l1_loss": "mae",
        "mean_absolute_error": "mae",
        "huber_loss": "huber",
    }
    table.update({alias: table[name] for alias, name in aliases.items()})
    return table


def resolve_loss(loss: str | Callable[..., Any]) -> LossSpec:
    """A ``LossSpec`` from a name or a callable ``loss(output, target) -> Tensor``.

    A callable that is not one of the registered functions is of kind ``CUSTOM``: its
    targets are passed as given and ``predict`` returns the raw outputs.
    """
    table = _losses()
    if isinstance(loss, str):
        key = loss.lower()
        if key not in table:
            raise ValueError(f"Unknown loss {loss!r}. Known losses: {', '.join(sorted(table))}")
        return table[key]
    if isinstance(loss, keras_losses.Loss):
        return _keras(loss)
    if not callable(loss):
        raise TypeError(f"loss must be a name or a callable. Received: {loss!r}")
    for spec in table.values():
        if spec.function is loss:
            return spec
    return LossSpec(getattr(loss, "__name__", "loss"), loss, CUSTOM)


def resolve_optimizer(optimizer: Any) -> Any:
    """An optimizer object, or a class to build once the parameters exist (for a name)."""
    from shenjing import optim

    if not isinstance(optimizer, str):
        if isinstance(optimizer, optim.Optimizer):
            return optimizer
        raise TypeError(f"optimizer must be a name or an Optimizer. Received: {optimizer!r}")
    table = {
        "sgd": optim.SGD,
        "adagrad": optim.Adagrad,
        "adadelta": optim.Adadelta,
        "rmsprop": optim.RMSprop,
        "rmsprop_nesterov": optim.RMSpropNesterov,
        "adam": optim.Adam,
        "adamw": optim.AdamW,
        "adamax": optim.Adamax,
        "nadam": optim.NAdam,
    }
    key = optimizer.lower()
    if key not in table:
        raise ValueError(
            f"Unknown optimizer {optimizer!r}. Known optimizers: {', '.join(sorted(table))}"
        )
    return table[key]


def resolve_metric(metric: str | metrics_module.Metric, loss_kind: str) -> metrics_module.Metric:
    """A fresh ``Metric`` for a name; "accuracy" follows the loss's kind of target."""
    if isinstance(metric, metrics_module.Metric):
        return metric
    if not isinstance(metric, str):
        raise TypeError(f"A metric must be a name or a Metric. Received: {metric!r}")
    key = metric.lower()
    if key in ("accuracy", "acc"):
        if loss_kind in INTEGER_LABELS:
            return metrics_module.Accuracy()
        if loss_kind in ONE_HOT:
            return _named(metrics_module.CategoricalAccuracy(), "accuracy")
        if loss_kind == BINARY_LOGITS:
            return _named(metrics_module.BinaryAccuracy(threshold=0.0), "accuracy")
        if loss_kind == BINARY_PROBS:
            return _named(metrics_module.BinaryAccuracy(threshold=0.5), "accuracy")
        raise ValueError(
            "accuracy needs a named classification loss (e.g. 'cross_entropy'); use 'mae' "
            "or 'mse' for regression, or pass a Metric object"
        )
    if key == "categorical_accuracy":
        return metrics_module.CategoricalAccuracy()
    if key == "sparse_categorical_accuracy":
        return _named(metrics_module.Accuracy(), "sparse_categorical_accuracy")
    if key == "binary_accuracy":
        threshold = 0.0 if loss_kind == BINARY_LOGITS else 0.5
        return metrics_module.BinaryAccuracy(threshold=threshold)
    if key.startswith("top_") and key.endswith("_accuracy"):
        return metrics_module.TopKAccuracy(k=int(key[4:-9]))
    if key in ("top_k_accuracy", "top_k"):
        return metrics_module.TopKAccuracy(k=5)
    if key in ("mae", "mean_absolute_error"):
        return metrics_module.MeanAbsoluteError()
    if key in ("mse", "mean_squared_error"):
        return metrics_module.MeanSquaredError()
    raise ValueError(
        f"Unknown metric {metric!r}. Known metrics: accuracy, binary_accuracy, "
        "categorical_accuracy, sparse_categorical_accuracy, "
        "top_k_accuracy (top_<k>_accuracy), mae, mse"
    )


def _named(metric: metrics_module.Metric, name: str) -> metrics_module.Metric:
    metric.name = name
    return metric
