"""Diagnostics: whole-model gradient checks and classification reports."""

from shenjing.diagnostics.classification import (
    classification_report,
    confusion_matrix,
    format_confusion_matrix,
    per_class_scores,
)
from shenjing.diagnostics.gradcheck_model import (
    GradCheck,
    GradCheckReport,
    GradCheckRow,
    gradcheck_model,
)
