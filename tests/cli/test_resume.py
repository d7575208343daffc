"""Interrupt then resume: the final weights, optimizer state and history equal those of an
uninterrupted run with the same seed, bit for bit."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import shenjing as sj
from shenjing.cli import build_parser, main, train
from shenjing.training import Callback

ARGS = ["--model", "mlp", "--limit", "160", "--batch-size", "32", "--epochs", "2",
        "--validation-split", "0.2", "--seed", "7", "--quiet"]


class InterruptAt(Callback):
    """Raises KeyboardInterrupt, as Ctrl-C would, after a given batch of a given epoch."""

    def __init__(self, epoch: int, batch: int) -> None:
        self.epoch, self.batch, self.current = epoch, batch, -1

    def on_epoch_begin(self, epoch: int, logs: dict[str, float] | None = None) -> None:
        self.current = epoch

    def on_train_batch_end(self, batch: int, logs: dict[str, float] | None = None) -> None:
        if (self.current, batch) == (self.epoch, self.batch):
            raise KeyboardInterrupt


@pytest.fixture(scope="module")
def straight(tmp_path_factory: pytest.TempPathFactory) -> dict:
    out = tmp_path_factory.mktemp("straight")
    assert main(["train", *ARGS, "--out", str(out)]) == 0
    return sj.load(out / "checkpoint.safetensors")


def _assert_same_state(a: dict, b: dict) -> None:
    for key in a:
        np.testing.assert_array_equal(a[key], b[key], err_msg=key)


@pytest.mark.parametrize("epoch", [0, 1], ids=["in-first-epoch", "in-second-epoch"])
def test_interrupt_then_resume_equals_an_uninterrupted_run(
        epoch: int, straight: dict, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    args = build_parser().parse_args(["train", *ARGS, "--out", str(tmp_path)])
    assert train.run(args, callbacks=[InterruptAt(epoch, batch=1)]) == 130
    assert "--resume" in capsys.readouterr().err
    saved = sj.load(tmp_path / "checkpoint.safetensors")
    assert saved["epoch"] == epoch  # the last completed epoch, not the partial one

    assert main(["train", "--out", str(tmp_path), "--resume", "--quiet"]) == 0
    resumed = sj.load(tmp_path / "checkpoint.safetensors")
    assert resumed["epoch"] == 2
    _assert_same_state(resumed["model"], straight["model"])
    for index, state in straight["optimizer"]["state"].items():
        _assert_same_state(resumed["optimizer"]["state"][index], state)
    assert resumed["history"] == straight["history"]
    assert resumed["rng"] == straight["rng"]


def test_resume_refuses_changed_settings_and_can_train_further(
        straight: dict, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["train", *ARGS, "--epochs", "1", "--out", str(tmp_path)]) == 0
    assert main(["train", "--out", str(tmp_path), "--resume", "--lr", "0.5"]) == 2
    assert "--lr" in capsys.readouterr().err
    assert main(["train", "--out", str(tmp_path), "--resume", "--epochs", "2", "--quiet"]) == 0
    _assert_same_state(sj.load(tmp_path / "checkpoint.safetensors")["model"],
                       straight["model"])
