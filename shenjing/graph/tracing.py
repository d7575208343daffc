"""Moved to ``shenjing.autograd.tracing`` (the optimizers and modules below ``graph``
consult it); this name stays for code that imports it from here."""

from shenjing.autograd.tracing import Recorder, current, record_step, record_zero_grad, recording

__all__ = ["Recorder", "current", "record_step", "record_zero_grad", "recording"]
