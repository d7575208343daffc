"""``shenjing train --tensorboard`` writes TensorBoard logs into the run folder."""

from __future__ import annotations

import contextlib
import io
import json
from pathlib import Path

import pytest

from shenjing.cli import main

pytest.importorskip("tensorboardX")
event_accumulator = pytest.importorskip(
    "tensorboard.backend.event_processing.event_accumulator")


def test_train_with_tensorboard_logs_the_run(tmp_path: Path) -> None:
    with contextlib.redirect_stdout(io.StringIO()):
        assert main(["train", "--model", "mlp", "--limit", "64", "--epochs", "2", "--out",
                     str(tmp_path), "--quiet", "--tensorboard"]) == 0
    reader = event_accumulator.EventAccumulator(str(tmp_path / "tensorboard" / "train"))
    reader.Reload()
    losses = [e.value for e in reader.Scalars("epoch_loss")]
    history = json.loads((tmp_path / "metrics.json").read_text())["history"]
    assert losses == pytest.approx(history["loss"], rel=1e-6) and len(losses) == 2
    assert (tmp_path / "tensorboard" / "validation").is_dir()
