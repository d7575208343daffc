"""A failure on one rank ends the whole ``mpiexec -n 2`` job, fast, with that rank's message.

Without the abort, the other rank waits in a collective for good (MPICH's ranks spin at
100% CPU), so each of these would run into its timeout. The limits are generous because
starting two interpreters on a loaded 2-core machine takes seconds; a run that works
takes one to a few.
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest

from shenjing.cli import runfolder
from shenjing.distributed.launch import mpiexec_command, mpiexec_env
from tests.distributed._mpi import REPO, needs_mpi, run_mpi

pytestmark = needs_mpi

LIMIT = 45.0  # seconds; a hang would also be cut here, and fail the test


def _failed(result: subprocess.CompletedProcess[str], *messages: str) -> None:
    text = result.stdout + result.stderr
    assert result.returncode != 0, text
    for message in messages:
        assert message in text, text
    assert "did not end the job" not in text


@pytest.mark.parametrize(("case", "status", "messages"), [
    ("sys_exit", 3, ["[rank 1/2] exited with status 3"]),
    ("sys_exit_message", 1, ["rank zero gave up on purpose", "[rank 0/2] exited with status 1"]),
    ("error_exit", 5, ["rank one exits with status 5 on purpose"]),
    ("fit_sys_exit", 3, ["[rank 1/2] fit ended with SystemExit(3)"]),
    ("fit_raise_system_exit", 4, ["[rank 1/2] fit ended with SystemExit(4)"]),
])
def test_an_exit_on_one_rank_ends_the_job(case: str, status: int, messages: list[str]) -> None:
    started = time.monotonic()
    result = run_mpi(2, "failures.py", case, timeout=LIMIT)
    _failed(result, *messages)
    assert result.returncode == status
    assert time.monotonic() - started < LIMIT


def _cli(*argv: str) -> subprocess.CompletedProcess[str]:
    env = mpiexec_env()
    env["PYTHONPATH"] = str(REPO)
    return subprocess.run([sys.executable, "-m", "shenjing.cli", *argv], env=env,
                          capture_output=True, text=True, timeout=LIMIT, cwd=REPO)


TRAIN = ["train", "--model", "mlp", "--limit", "64", "--batch-size", "16", "--quiet"]


def test_a_command_error_on_rank_0_ends_the_job(tmp_path: Path) -> None:
    # Rank 0 finds the folder locked and refuses; rank 1 has gone on to train and waits
    # for rank 0 in the first collective.
    env = mpiexec_env()
    env["PYTHONPATH"] = str(REPO)
    command = mpiexec_command(2, [sys.executable, "-m", "shenjing.cli", *TRAIN,
                                  "--epochs", "1", "--out", str(tmp_path)])
    with runfolder.claimed(tmp_path):
        result = subprocess.run(command, env=env, capture_output=True, text=True,
                                timeout=LIMIT, cwd=REPO)
    _failed(result, "[rank 0/2] shenjing train: error:", "is in use by another",
            "[rank 0/2] shenjing: exit code 2; ending every rank of the job")
    assert result.returncode == 2


def test_a_failed_save_under_ranks_ends_the_job(tmp_path: Path) -> None:
    # Rank 0 alone writes the checkpoint; a directory in its place makes the save fail
    # after the first epoch, while rank 1 goes on into the second.
    (tmp_path / "checkpoint.safetensors").mkdir()
    result = _cli(*TRAIN, "--epochs", "20", "--out", str(tmp_path), "--overwrite",
                  "--ranks", "2")
    _failed(result, "[rank 0/2] shenjing train: error:", "checkpoint.safetensors",
            "ending every rank of the job")
    assert result.returncode == 1

