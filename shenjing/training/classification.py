"""How a classifier does per class: the confusion matrix, precision, recall and F1, as
arrays and as text. Plain NumPy (no scikit-learn needed)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

__all__ = [
    "classification_report",
    "confusion_matrix",
    "format_confusion_matrix",
    "per_class_scores",
]


def confusion_matrix(y_true: Any, y_pred: Any, num_classes: int | None = None) -> np.ndarray:
    """Counts C[i, j] of samples of class i predicted as class j (int64, classes × classes).

    Args:
        y_true, y_pred: integer labels, one per sample.
        num_classes: the number of classes; by default one more than the largest label.

    Example:
        >>> confusion_matrix([0, 1, 1, 2], [0, 2, 1, 2]).tolist()
        [[1, 0, 0], [0, 1, 1], [0, 0, 1]]
    """
    y_true = np.asarray(y_true).reshape(-1)
    y_pred = np.asarray(y_pred).reshape(-1)
    if y_true.shape != y_pred.shape:
        raise ValueError(
            f"confusion_matrix: y_true and y_pred differ in length. Received: {len(y_true)} "
            f"and {len(y_pred)}"
        )
    if y_true.size and min(y_true.min(), y_pred.min()) < 0:
        raise ValueError("confusion_matrix: labels must be non-negative integers")
    if num_classes is None:
        num_classes = int(max(y_true.max(initial=-1), y_pred.max(initial=-1))) + 1
    pairs = y_true.astype(np.int64) * num_classes + y_pred.astype(np.int64)
    return np.bincount(pairs, minlength=num_classes * num_classes).reshape(
        num_classes, num_classes)


def per_class_scores(matrix: np.ndarray) -> dict[str, np.ndarray]:
    """Precision, recall, F1 and support of every class, from a confusion matrix.

    precision_k = C[k, k] / Σᵢ C[i, k];  recall_k = C[k, k] / Σⱼ C[k, j];
    F1_k = 2·precision·recall / (precision + recall). A ratio with nothing to divide by
    (a class never predicted, or absent) is 0, as in scikit-learn.
    """
    matrix = np.asarray(matrix, dtype=np.float64)
    hits = np.diag(matrix)
    predicted = matrix.sum(axis=0)
    actual = matrix.sum(axis=1)
    precision = np.divide(hits, predicted, out=np.zeros_like(hits), where=predicted > 0)
    recall = np.divide(hits, actual, out=np.zeros_like(hits), where=actual > 0)
    both = precision + recall
    f1 = np.divide(2 * precision * recall, both, out=np.zeros_like(hits), where=both > 0)
    return {"precision": precision, "recall": recall, "f1": f1,
            "support": actual.astype(np.int64)}


def _names(count: int, class_names: Sequence[str] | None) -> list[str]:
    if class_names is not None and len(class_names) == count:
        return [str(name) for name in class_names]
    return [str(k) for k in range(count)]


def classification_report(matrix: np.ndarray, class_names: Sequence[str] | None = None) -> str:
    """A text table of precision, recall, F1 and support per class, then the accuracy and
    the macro averages."""
    scores = per_class_scores(matrix)
    names = _names(len(scores["support"]), class_names)
    width = max(len(name) for name in [*names, "macro avg"])
    lines = [f"{'':{width}}  precision  recall  f1-score  support"]
    for k, name in enumerate(names):
        lines.append(
            f"{name:{width}}  {scores['precision'][k]:9.3f}  {scores['recall'][k]:6.3f}  "
            f"{scores['f1'][k]:8.3f}  {scores['support'][k]:7d}"
        )
    total = int(scores["support"].sum())
    accuracy = float(np.trace(matrix) / total) if total else 0.0
    lines.append("")
    lines.append(f"{'accuracy':{width}}  {'':9}  {'':6}  {accuracy:8.3f}  {total:7d}")
    lines.append(
        f"{'macro avg':{width}}  {scores['precision'].mean():9.3f}  "
        f"{scores['recall'].mean():6.3f}  {scores['f1'].mean():8.3f}  {total:7d}"
    )
    return "\n".join(lines)


def format_confusion_matrix(matrix: np.ndarray, class_names: Sequence[str] | None = None) -> str:
    """The confusion matrix as text: a row per true class, a column per predicted class
    (columns are headed by class numbers; the row labels give the names)."""
    matrix = np.asarray(matrix)
    names = _names(len(matrix), class_names)
    labels = [f"{k} {name}" if name != str(k) else name for k, name in enumerate(names)]
    corner = "true \\ predicted"
    label_width = max(len(corner), *(len(label) for label in labels))
    cell = max(len(str(int(matrix.max(initial=0)))), len(str(len(matrix) - 1))) + 2
    lines = [f"{corner:{label_width}}" + "".join(f"{k:>{cell}}" for k in range(len(matrix)))]
    for label, row in zip(labels, matrix, strict=True):
        lines.append(f"{label:{label_width}}" + "".join(f"{int(v):>{cell}}" for v in row))
    return "\n".join(lines)
