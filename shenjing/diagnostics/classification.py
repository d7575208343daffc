"""The confusion matrix and per-class scores live in ``shenjing.training.classification``
(the TensorBoard callback draws the matrix, and training sits below diagnostics); this
name stays for code that imports them from here."""

from shenjing.training.classification import (
    classification_report,
    confusion_matrix,
    format_confusion_matrix,
    per_class_scores,
)

__all__ = [
    "classification_report",
    "confusion_matrix",
    "format_confusion_matrix",
    "per_class_scores",
]
