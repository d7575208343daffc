"""``gradcheck_model`` and the ``GradCheck`` callback live in ``shenjing.training.gradcheck``
(the callback is a training callback, and training sits below diagnostics); this name
stays for code that imports them from here."""

from shenjing.training.gradcheck import GradCheck, GradCheckReport, GradCheckRow, gradcheck_model

__all__ = ["GradCheck", "GradCheckReport", "GradCheckRow", "gradcheck_model"]
