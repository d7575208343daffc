"""The progress display of ``fit``: a tqdm bar, or one line per epoch."""

from __future__ import annotations

import sys
import time
from typing import Any

try:
    from tqdm.auto import tqdm
except ImportError:  # tqdm is an optional extra
    tqdm = None


class ProgressBar:
    """Shows an epoch's progress with the running loss and metrics: ``verbose`` 1 a bar
    (tqdm, when installed), 2 one line when the epoch ends, 0 nothing.

    The postfix is redrawn at most ten times a second: formatting it on every batch
    would cost more than a small network's training step.
    """

    def __init__(self, steps: int, description: str, verbose: int = 1) -> None:
        self.enabled = verbose > 0
        self.description = description
        self._bar = None
        self._last_postfix = 0.0
        if verbose == 1 and tqdm is not None:  # 2 is Keras's one line per epoch
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
