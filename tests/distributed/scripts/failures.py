"""One rank fails while the other waits in a collective. Usage: failures.py CASE.

Each case must end the whole job at once with a nonzero status and the failing rank's
message; without the abort the waiting rank would spin until the test's timeout.
"""

from __future__ import annotations

import os
import sys

import numpy as np

import shenjing as sj
import shenjing.distributed as dist
import shenjing.nn as nn
from shenjing.training.callbacks import Callback


def sys_exit() -> None:
    if dist.rank() == 1:
        sys.exit(3)
    dist.barrier()


def sys_exit_message() -> None:
    if dist.rank() == 0:
        sys.exit("rank zero gave up on purpose")
    dist.barrier()


def error_exit() -> None:
    if dist.rank() == 1:
        sys.stderr.write("rank one exits with status 5 on purpose\n")
        sys.stderr.flush()
        os._exit(5)
    dist.barrier()


class ExitAt(Callback):
    """On rank 1 only, leaves ``fit`` at the end of the first batch."""

    def __init__(self, how: str) -> None:
        self.how = how

    def on_train_batch_end(self, batch: int, logs: dict[str, float] | None = None) -> None:
        if dist.rank() == 1:
            if self.how == "sys.exit":
                sys.exit(3)
            raise SystemExit(4)


def _fit(how: str) -> None:
    sj.manual_seed(0)
    rng = np.random.default_rng(0)
    x = rng.normal(size=(64, 4)).astype(np.float32)
    y = (x[:, 0] > 0).astype(np.int64)
    model = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 2))
    model.compile(optimizer="adam", loss="cross_entropy")
    model.fit(x, y, epochs=50, batch_size=8, verbose=0, callbacks=[ExitAt(how)])


def fit_sys_exit() -> None:
    _fit("sys.exit")


def fit_raise_system_exit() -> None:
    _fit("raise")


CASES = {f.__name__: f for f in (sys_exit, sys_exit_message, error_exit, fit_sys_exit,
                                  fit_raise_system_exit)}

if __name__ == "__main__":
    CASES[sys.argv[1]]()
    print(f"{sys.argv[1]} finished on rank {dist.rank()}: the failure did not end the job")
