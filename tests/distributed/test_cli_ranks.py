"""``shenjing train --ranks N``: launches mpiexec itself; resumes on another rank count."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from shenjing.cli import build_parser, main
from shenjing.cli.launch import train_argv
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


def test_train_argv_reproduces_the_options() -> None:
    args = build_parser().parse_args(
        ["train", "--model", "mlp", "--lr", "0.01", "--resume", "--ranks", "4", "--out", "x"]
    )
    assert train_argv(args) == ["train", "--model", "mlp", "--lr", "0.01", "--out", "x",
                                "--resume"]


def test_ranks_must_be_positive(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["train", "--ranks", "0", "--limit", "10"]) != 0
    assert "--ranks must be a positive integer, got 0" in capsys.readouterr().err
