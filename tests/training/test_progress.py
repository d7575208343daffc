"""What ``fit``'s progress leaves on screen: at 80 columns every epoch's line shows every
log, ``val_*`` included; into a pipe, one plain line per epoch and no carriage return."""

from __future__ import annotations

import errno
import os
import re
import struct
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
KEYS = ("loss", "accuracy", "val_loss", "val_accuracy")

FIT = """
import numpy as np
import shenjing as sj
import shenjing.nn as nn
sj.manual_seed(0)
rng = np.random.default_rng(0)
x = rng.normal(size=(96, 5)).astype(np.float32)
y = (x[:, 0] + x[:, 1] > 0).astype(np.int64)
model = nn.Sequential(nn.Linear(5, 8), nn.ReLU(), nn.Linear(8, 2))
model.compile(optimizer="adam", loss="cross_entropy", metrics=["accuracy"])
model.fit(x[:64], y[:64], epochs=3, batch_size=8, validation_data=(x[64:], y[64:]))
"""


def _env() -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(REPO), "OPENBLAS_NUM_THREADS": "1",
            "COLUMNS": "80"}


def _screen_lines(raw: str) -> list[str]:
    """The lines a terminal keeps: within each line, what follows the last carriage return
    (and no escape sequences). The terminal itself turns each newline into \\r\\n."""
    text = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", raw).replace("\r\n", "\n")
    return [line.rsplit("\r", 1)[-1].rstrip() for line in text.split("\n")]


def _epoch_lines(lines: list[str]) -> list[str]:
    return [line for line in lines if re.match(r"Epoch \d/3 - ", line)]


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="a Linux pseudo-terminal")
def test_an_80_column_terminal_keeps_every_epochs_complete_line() -> None:
    import fcntl  # POSIX only
    import termios

    pytest.importorskip("tqdm")
    leader, follower = os.openpty()
    fcntl.ioctl(follower, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 80, 0, 0))
    child = subprocess.Popen([sys.executable, "-c", FIT], stdin=follower, stdout=follower,
                             stderr=follower, env=_env(), close_fds=True)
    os.close(follower)
    chunks = []
    while True:
        try:
            chunk = os.read(leader, 4096)
        except OSError as err:  # EIO: the child closed its end of the terminal
            if err.errno != errno.EIO:
                raise
            break
        if not chunk:
            break
        chunks.append(chunk)
    os.close(leader)
    assert child.wait(timeout=60) == 0
    raw = b"".join(chunks).decode()
    assert "batch" in raw  # the live bar ran (tqdm's counter), on the terminal
    lines = _epoch_lines(_screen_lines(raw))
    assert [line.split(" - ")[0] for line in lines] == ["Epoch 1/3", "Epoch 2/3", "Epoch 3/3"]
    for line in lines:
        assert all(f" - {key}: " in line for key in KEYS), line


def test_a_pipe_gets_one_plain_line_per_epoch() -> None:
    result = subprocess.run([sys.executable, "-c", FIT], capture_output=True, env=_env(),
                            timeout=60, check=True)
    assert b"\r" not in result.stdout + result.stderr
    lines = result.stdout.decode().splitlines()
    assert [line.split(" - ")[0] for line in lines] == ["Epoch 1/3", "Epoch 2/3", "Epoch 3/3"]
    for line in lines:
        assert all(f" - {key}: " in line for key in KEYS), line
    assert result.stderr == b""
