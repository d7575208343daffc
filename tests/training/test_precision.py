"""fit(precision=...): an MLP learns in bf16 and in fp16 with loss scaling; the CLI option."""

from __future__ import annotations

import contextlib
import io
import json
from pathlib import Path

import numpy as np
import pytest

import shenjing as sj
from shenjing import nn
from shenjing.cli import build_parser, launch, main
from shenjing.training import precision as precision_mod


def _blobs():
    """Four Gaussian classes in 20 dimensions, separable but not trivially."""
    rng = np.random.default_rng(0)
    centres = rng.normal(size=(4, 20)).astype(np.float32) * 1.5
    y = rng.integers(0, 4, size=800)
    x = centres[y] + rng.normal(size=(800, 20)).astype(np.float32)
    return x[:600], y[:600], x[600:], y[600:]


def _fit(precision):
    x, y, xv, yv = _blobs()
    sj.manual_seed(0)
    model = nn.Sequential(nn.Linear(20, 64), nn.ReLU(), nn.Linear(64, 4))
    model.compile(optimizer=sj.optim.Adam(model.parameters(), lr=1e-2),
                  loss="cross_entropy", metrics=["accuracy"])
    model.fit(x, y, epochs=6, batch_size=64, verbose=0, precision=precision)
    return model, model.evaluate(xv, yv)


@pytest.mark.parametrize("precision", ["bf16", "fp16"])
def test_mlp_learns_in_low_precision_as_well_as_float32(precision):
    if precision == "bf16":
        pytest.importorskip("ml_dtypes")
    _, full = _fit("32")
    model, low = _fit(precision)
    assert full["accuracy"] > 0.9
    assert low["accuracy"] >= full["accuracy"] - 0.03, (low, full)
    # master weights stay float32
    assert all(p.dtype == np.float32 for p in model.parameters())
    trainer = model._compiled("fit")
    scaler = trainer.precision.scaler
    assert (scaler is not None) == (precision == "fp16")


def test_fp16_step_runs_under_autocast_with_a_scaler(monkeypatch):
    """The loss that reaches backward is the scaled one, and outputs were float16."""
    seen = {}
    original = precision_mod.Precision.backward_and_step

    def spy(self, loss, optimizer):
        seen["loss_dtype"] = loss.dtype
        seen["autocast_off_during_backward"] = not sj.is_autocast_enabled("cpu")
        original(self, loss, optimizer)
        seen["scale"] = self.scaler.get_scale()

    monkeypatch.setattr(precision_mod.Precision, "backward_and_step", spy)
    x, y, _, _ = _blobs()
    sj.manual_seed(0)
    model = nn.Sequential(nn.Linear(20, 4))
    before = model[0].weight.numpy().copy()
    model.compile(optimizer="sgd", loss="cross_entropy")
    model.fit(x[:64], y[:64], epochs=1, batch_size=64, verbose=0, precision="16-mixed")
    # At the initial scale 2^16 the float16 gradient of the weight overflows (it is a
    # sum over 64 samples): the step is skipped and the scale halves, as in PyTorch.
    assert seen == {"loss_dtype": np.float32, "autocast_off_during_backward": True,
                    "scale": 32768.0}
    np.testing.assert_array_equal(model[0].weight.numpy(), before)


def test_bad_precision_and_jit_are_refused():
    model = nn.Sequential(nn.Linear(2, 2))
    model.compile(optimizer="sgd", loss="mse")
    x = np.zeros((4, 2), np.float32)
    with pytest.raises(ValueError, match="precision must be one of"):
        model.fit(x, x, precision="int8", verbose=0)
    model.compile(optimizer="sgd", loss="mse", jit=True)
    with pytest.raises(ValueError, match="jit=True"):
        model.fit(x, x, precision="bf16", verbose=0)
    assert precision_mod.resolve("mixed_bfloat16") == "bf16"
    assert precision_mod.resolve(32) == "32"


def test_train_command_takes_precision(tmp_path: Path):
    pytest.importorskip("ml_dtypes")
    buffer = io.StringIO()
    with contextlib.redirect_stdout(buffer):
        code = main(["train", "--model", "mlp", "--limit", "64", "--epochs", "1",
                     "--batch-size", "32", "--precision", "bf16", "--out", str(tmp_path),
                     "--quiet"])
    assert code == 0
    assert "precision bf16" in buffer.getvalue()
    metrics = json.loads((tmp_path / "metrics.json").read_text())
    assert metrics["config"]["precision"] == "bf16"


def test_precision_passes_through_ranks():
    argv = ["train", "--precision", "fp16", "--ranks", "2"]
    assert build_parser().parse_args(argv).precision == "fp16"
    passed = launch.without_ranks(argv)
    assert passed[passed.index("--precision") + 1] == "fp16" and "--ranks" not in passed
