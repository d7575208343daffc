"""The progress display of ``fit``: a live bar on a terminal, and one complete line per epoch.

What each epoch leaves behind is one plain line with every log, ``val_*`` included
(``Epoch 2/10 - 1.3s - loss: 0.4102 - accuracy: 0.8516 - val_loss: ...``), as Keras
prints it: a terminal wraps a long line, nothing cuts it. On a terminal (and with tqdm
installed) a live bar runs while the epoch does; it fits the terminal's width, so its
running numbers may be cut, and it is cleared when the epoch's line is printed. When the
output is not a terminal (a file, a pipe, a notebook, a CI log) there is no bar at all,
so no carriage returns: only the epoch lines.
"""

from __future__ import annotations

import sys
import time
from typing import Any, TextIO

try:
    from tqdm import tqdm
except ImportError:  # tqdm is an optional extra
    tqdm = None


def is_terminal(stream: Any) -> bool:
    """Whether ``stream`` is an interactive terminal (False for files, pipes, captures)."""
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):  # no isatty, or a closed stream
        return False


def epoch_line(description: str, seconds: float, logs: dict[str, float]) -> str:
    """The line an epoch leaves: its name, its time, then every log."""
    return " - ".join([description, f"{seconds:.1f}s",
                       *(f"{k}: {v:.4f}" for k, v in logs.items())])


class ProgressBar:
    """Shows an epoch's progress: ``verbose`` 1 a live bar on a terminal (tqdm), 2 only
    the line at the epoch's end (Keras's ``verbose=2``), 0 nothing. Either way the epoch
    ends with its complete line (``epoch_line``) on ``file`` (default: ``sys.stdout``).

    The bar's numbers are redrawn at most ten times a second: formatting them on every
    batch would cost more than a small network's training step.
    """

    def __init__(self, steps: int, description: str, verbose: int = 1,
                 file: TextIO | None = None) -> None:
        self.enabled = verbose > 0
        self.description = description
        self.file = sys.stdout if file is None else file
        self._bar = None
        self._last_postfix = 0.0
        self._started = time.monotonic()
        if verbose == 1 and tqdm is not None and is_terminal(self.file):
            # leave=False: the bar is erased at the end, and the full line takes its place.
            self._bar = tqdm(total=steps, desc=description, unit="batch", leave=False,
                             dynamic_ncols=True, file=self.file)

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
        """Finish the epoch: clear the bar and print the epoch's complete line."""
        if not self.enabled:
            return
        if self._bar is not None:
            self._bar.close()
        line = epoch_line(self.description, time.monotonic() - self._started, epoch_logs)
        print(line, file=self.file, flush=True)
