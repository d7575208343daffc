"""``fit(precision=...)``: which dtype the training step's ops run in.

"32" trains in float32. "bf16" runs the forward pass and loss under
``autocast(dtype=bfloat16)``; "fp16" under ``autocast(dtype=float16)`` with a
``GradScaler`` (float16's narrow range needs loss scaling, bfloat16's does not). The
parameters, their gradients and the optimizer stay float32 (master weights).
"""

from __future__ import annotations

import contextlib
from typing import Any

import numpy as np

from shenjing.amp import GradScaler, autocast
from shenjing.backend import device_of

# Spellings users bring: Lightning's ("bf16-mixed", "16-mixed") and Keras's policies.
_ALIASES = {
    "32": "32", "32-true": "32", "float32": "32",
    "bf16": "bf16", "bf16-mixed": "bf16", "mixed_bfloat16": "bf16",
    "fp16": "fp16", "16": "fp16", "16-mixed": "fp16", "mixed_float16": "fp16",
}
CHOICES = ("32", "bf16", "fp16")


def resolve(precision: Any) -> str:
    """``precision`` as one of ``CHOICES``; ValueError naming the accepted spellings."""
    key = str(precision).lower()
    if key not in _ALIASES:
        raise ValueError(
            f"fit: precision must be one of {sorted(_ALIASES)}. Received: {precision!r}")
    return _ALIASES[key]


class Precision:
    """The autocast region and the gradient scaler of one ``fit``."""

    def __init__(self, precision: Any) -> None:
        self.name = resolve(precision)
        self.dtype: Any = {"bf16": "bfloat16", "fp16": "float16"}.get(self.name)
        self.scaler: GradScaler | None = None

    @property
    def mixed(self) -> bool:
        """Whether the step runs under autocast."""
        return self.dtype is not None

    def autocast(self, x: Any) -> Any:
        """The autocast region for a batch ``x`` (its device type decides which); a
        region that changes nothing in float32."""
        if not self.mixed:
            return contextlib.nullcontext()
        arr = getattr(x, "array", None)
        device_type = "cpu" if arr is None or type(arr) is np.ndarray else device_of(arr).type
        return autocast(device_type, dtype=self.dtype)

    def backward_and_step(self, loss: Any, optimizer: Any) -> None:
        """``loss.backward()`` and ``optimizer.step()``, through the scaler for fp16."""
        if self.name != "fp16":
            loss.backward()
            optimizer.step()
            return
        if self.scaler is None:
            arr = loss.array
            device = "cpu" if type(arr) is np.ndarray else device_of(arr).type
            self.scaler = GradScaler(device)
        self.scaler.scale(loss).backward()
        self.scaler.step(optimizer)
        self.scaler.update()
