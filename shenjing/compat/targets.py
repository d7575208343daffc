"""What the output layer of a ``NeuralNetwork`` is, read from the targets, and the targets
in the form each loss wants.

A bare ``add_output_layer()`` is resolved at ``fit`` time from ``y``:

- two class labels (integers, booleans, or floats that are all 0 or 1) → one sigmoid
  unit (``"binary"``);
- integer labels with more than two values, or one-hot rows → softmax over the classes
  (``"multiclass"``);
- rows of several 0/1 values that are not one-hot → one sigmoid unit per column
  (``"multilabel"``);
- anything else (real numbers) → linear units, one per target column (``"regression"``).

Labels need not be 0..k−1: the distinct values found become ``classes``, and
predictions are mapped back to them. Floats other than 0/1 are read as real targets; cast
them to integers to have them read as class labels.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

BINARY, MULTICLASS, MULTILABEL, REGRESSION = "binary", "multiclass", "multilabel", "regression"


@dataclass(frozen=True)
class OutputSpec:
    """The output layer: its task, width, activation and (for classifiers) class labels."""

    task: str
    units: int
    activation: str
    classes: np.ndarray | None = None


def _is_label_array(y: np.ndarray) -> bool:
    """Integer or boolean labels, or floats that are all 0 or 1."""
    if y.dtype.kind in "iub":
        return True
    return y.dtype.kind == "f" and bool(np.isin(y, (0.0, 1.0)).all())


def _is_one_hot(y: np.ndarray) -> bool:
    return bool(np.isin(y, (0, 1)).all()) and bool((y.sum(axis=1) == 1).all())


def _columns(y: np.ndarray) -> int:
    return 1 if y.ndim == 1 else y.shape[1]


def _check_units(units: int | None, inferred: int, what: str) -> int:
    if units is not None and units != inferred:
        raise ValueError(
            f"NeuralNetwork.fit: the output layer has {units} units but y needs {inferred} "
            f"({what})"
        )
    return inferred


def infer_output(y: np.ndarray, units: int | None, activation: str | None) -> OutputSpec:
    """Resolve the output layer from the targets ``y`` (1-D, or 2-D with one column per
    output) and what ``add_output_layer`` was told (None for "infer it")."""
    if y.ndim == 2 and y.shape[1] == 1:
        y = y[:, 0]
    if y.ndim not in (1, 2):
        raise ValueError(
            f"NeuralNetwork.fit: y must be 1-D or 2-D. Received: shape={y.shape}"
        )
    if activation == "softmax":
        if y.ndim == 2:
            return OutputSpec(MULTICLASS, _check_units(units, y.shape[1], "one-hot columns"),
                              "softmax", np.arange(y.shape[1]))
        if y.dtype.kind not in "iub":
            raise TypeError(
                f"NeuralNetwork.fit: a softmax output needs integer class labels or one-hot "
                f"rows. Received: y with dtype={y.dtype}"
            )
        width = units if units is not None else int(y.max()) + 1
        if width < 2:
            raise ValueError("NeuralNetwork.fit: a softmax output needs at least 2 units")
        return OutputSpec(MULTICLASS, width, "softmax", np.arange(width))
    if activation == "sigmoid":
        width = _check_units(units, _columns(y), "one unit per column of y")
        if width == 1:
            return OutputSpec(BINARY, 1, "sigmoid", np.array([0, 1]))
        return OutputSpec(MULTILABEL, width, "sigmoid")
    if activation is not None:
        return OutputSpec(REGRESSION, _check_units(units, _columns(y), "one unit per column"),
                          activation)

    # A bare output layer: everything comes from y.
    if y.ndim == 2:
        if _is_one_hot(y):
            return OutputSpec(MULTICLASS, _check_units(units, y.shape[1], "one-hot columns"),
                              "softmax", np.arange(y.shape[1]))
        if bool(np.isin(y, (0, 1)).all()):
            return OutputSpec(MULTILABEL, _check_units(units, y.shape[1], "0/1 columns"),
                              "sigmoid")
        return OutputSpec(REGRESSION, _check_units(units, y.shape[1], "one unit per column"),
                          "linear")
    if not _is_label_array(y):
        return OutputSpec(REGRESSION, _check_units(units, 1, "real targets"), "linear")
    classes = np.unique(y)
    if len(classes) < 2:
        raise ValueError(
            f"NeuralNetwork.fit: y holds a single class ({classes[0].item()!r}); a classifier "
            "needs at least two"
        )
    if len(classes) == 2:
        return OutputSpec(BINARY, _check_units(units, 1, "two classes, one sigmoid unit"),
                          "sigmoid", classes)
    return OutputSpec(MULTICLASS, _check_units(units, len(classes), f"{len(classes)} classes"),
                      "softmax", classes)


def class_indices(spec: OutputSpec, y: np.ndarray) -> np.ndarray:
    """The position of each label of ``y`` in ``spec.classes`` (int64, 1-D); one-hot
    rows give the index of their 1."""
    if y.ndim == 2 and y.shape[1] > 1:
        return y.argmax(axis=1).astype(np.int64)
    y = y.reshape(-1)
    classes = spec.classes
    positions = np.clip(np.searchsorted(classes, y), 0, len(classes) - 1)
    unknown = classes[positions] != y
    if unknown.any():
        raise ValueError(
            f"NeuralNetwork.fit: label {y[unknown][0].item()!r} is not one of the network's "
            f"classes {classes.tolist()}"
        )
    return positions.astype(np.int64)


def encode_targets(spec: OutputSpec, y: np.ndarray, fused_cross_entropy: bool) -> np.ndarray:
    """The targets as the loss reads them.

    Cross-entropy on a softmax takes class indices (N,); every other pairing compares
    the output with a float32 array of its own shape: 0/1 in a column for a binary
    output, one-hot rows for a softmax, the values themselves for regression.
    """
    n = len(y)
    if spec.task == MULTICLASS:
        indices = class_indices(spec, y)
        if fused_cross_entropy:
            return indices
        one_hot = np.zeros((n, spec.units), dtype=np.float32)
        one_hot[np.arange(n), indices] = 1.0
        return one_hot
    if spec.task == BINARY:
        return class_indices(spec, y).astype(np.float32).reshape(n, 1)
    targets = np.asarray(y, dtype=np.float32).reshape(n, -1)
    if targets.shape[1] != spec.units:
        raise ValueError(
            f"NeuralNetwork.fit: y has {targets.shape[1]} columns but the output layer has "
            f"{spec.units} units"
        )
    if spec.task == MULTILABEL and not bool(np.isin(targets, (0.0, 1.0)).all()):
        raise ValueError("NeuralNetwork.fit: a sigmoid output needs 0/1 targets")
    return targets
