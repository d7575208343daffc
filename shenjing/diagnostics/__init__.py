"""Diagnostics: whole-model gradient checks and classification reports.

The code lives in the training package (``training.gradcheck``, ``training.classification``),
which its callbacks need; this package gathers the names for the command line and users.
"""

# Through the submodule of the same name: importing it binds it on this package, and
# the function must win over the module (a later `import ...gradcheck_model`, as doctest
# collection does, would otherwise leave the module where the function was).
from shenjing.diagnostics.gradcheck_model import (
    GradCheck,
    GradCheckReport,
    GradCheckRow,
    gradcheck_model,
)
from shenjing.training.classification import (
    classification_report,
    confusion_matrix,
    format_confusion_matrix,
    per_class_scores,
)
