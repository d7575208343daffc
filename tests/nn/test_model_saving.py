"""``model.save(path)`` / ``sj.load_model(path)``: the architecture as JSON in the
safetensors file's metadata, classes found by name (shenjing's layers, or registered),
never pickle; the rebuilt model gives the same outputs."""

from __future__ import annotations

import json

import numpy as np
import pytest

import shenjing as sj
import shenjing.nn as nn


def _same_outputs(a: nn.Module, b: nn.Module, x: sj.Tensor) -> None:
    a.eval()
    b.eval()
    with sj.no_grad():
        np.testing.assert_array_equal(b(x).numpy(), a(x).numpy())


def test_keras_style_model_round_trips_after_training(tmp_path) -> None:
    sj.manual_seed(0)
    model = nn.Sequential(nn.Dense(16, activation="relu"), nn.Dropout(0.1))
    model.add(nn.Dense(3, activation="softmax"))
    x = np.random.default_rng(0).normal(size=(64, 5)).astype(np.float32)
    y = np.random.default_rng(1).integers(0, 3, 64)
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    model.fit(x, y, epochs=2, batch_size=16, verbose=0)
    path = tmp_path / "model.safetensors"
    model.save(path)
    loaded = sj.load_model(path)
    assert isinstance(loaded, nn.Sequential) and len(loaded) == 3
    assert isinstance(loaded[2], nn.Dense) and loaded[2].units == 3
    _same_outputs(model, loaded, sj.tensor(x))
    # The architecture is plain JSON in the file's header.
    header = json.loads(path.read_bytes()[8:8 + int.from_bytes(path.read_bytes()[:8], "little")])
    assert "Dense" in json.dumps(header["__metadata__"])


def test_conv_recurrent_and_nested_models_round_trip(tmp_path) -> None:
    sj.manual_seed(1)
    cnn = nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.BatchNorm2d(4), nn.ReLU(),
                        nn.MaxPool2d(2), nn.Flatten(), nn.Linear(4 * 4 * 4, 10))
    cnn(sj.randn(2, 1, 8, 8))  # BatchNorm's running statistics move
    cnn.save(tmp_path / "cnn.safetensors")
    _same_outputs(cnn, sj.load_model(tmp_path / "cnn.safetensors"), sj.randn(3, 1, 8, 8))
    lstm = nn.Sequential(nn.LSTM(3, 5, num_layers=2, batch_first=True))
    lstm.save(tmp_path / "lstm.safetensors")
    loaded = sj.load_model(tmp_path / "lstm.safetensors")
    assert loaded[0].batch_first and loaded[0].num_layers == 2
    x = sj.randn(2, 4, 3)
    np.testing.assert_array_equal(loaded[0](x)[0].numpy(), lstm[0](x)[0].numpy())


class Head(nn.Module):
    def __init__(self, width: int, classes: int = 2) -> None:
        super().__init__()
        self.body = nn.Linear(width, 8)
        self.out = nn.Linear(8, classes)

    def forward(self, x: sj.Tensor) -> sj.Tensor:
        return self.out(self.body(x).relu())


def test_a_custom_class_needs_registering(tmp_path) -> None:
    model = nn.Sequential(nn.Linear(4, 4), Head(4, classes=3))
    with pytest.raises(TypeError, match=r"model.save: the model.1 is a Head, which is not one "
                                        r"of shenjing's layers. Register it with "
                                        r"shenjing.nn.register_module\(Head\)"):
        model.save(tmp_path / "m.safetensors")
    nn.register_module(Head)
    model.save(tmp_path / "m.safetensors")
    loaded = sj.load_model(tmp_path / "m.safetensors")
    assert isinstance(loaded[1], Head) and loaded[1].out.out_features == 3
    _same_outputs(model, loaded, sj.randn(2, 4))


def test_a_state_dict_file_is_not_a_model_file(tmp_path) -> None:
    sj.save(nn.Linear(2, 2).state_dict(), tmp_path / "sd.safetensors")
    with pytest.raises(ValueError, match="is not a model file written by model.save"):
        sj.load_model(tmp_path / "sd.safetensors")
