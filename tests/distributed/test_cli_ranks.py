"""``shenjing train --ranks N``: launches mpiexec itself; resumes on another rank count."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

import shenjing.cli
import shenjing.distributed.launch
from shenjing.cli import launch, main
from shenjing.cli.launch import without_ranks
from tests.distributed._mpi import REPO, needs_mpi

ARGS = ["--model", "mlp", "--limit", "200", "--batch-size", "32", "--quiet"]


@needs_mpi
def test_train_on_two_ranks_then_resume_on_three_and_on_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capfd: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("PYTHONPATH", str(REPO))  # the ranks import this checkout
    assert main(["train", *ARGS, "--epochs", "1", "--out", str(tmp_path), "--ranks", "2"]) == 0
    assert main(["train", "--out", str(tmp_path), "--resume", "--epochs", "2", "--quiet",
                 "--ranks", "3"]) == 0
    assert main(["train", "--out", str(tmp_path), "--resume", "--epochs", "3", "--quiet"]) == 0
    metrics = json.loads((tmp_path / "metrics.json").read_text())
    assert metrics["epochs_completed"] == 3
    assert len(metrics["history"]["loss"]) == 3
    out = capfd.readouterr().out
    assert out.count("Training mlp") == 1  # the plan is printed by rank 0 only
    assert out.count("Resuming at epoch 2 of mlp") == 1


def test_the_ranks_get_the_command_line_as_given_less_ranks() -> None:
    argv = ["train", "--model", "mlp", "--ranks", "4", "--device", "cpu", "--overwrite",
            "--tensorboard", "--threads", "1", "--lr", "0.01", "--out", "x"]
    assert without_ranks(argv) == ["train", "--model", "mlp", "--device", "cpu",
                                   "--overwrite", "--tensorboard", "--threads", "1",
                                   "--lr", "0.01", "--out", "x"]
    # --ranks=N, and argparse's unambiguous abbreviations of --ranks
    assert without_ranks(["train", "--ranks=2", "--resume", "--rank", "3", "--ra=1",
                          "--quiet"]) == ["train", "--resume", "--quiet"]


def test_launch_passes_every_other_option_to_mpiexec(monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[list[str]] = []

    def fake_run(command: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
        seen.append(command)
        return subprocess.CompletedProcess(command, 0)

    monkeypatch.setattr(launch.subprocess, "run", fake_run)
    monkeypatch.setattr(shenjing.distributed.launch, "mpiexec_command",
                        lambda ranks, argv: ["mpiexec", "-n", str(ranks), *argv])
    monkeypatch.setattr(shenjing.cli, "choose_threads", lambda n: None)  # not this process's
    options = ["--model", "mlp", "--device", "cpu", "--overwrite", "--tensorboard",
               "--threads", "2", "--quiet", "--out", "somewhere"]
    assert main(["train", "--ranks", "2", *options]) == 0
    assert seen == [["mpiexec", "-n", "2", sys.executable, "-m", "shenjing.cli", "train",
                     *options]]


@needs_mpi
def test_overwrite_and_tensorboard_reach_the_ranks(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # --overwrite used to be dropped: the ranks then refused the folder holding a run.
    monkeypatch.setenv("PYTHONPATH", str(REPO))
    monkeypatch.setattr(shenjing.cli, "choose_threads", lambda n: None)  # not this process's
    small = ["train", *ARGS, "--limit", "64", "--epochs", "1", "--out", str(tmp_path)]
    assert main(small) == 0
    assert main([*small, "--ranks", "2", "--overwrite", "--tensorboard", "--device", "cpu",
                 "--threads", "1"]) == 0
    assert any((tmp_path / "tensorboard").iterdir())


def test_ranks_must_be_positive(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["train", "--ranks", "0", "--limit", "10"]) != 0
    assert "--ranks must be a positive integer, got 0" in capsys.readouterr().err
