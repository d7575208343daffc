"""The progress bar of ``fit``: tqdm when installed, one line per epoch otherwise."""

from __future__ import annotations

import sys
import time
from typing import Any

try:
    from tqdm.auto import tqdm
except ImportError:  # tqdm is an optional extra
    tqdm = None


class ProgressBar:
    """Shows an epoch's progress with the running loss and metrics.

    The postfix is redrawn at most ten times a second: formatting it on every batch
    would cost more than a small network's training step.
    """

    def __init__(self, steps: int, description: str, enabled: bool = True) -> None:
        self.enabled = enabled
        self.description = description
        self._bar = None
        self._last_postfix = 0.0
        if enabled and tqdm is not None:
            self._bar = tqdm(total=steps, desc=description, unit="batch", leave=True,
                             dynamic_ncols=True, file=sys.stderr)

    def update(self, logs: dict[str, float], metrics: list[Any]) -> None:
        """Advance by one batch."""
        if self._bar is None:
            return
        self._bar.update(1)
        now = time.monotonic()
        if now - self._last_postfix > 0.1:
            self._last_postfix = now
            values = dict(logs)
            values.update({m.name: m.result() for m in metrics})
            self._bar.set_postfix({k: f"{v:.4f}" for k, v in values.items()}, refresh=False)

    def close(self, epoch_logs: dict[str, float]) -> None:
        """Finish the epoch, showing its final logs."""
        if not self.enabled:
            return
        text = " - ".join(f"{k}: {v:.4f}" for k, v in epoch_logs.items())
        if self._bar is not None:
            self._bar.set_postfix_str(text, refresh=True)
            self._bar.close()
        else:
            print(f"{self.description} - {text}")
