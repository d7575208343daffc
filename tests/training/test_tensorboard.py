"""The TensorBoard callback, checked by reading its event files back with TensorBoard's
own reader: the values, not just that files exist."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest

import shenjing as sj
from shenjing.models import mlp

pytest.importorskip("tensorboardX")
event_accumulator = pytest.importorskip(
    "tensorboard.backend.event_processing.event_accumulator")


def _read(folder: Path) -> object:
    kinds = (event_accumulator.SCALARS, event_accumulator.HISTOGRAMS,
             event_accumulator.IMAGES, event_accumulator.TENSORS)
    everything = dict.fromkeys(kinds, 0)  # 0: keep every event
    reader = event_accumulator.EventAccumulator(str(folder), size_guidance=everything)
    reader.Reload()
    return reader


def _scalars(reader: object, tag: str) -> list[tuple[int, float]]:
    return [(e.step, e.value) for e in reader.Scalars(tag)]


@pytest.fixture
def data() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    x = rng.standard_normal((40, 4)).astype(np.float32)
    return x, (x[:, 0] > 0).astype(np.int64) + (x[:, 1] > 1).astype(np.int64)


def _model() -> sj.nn.Module:
    sj.manual_seed(0)
    model = mlp(4, (8,), 3)
    model.compile(optimizer=sj.optim.SGD(model.parameters(), lr=0.05), loss="cross_entropy",
                  metrics=["accuracy"])
    return model


def test_epoch_scalars_histograms_image_and_graph(tmp_path: Path, data: tuple) -> None:
    x, y = data
    model = _model()
    board = sj.training.TensorBoard(tmp_path, histogram_freq=1, confusion_data=(x, y))
    history = model.fit(x, y, epochs=3, batch_size=10, verbose=0,
                        validation_data=(x[:10], y[:10]), callbacks=[board]).history
    train, validation = _read(tmp_path / "train"), _read(tmp_path / "validation")
    for key in ("loss", "accuracy"):
        got = _scalars(train, f"epoch_{key}")
        assert [s for s, _ in got] == [0, 1, 2]
        np.testing.assert_allclose([v for _, v in got], history[key], rtol=1e-6)
        np.testing.assert_allclose([v for _, v in _scalars(validation, f"epoch_{key}")],
                                   history[f"val_{key}"], rtol=1e-6)
    np.testing.assert_allclose([v for _, v in _scalars(train, "epoch_learning_rate")],
                               [0.05] * 3, rtol=1e-6)
    assert "batch_loss" not in train.Tags()["scalars"]  # update_freq="epoch"

    weight = model[1].weight.numpy()
    last = train.Histograms("1.weight/histogram")[-1]
    assert last.step == 2 and last.histogram_value.num == weight.size
    np.testing.assert_allclose(last.histogram_value.sum, weight.sum(), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(last.histogram_value.max, weight.max(), rtol=1e-6)
    gradient = train.Histograms("1.weight/gradient")[-1].histogram_value
    np.testing.assert_allclose(gradient.sum, model[1].weight.grad.numpy().sum(), atol=1e-6)

    from PIL import Image

    image = validation.Images("confusion_matrix")[-1]
    assert (image.width, image.height) == (3 * 16, 3 * 16)
    pixels = np.asarray(Image.open(io.BytesIO(image.encoded_image_string)).convert("RGB"))
    with sj.no_grad():
        predicted = model(sj.from_numpy(x)).numpy().argmax(axis=1)
    matrix = sj.diagnostics.confusion_matrix(y, predicted, 3)
    expected = np.round(sj.training.tensorboard.matrix_image(matrix) * 255)
    np.testing.assert_allclose(pixels.transpose(2, 0, 1), expected, atol=1)

    text = train.Tensors("graph/text_summary")[0].tensor_proto.string_val[0].decode()
    assert "Linear" in text and "ops of one forward pass" in text and "ReLU(" in text


def test_batch_scalars_every_n_batches(tmp_path: Path, data: tuple) -> None:
    x, y = data
    model = _model()
    board = sj.training.TensorBoard(tmp_path, update_freq=3, write_graph=False)
    model.fit(x, y, epochs=2, batch_size=10, verbose=0, callbacks=[board])
    train = _read(tmp_path / "train")
    assert [s for s, _ in _scalars(train, "batch_loss")] == [3, 6]
    assert [v for _, v in _scalars(train, "batch_learning_rate")] == pytest.approx([0.05] * 2)
    assert train.Tags()["histograms"] == [] and train.Tags()["tensors"] == []


def test_bad_options_are_refused() -> None:
    with pytest.raises(ValueError, match="update_freq must be .* Received: 'step'"):
        sj.training.TensorBoard("logs", update_freq="step")
    with pytest.raises(ValueError, match="histogram_freq must be .* Received: -1"):
        sj.training.TensorBoard("logs", histogram_freq=-1)


def test_a_missing_tensorboardx_names_the_extra(monkeypatch: pytest.MonkeyPatch,
                                                tmp_path: Path, data: tuple) -> None:
    import sys

    monkeypatch.setitem(sys.modules, "tensorboardX", None)  # makes the import fail
    model = _model()
    with pytest.raises(ImportError, match=r"pip install shenjing\[tensorboard\]"):
        model.fit(*data, epochs=1, verbose=0,
                  callbacks=[sj.training.TensorBoard(tmp_path, write_graph=False)])
