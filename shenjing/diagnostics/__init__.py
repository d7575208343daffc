"""Diagnostics: whole-model gradient checks and classification reports.

The code lives in the training package (``training.gradcheck``, ``training.classification``),
which its callbacks need; this package gathers the names for the command line and users.
"""

from shenjing.training.classification import (
    classification_report,
    confusion_matrix,
    format_confusion_matrix,
    per_class_scores,
)
from shenjing.training.gradcheck import (
    GradCheck,
    GradCheckReport,
    GradCheckRow,
    gradcheck_model,
)
