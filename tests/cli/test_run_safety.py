"""A run folder is never lost or wrecked: divergence keeps the last finite epoch, finished
runs are not replaced, one run at a time, bad checkpoints give one line and exit 2."""

from __future__ import annotations

import json
import os
import shutil
import struct
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import shenjing as sj
from shenjing.cli import build_parser, common, main, train
from shenjing.training import Callback

REPO = Path(__file__).resolve().parents[2]

ARGS = ["--model", "mlp", "--limit", "160", "--batch-size", "32", "--epochs", "2",
        "--validation-split", "0.2", "--seed", "7", "--quiet"]


class PoisonAt(Callback):
    """Sets a weight to NaN after the first batch of ``epoch``, as a too-large step would."""

    def __init__(self, epoch: int) -> None:
        self.epoch, self.current = epoch, -1

    def on_epoch_begin(self, epoch: int, logs: dict[str, float] | None = None) -> None:
        self.current = epoch

    def on_train_batch_end(self, batch: int, logs: dict[str, float] | None = None) -> None:
        if (self.current, batch) == (self.epoch, 0):
            next(iter(self.model.parameters())).array[...] = np.nan


@pytest.fixture(scope="module")
def finished(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("finished")
    assert main(["train", *ARGS, "--out", str(out)]) == 0
    return out


def test_a_diverging_run_keeps_the_last_finite_epoch_and_says_so(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    args = build_parser().parse_args(["train", *ARGS, "--epochs", "3", "--out", str(tmp_path)])
    assert train.run(args, callbacks=[PoisonAt(epoch=1)]) == 1
    assert "non-finite loss at epoch 2" in capsys.readouterr().err
    saved = sj.load(tmp_path / "checkpoint.safetensors")
    assert saved["epoch"] == 1 and len(saved["history"]["loss"]) == 1
    assert all(np.isfinite(v).all() for v in saved["model"].values())
    metrics = json.loads((tmp_path / "metrics.json").read_text())
    assert metrics["stopped"] == "non-finite loss at epoch 2"
    assert metrics["epochs_completed"] == 1
    # The run can be continued from the good epoch.
    assert main(["train", "--out", str(tmp_path), "--resume", "--quiet"]) == 0
    assert sj.load(tmp_path / "checkpoint.safetensors")["epoch"] == 3


def test_a_finished_run_is_not_replaced_without_overwrite(
        finished: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "run"
    shutil.copytree(finished, out)
    before = (out / "checkpoint.safetensors").read_bytes()
    assert main(["train", *ARGS, "--out", str(out)]) == 2
    err = capsys.readouterr().err.strip()
    assert err == (f"shenjing train: error: {out} already holds a finished run; use --resume, "
                   "--overwrite, or another --out")
    assert (out / "checkpoint.safetensors").read_bytes() == before
    assert main(["train", *ARGS, "--epochs", "1", "--out", str(out), "--overwrite"]) == 0
    assert sj.load(out / "checkpoint.safetensors")["epoch"] == 1


HOLDER = """
import sys
from pathlib import Path
from shenjing.cli import runfolder
out = Path(sys.argv[1])
with runfolder.claimed(out):
    if sys.argv[2] == "empty":  # as a run would look between creating the file and its pid
        (out / runfolder.LOCK_NAME).write_text("")
    print("holding", flush=True)
    sys.stdin.read()  # until the test closes our stdin, or kills us
"""


def _holder(out: Path, how: str = "pid") -> subprocess.Popen[str]:
    """Another process holding ``out``'s lock (a real second run, as far as the lock goes)."""
    holder = subprocess.Popen([sys.executable, "-c", HOLDER, str(out), how], text=True,
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                              env={**os.environ, "PYTHONPATH": str(REPO)})
    assert holder.stdout is not None and holder.stdout.readline() == "holding\n"
    return holder


def test_a_live_lock_refuses_a_second_run_and_a_stale_one_is_taken_over(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    holder = _holder(tmp_path)
    try:
        assert main(["train", *ARGS, "--out", str(tmp_path)]) == 2
        assert (f"in use by another 'shenjing train' (pid {holder.pid})"
                in capsys.readouterr().err)
        assert not (tmp_path / "checkpoint.safetensors").exists()
    finally:
        holder.kill()  # as a killed run: the system drops its lock, its file stays
        holder.communicate()
    assert tmp_path.joinpath(".lock").read_text() == f"{holder.pid}\n"  # stale now
    assert main(["train", *ARGS, "--epochs", "1", "--out", str(tmp_path)]) == 0
    assert not (tmp_path / ".lock").exists()


def test_a_lock_without_its_pid_yet_is_still_held(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # The race of a lock made of "create the file, then write the pid": a run seen between
    # the two looked stale and lost its folder. The system's lock has no such moment.
    holder = _holder(tmp_path, "empty")
    try:
        assert main(["train", *ARGS, "--out", str(tmp_path)]) == 2
        assert "in use by another 'shenjing train'" in capsys.readouterr().err
    finally:
        holder.communicate(timeout=30)  # closes its stdin: it lets go
    assert holder.returncode == 0
    assert not (tmp_path / ".lock").exists()  # the holder cleaned up after itself


def test_the_best_epoch_is_kept_and_evaluate_names_the_file_it_used(
        finished: Path, capsys: pytest.CaptureFixture[str]) -> None:
    metrics = json.loads((finished / "metrics.json").read_text())
    losses = metrics["history"]["val_loss"]
    best = sj.load(finished / "best.safetensors")
    assert best["epoch"] == metrics["best_epoch"] == int(np.argmin(losses)) + 1
    assert main(["evaluate", str(finished), "--split", "train"]) == 0
    first = capsys.readouterr().out.splitlines()[0]
    assert f"best.safetensors (the best epoch by validation loss, epoch {best['epoch']})" in first
    assert main(["evaluate", str(finished / "checkpoint.safetensors"), "--split", "train"]) == 0
    assert "(the last epoch, epoch 2)" in capsys.readouterr().out.splitlines()[0]


def _crafted_header(path: Path) -> None:
    header = json.dumps({"w": {"dtype": "F32", "shape": [1]}}).encode()
    path.write_bytes(struct.pack("<Q", len(header)) + header + bytes(4))


@pytest.mark.parametrize("damage", ["no-config", "unknown-keyword", "crafted-header"])
@pytest.mark.parametrize("command", ["evaluate", "predict"])
def test_a_bad_checkpoint_is_one_line_and_exit_2(
        finished: Path, tmp_path: Path, damage: str, command: str,
        capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "bad.safetensors"
    if damage == "crafted-header":
        _crafted_header(path)
    else:
        checkpoint = sj.load(finished / "checkpoint.safetensors")
        if damage == "no-config":
            del checkpoint["config"]
        else:
            checkpoint["config"]["model_arguments"]["depth"] = 3
        sj.save(checkpoint, path)
    np.save(tmp_path / "x.npy", np.zeros((1, 28, 28), dtype=np.float32))
    argv = [command, str(path)] + ([str(tmp_path / "x.npy")] if command == "predict" else [])
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert len(err.splitlines()) == 1 and str(path) in err and "Traceback" not in err


def test_nan_in_a_data_set_is_named_before_training(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    rng = np.random.default_rng(0)
    x = rng.normal(size=(40, 4))
    x[[3, 7, 11, 19]] = np.nan  # 16 NaN values in 4 rows
    y = np.arange(40) % 3
    monkeypatch.setattr(common, "load_raw", lambda dataset: ((x, y), (np.zeros((5, 4)), y[:5])))
    argv = ["train", "--dataset", "iris", "--model", "mlp", "--out", str(tmp_path), "--quiet"]
    assert main(argv) == 1
    assert capsys.readouterr().err == (
        "shenjing train: error: iris: x_train contains 16 NaN values in 4 rows\n")


def test_predict_puts_8_bit_inputs_on_the_training_scale(
        finished: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from shenjing.data import load_fashion_mnist_small

    assert sj.load(finished / "checkpoint.safetensors")["config"]["data"]["raw_range"] == [
        0.0, 1.0]
    _, (x_test, _) = load_fashion_mnist_small()
    np.save(tmp_path / "unit.npy", x_test[:4])
    np.save(tmp_path / "bytes.npy", np.round(x_test[:4] * 255).astype(np.uint8))
    np.save(tmp_path / "wild.npy", x_test[:4] * 1000 - 500)
    assert main(["predict", str(finished), str(tmp_path / "unit.npy")]) == 0
    unit = capsys.readouterr()
    assert unit.err.startswith("using ") and len(unit.err.splitlines()) == 1  # no warning
    assert main(["predict", str(finished), str(tmp_path / "bytes.npy")]) == 0
    scaled = capsys.readouterr()
    assert "dividing by 255 as the training images were" in scaled.err
    classes = [[line.split()[1] for line in out.splitlines()[1:]]
               for out in (unit.out, scaled.out)]
    assert classes[0] == classes[1]
    assert main(["predict", str(finished), str(tmp_path / "wild.npy")]) == 0
    assert "the predictions may be meaningless" in capsys.readouterr().err


def test_predict_refuses_forged_arrays_and_huge_images_in_one_line(
        finished: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    import io

    from shenjing.cli import predict

    header = io.BytesIO()  # declares 40 GB of float32, holds 16 bytes
    np.lib.format.write_array_header_1_0(
        header, {"descr": "<f4", "fortran_order": False, "shape": (100_000, 100_000)})
    (tmp_path / "forged.npy").write_bytes(header.getvalue() + bytes(16))
    assert main(["predict", str(finished), str(tmp_path / "forged.npy")]) == 2
    err = capsys.readouterr().err
    assert len(err.splitlines()) == 1 and "forged.npy: not a readable .npy array" in err

    image = pytest.importorskip("PIL.Image")
    image.new("L", (28, 28)).save(tmp_path / "big.png")
    monkeypatch.setattr(predict, "MAX_PIXELS", 100)
    assert main(["predict", str(finished), str(tmp_path / "big.png")]) == 2
    assert "the image is 28x28 pixels, more than 100; shrink it first" in capsys.readouterr().err


def test_export_evaluate_and_predict_use_the_same_checkpoint_and_name_it(
        finished: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    ort = pytest.importorskip("onnxruntime")
    run = tmp_path / "run"
    shutil.copytree(finished, run)
    # A best epoch whose weights are unlike the last one's, so the file used shows.
    best = sj.load(run / "best.safetensors")
    best["model"] = {k: v * 0.5 for k, v in best["model"].items()}
    best["epoch"] = 1
    sj.save(best, run / "best.safetensors")
    using = f"using {run / 'best.safetensors'} (the best epoch by validation loss, epoch 1)"

    assert main(["evaluate", str(run), "--limit", "20"]) == 0
    assert capsys.readouterr().out.splitlines()[0] == using
    np.save(tmp_path / "x.npy", np.zeros((2, 28, 28), np.float32))
    assert main(["predict", str(run), str(tmp_path / "x.npy")]) == 0
    assert capsys.readouterr().err.splitlines()[0] == using
    onnx_file = tmp_path / "m.onnx"
    assert main(["export", str(run), str(onnx_file)]) == 0
    assert capsys.readouterr().out.splitlines()[0] == using

    x = np.random.default_rng(0).standard_normal((3, 1, 28, 28)).astype(np.float32)
    got = ort.InferenceSession(str(onnx_file), providers=["CPUExecutionProvider"]).run(
        None, {"input": x})[0]
    for name, agrees in (("best.safetensors", True), ("checkpoint.safetensors", False)):
        model = common.model_from_checkpoint(common.read_checkpoint(run / name))
        with sj.no_grad():
            expected = model(sj.from_numpy(x)).numpy()
        assert np.allclose(got, expected, atol=1e-5) == agrees, name
