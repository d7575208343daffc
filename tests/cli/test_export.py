"""``shenjing export``: a trained run becomes an ONNX file that ONNX Runtime agrees with."""

from __future__ import annotations

import contextlib
import io
from pathlib import Path

import numpy as np
import pytest

import shenjing as sj
from shenjing.cli import common, main

ort = pytest.importorskip("onnxruntime")


def test_export_help_has_examples(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as stop:
        main(["export", "--help"])
    assert stop.value.code == 0
    assert "shenjing export" in capsys.readouterr().out


def test_export_writes_a_model_onnxruntime_agrees_with(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    run = tmp_path / "run"
    with contextlib.redirect_stdout(io.StringIO()):
        assert main(["train", "--model", "mlp", "--limit", "64", "--epochs", "1",
                     "--out", str(run), "--quiet"]) == 0
    path = tmp_path / "model.onnx"
    assert main(["export", str(run), str(path)]) == 0
    assert "ONNX Runtime agrees" in capsys.readouterr().out
    checkpoint = common.read_checkpoint(run)
    model = common.model_from_checkpoint(checkpoint)
    x = np.random.default_rng(1).standard_normal((7, 1, 28, 28)).astype(np.float32)
    got = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"]).run(
        None, {"input": x})[0]
    with sj.no_grad():
        np.testing.assert_allclose(got, model(sj.from_numpy(x)).numpy(), rtol=0, atol=1e-5)


def test_export_of_a_missing_run_fails_with_one_message(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["export", str(tmp_path / "nothing"), str(tmp_path / "m.onnx")]) == 2
    assert "shenjing export: error: no checkpoint" in capsys.readouterr().err
