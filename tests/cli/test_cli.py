"""The shenjing command end to end on a tiny setting: help and argument errors, train,
evaluate, predict (PNG and .npy), gradcheck, bench and info."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

import shenjing as sj
from shenjing.cli import build_parser, common, main, predict
from shenjing.data import load_fashion_mnist_small

COMMANDS = ["train", "evaluate", "predict", "gradcheck", "bench", "info"]


@pytest.mark.parametrize("command", COMMANDS)
def test_every_command_has_help_with_examples(command: str,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as stop:
        main([command, "--help"])
    assert stop.value.code == 0
    out = capsys.readouterr().out
    assert f"shenjing {command}" in out and "examples:" in out


@pytest.mark.parametrize("argv", [
    ["train", "--epochs", "0"],
    ["train", "--model", "vgg16"],
    ["train", "--dataset", "no-such-set"],
    ["train", "--validation-split", "1.5"],
    ["evaluate"],
    ["gradcheck", "--batch-size", "two"],
    ["frobnicate"],
    [],
], ids=["epochs", "model", "dataset", "split", "missing-arg", "not-a-number", "command", "none"])
def test_bad_arguments_give_one_line_and_exit_2(argv: list[str],
                                                capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as stop:
        main(argv)
    assert stop.value.code == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    lines = captured.err.splitlines()
    assert len(lines) == 1 and "error:" in lines[0], captured.err


def test_bad_combinations_found_while_running_also_exit_2(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["train", "--out", str(tmp_path), "--resume"]) == 2
    assert main(["train", "--dataset", "iris", "--model", "lenet5", "--out",
                 str(tmp_path)]) == 2
    lines = capsys.readouterr().err.splitlines()
    assert len(lines) == 2
    assert "no checkpoint" in lines[0] and "tabular" in lines[1]


@pytest.fixture(scope="module")
def trained_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """LeNet-5 trained for one epoch on 96 bundled images."""
    out = tmp_path_factory.mktemp("run")
    import contextlib
    import io

    buffer = io.StringIO()
    with contextlib.redirect_stdout(buffer):
        code = main(["train", "--limit", "96", "--epochs", "1", "--batch-size", "32",
                     "--out", str(out), "--quiet"])
    assert code == 0
    return out, buffer.getvalue()


def test_train_writes_checkpoint_metrics_and_pictures(trained_run: tuple[Path, str]) -> None:
    out, printed = trained_run
    names = {p.name for p in out.iterdir()}
    assert names == {"checkpoint.safetensors", "best.safetensors", "metrics.json", "curves.png",
                     "confusion.png"}
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["epochs_completed"] == 1
    assert metrics["config"]["model"] == "lenet5"
    assert set(metrics["history"]) == {"loss", "accuracy", "val_loss", "val_accuracy"}
    matrix = np.array(metrics["test"]["confusion_matrix"])
    assert matrix.sum() == 96 == metrics["test"]["samples"]
    assert metrics["test"]["accuracy"] == pytest.approx(np.trace(matrix) / 96)
    assert f"test accuracy: {metrics['test']['accuracy']:.4f}" in printed
    checkpoint = sj.load(out / "checkpoint.safetensors")
    assert checkpoint["epoch"] == 1 and "0.weight" in checkpoint["model"]
    assert checkpoint["optimizer"]["state"]  # Adam's moments, for resuming


def test_evaluate_reproduces_the_training_accuracy(trained_run: tuple[Path, str],
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    out, _ = trained_run
    accuracy = json.loads((out / "metrics.json").read_text())["test"]["accuracy"]
    assert main(["evaluate", str(out), "--limit", "96"]) == 0
    printed = capsys.readouterr().out
    assert f"accuracy: {accuracy:.4f}" in printed
    assert "precision" in printed and "Ankle boot" in printed
    assert "confusion matrix" in printed


def test_predict_images_and_arrays(trained_run: tuple[Path, str], tmp_path: Path,
                                   capsys: pytest.CaptureFixture[str]) -> None:
    Image = pytest.importorskip("PIL.Image")
    out, _ = trained_run
    _, (x_test, _) = load_fashion_mnist_small()
    np.save(tmp_path / "batch.npy", x_test[:3])
    np.save(tmp_path / "one.npy", x_test[0, 0])
    # The first test image as a photo would look: dark on white paper, 4 times larger, RGB.
    dark_on_white = np.repeat(np.repeat(1.0 - x_test[0, 0], 4, axis=0), 4, axis=1)
    pixels = np.round(255 * dark_on_white).astype(np.uint8)
    Image.fromarray(np.stack([pixels] * 3, axis=-1)).save(tmp_path / "photo.png")
    files = [str(tmp_path / name) for name in ("batch.npy", "one.npy", "photo.png")]
    assert main(["predict", str(out), *files]) == 0
    rows = [line.split() for line in capsys.readouterr().out.splitlines()[1:]]
    assert [row[0].rsplit("/", 1)[-1] for row in rows] == [
        "batch.npy[0]", "batch.npy[1]", "batch.npy[2]", "one.npy", "photo.png"]
    checkpoint = common.read_checkpoint(out)
    model = common.model_from_checkpoint(checkpoint)
    expected = common.probabilities(model, x_test[:3])
    for row, probs in zip(rows[:3], expected, strict=True):
        assert int(row[1]) == probs.argmax()
        assert float(row[-1]) == pytest.approx(probs.max(), abs=1e-4)
    assert rows[3][1:] == rows[0][1:]  # (28, 28) is one sample
    assert rows[4][1] == rows[0][1]  # the photo, inverted and shrunk, is the same image


def test_image_preparation() -> None:
    blocks = np.kron(np.arange(4.0).reshape(2, 2), np.ones((3, 3)))  # 6x6 of 3x3 blocks
    np.testing.assert_allclose(common.resample(blocks, (2, 2)), [[0, 1], [2, 3]], atol=1e-6)
    enlarged = common.resample(np.array([[0.0, 1.0]]), (1, 4))
    np.testing.assert_allclose(enlarged, [[0.0, 0.25, 0.75, 1.0]], atol=1e-6)
    rgba = np.zeros((2, 2, 4))
    rgba[..., 0] = 1.0  # red
    rgba[0, 0, 3] = 1.0  # only one pixel is opaque; the rest shows white paper
    np.testing.assert_allclose(predict.to_grey(rgba), [[0.299, 1.0], [1.0, 1.0]])
    light = np.ones((6, 6))
    light[2:4, 2:4] = 0.0  # a dark square on white is inverted: light on black
    prepared = predict.like_training_images(light, (3, 3))
    assert prepared.shape == (1, 3, 3) and prepared[0, 1, 1] > 0.4 and prepared[0, 0, 0] == 0


def test_evaluate_and_predict_refuse_other_files(tmp_path: Path,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    sj.save({"weight": np.ones(3)}, tmp_path / "plain.safetensors")
    assert main(["evaluate", str(tmp_path / "plain.safetensors")]) == 2
    assert main(["predict", str(tmp_path / "missing"), "x.png"]) == 2
    lines = capsys.readouterr().err.splitlines()
    assert len(lines) == 2
    assert "not a checkpoint written by 'shenjing train'" in lines[0]
    assert "no checkpoint" in lines[1]


def test_gradcheck_command(capsys: pytest.CaptureFixture[str],
                           monkeypatch: pytest.MonkeyPatch) -> None:
    assert main(["gradcheck", "--model", "lenet5", "--batch-size", "2",
                 "--max-elements", "4"]) == 0
    out = capsys.readouterr().out
    assert "0.weight" in out and "all 10 parameters pass" in out

    from tests.diagnostics.test_gradcheck_model import BuggyScale

    def buggy(name: str, arguments: dict) -> sj.nn.Module:
        return sj.nn.Sequential(sj.nn.Flatten(), sj.nn.Linear(784, 4), BuggyScale(4),
                                sj.nn.Linear(4, 10))

    monkeypatch.setattr(common, "build_model", buggy)
    assert main(["gradcheck", "--model", "mlp", "--max-elements", "4"]) == 1
    assert "FAIL" in capsys.readouterr().out


def test_bench_lists_and_explains_a_missing_repository(
        capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    assert main(["bench", "--list"]) == 0
    assert "engine" in capsys.readouterr().out.split()
    assert main(["bench", "no-such-benchmark"]) == 2
    from shenjing.cli import bench

    monkeypatch.setattr(bench, "find_repository", lambda: None)
    assert main(["bench"]) == 1
    assert "source repository" in capsys.readouterr().err


def test_info(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch,
              tmp_path: Path) -> None:
    monkeypatch.setenv("SHENJING_DATA", str(tmp_path))
    assert main(["info"]) == 0
    out = capsys.readouterr().out
    for expected in ("numpy", "safetensors", "BLAS", "OMP_NUM_THREADS",
                     f"$SHENJING_DATA: {tmp_path}", str(tmp_path / "fashion-mnist")):
        assert expected in out


def test_parser_is_reusable() -> None:
    args = build_parser().parse_args(["train", "--model", "mlp", "--lr", "0.01"])
    assert (args.model, args.lr, args.epochs) == ("mlp", 0.01, None)
