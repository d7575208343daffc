"""fit, evaluate and predict refuse bad data before any work, naming what is wrong, and
accept Keras's verbose values."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import shenjing as sj
import shenjing.nn as nn


def _model() -> nn.Sequential:
    sj.manual_seed(0)
    model = nn.Sequential(nn.Linear(3, 2))
    model.compile(optimizer="sgd", loss="cross_entropy", metrics=["accuracy"])
    return model


def _data(n: int = 40) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    x = rng.normal(size=(n, 3)).astype(np.float32)
    return x, (x[:, 0] > 0).astype(np.int64)


def test_nan_and_inf_in_the_inputs_are_reported_before_training() -> None:
    x, y = _data()
    x[[1, 5, 9, 13], :] = np.nan  # 12 NaN values in 4 rows
    x[20, 0] = np.inf
    model = _model()
    with pytest.raises(ValueError, match="fit: x contains 12 NaN values in 4 rows and 1 "
                                         "infinite value in 1 row"):
        model.fit(x, y, epochs=1, verbose=0)
    with pytest.raises(ValueError, match=r"fit \(validation\): x contains 12 NaN"):
        model.fit(*_data(), validation_data=(x, y), epochs=1, verbose=0)


@pytest.mark.parametrize("method", ["fit", "evaluate", "predict", "predict_proba"])
def test_zero_samples_are_a_clear_error(method: str) -> None:
    model = _model()
    x, y = _data(0)
    args = (x,) if method.startswith("predict") else (x, y)
    with pytest.raises(ValueError, match=f"{method}: x has no samples"):
        getattr(model, method)(*args)


@pytest.mark.parametrize("batch_size", [0, -1, 2.5])
def test_a_bad_batch_size_is_a_clear_error(batch_size) -> None:
    model = _model()
    with pytest.raises(ValueError, match=f"predict: batch_size must be a positive integer. "
                                         f"Received: {batch_size}"):
        model.predict(_data()[0], batch_size=batch_size)


def test_non_numeric_inputs_are_refused_with_their_dtype() -> None:
    with pytest.raises(TypeError, match="fit: x must hold numbers. Received: dtype=<U1"):
        _model().fit(np.array([["a", "b", "c"]] * 4), np.zeros(4, dtype=np.int64), verbose=0)


def test_verbose_2_prints_one_line_per_epoch(capsys: pytest.CaptureFixture[str]) -> None:
    model = _model()
    model.fit(*_data(), epochs=3, batch_size=8, verbose=2)
    captured = capsys.readouterr()
    lines = captured.out.splitlines()
    assert [line.split(" - ")[0] for line in lines] == ["Epoch 1/3", "Epoch 2/3", "Epoch 3/3"]
    assert "loss: " in lines[0] and captured.err == ""


def test_evaluate_and_predict_accept_keras_verbose(capsys: pytest.CaptureFixture[str]) -> None:
    model = _model()
    x, y = _data()
    model.fit(x, y, epochs=1, verbose=0)
    assert set(model.evaluate(x, y, verbose=0)) == {"loss", "accuracy"}
    assert model.predict(x, verbose=0).shape == (40,)
    assert capsys.readouterr().out == ""
    model.evaluate(x, y, verbose=1)
    assert capsys.readouterr().out.startswith("loss: ")
    with pytest.raises(ValueError, match="verbose must be 0, 1, 2 or 'auto'. Received: 3"):
        model.predict(x, verbose=3)


def test_missing_targets_are_named() -> None:
    with pytest.raises(ValueError, match="fit: y is missing. Received: None"):
        _model().fit(_data()[0], None, verbose=0)
    _model().fit(*_data(), epochs=1, verbose=False)  # Keras code passes booleans too


def test_float_class_indices_name_the_dtype_and_the_fix() -> None:
    x, y = _data()
    with pytest.raises(TypeError, match=r"fit: the loss 'cross_entropy' needs integer class "
                                        r"labels. Received: y with dtype=float64; convert "
                                        r"with y.astype\(np.int64\)"):
        _model().fit(x, y.astype(np.float64), verbose=0)


def _images(n: int = 32) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(1)
    pixels = rng.integers(0, 256, size=(n, 3), dtype=np.uint8)
    return pixels, (pixels[:, 0] > 127).astype(np.int64)


def test_uint8_images_after_training_on_0_1_data_get_a_warning() -> None:
    pixels, y = _images()
    model = _model()
    model.fit(pixels / 255.0, y, epochs=1, batch_size=8, verbose=0)  # trained on [0, 1]
    for call in (lambda: model.fit(pixels, y, epochs=1, batch_size=8, verbose=0),
                 lambda: model.evaluate(pixels, y),
                 lambda: model.predict(pixels)):
        with pytest.warns(UserWarning, match=r"x is uint8 with values up to 255, but the "
                                             r"model was trained on data in \[0(\.\d+)?, "
                                             r"1(\.\d+)?\]; scale it .*x / 255.0") as caught:
            call()
        assert caught[0].filename == __file__  # it points at the caller's line
    # Scaled data, or a model that was trained on 0-255 data, gets no warning.
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        model.predict(pixels / 255.0)
        raw = _model()
        raw.fit(pixels.astype(np.float32), y, epochs=1, batch_size=8, verbose=0)
        raw.fit(pixels, y, epochs=1, batch_size=8, verbose=0)
