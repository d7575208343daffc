"""Keras habits on any model: ``predict`` before ``compile``, ``layers``,
``get_weights``/``set_weights``, ``save_weights``/``load_weights``, and the
``ReduceLROnPlateau`` callback with Keras's arguments."""

from __future__ import annotations

import numpy as np
import pytest

import shenjing as sj
import shenjing.nn as nn
from shenjing.training import Callback, ReduceLROnPlateau


def _model() -> nn.Sequential:
    sj.manual_seed(0)
    return nn.Sequential(nn.Linear(4, 8), nn.BatchNorm1d(8), nn.ReLU(), nn.Linear(8, 3))


def test_predict_without_compile_gives_the_outputs_in_eval_mode() -> None:
    model = _model()
    x = np.random.default_rng(0).normal(size=(10, 4))
    out = model.predict(x, batch_size=3)
    assert not model.training
    with sj.no_grad():
        expected = model(sj.tensor(x)).numpy()
    np.testing.assert_allclose(out, expected, rtol=1e-5, atol=1e-6)
    assert out.shape == (10, 3) and out.dtype == np.float32


def test_layers_lists_the_children_and_leaves_a_modules_own_layers_alone() -> None:
    model = _model()
    assert model.layers == list(model.children()) and len(model.layers) == 4
    assert not hasattr(nn.Linear(2, 2), "layers")  # only Sequential has Keras's list

    class Stack(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.layers = nn.ModuleList([nn.Linear(2, 2), nn.Linear(2, 2)])

    stack = Stack()
    assert isinstance(stack.layers, nn.ModuleList) and len(stack.layers) == 2


def test_get_set_weights_and_save_load_weights_round_trip(tmp_path) -> None:
    source, target = _model(), _model()
    for p in target.parameters():
        p.data.normal_()
    weights = source.get_weights()
    assert len(weights) == len(source.state_dict())  # parameters and BatchNorm's statistics
    target.set_weights(weights)
    for a, b in zip(target.get_weights(), weights, strict=True):
        np.testing.assert_array_equal(a, b)
    with pytest.raises(ValueError, match=r"set_weights: 0.weight has shape \(8, 4\)"):
        target.set_weights([np.zeros((4, 8))] + weights[1:])
    with pytest.raises(ValueError, match="set_weights: the model has 9 weights. Received: 2"):
        target.set_weights(weights[:2])
    path = tmp_path / "weights.safetensors"
    source.save_weights(path)
    fresh = _model()
    for p in fresh.parameters():
        p.data.zero_()
    fresh.load_weights(path)
    x = sj.randn(5, 4)
    source.eval()
    fresh.eval()
    np.testing.assert_array_equal(fresh(x).numpy(), source(x).numpy())


class _Logs(Callback):
    def __init__(self) -> None:
        self.seen: list[dict] = []

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        self.seen.append(dict(logs or {}))


def _keras_schedule(losses, factor, patience, min_delta, cooldown, min_lr, lr):
    """Keras's ReduceLROnPlateau rule, written out: the rate in force after each epoch."""
    best, wait, cool, rates = np.inf, 0, 0, []
    for value in losses:
        if cool > 0:
            cool, wait = cool - 1, 0
        if value < best - min_delta:
            best, wait = value, 0
        elif cool == 0:
            wait += 1
            if wait >= patience and lr > min_lr:
                lr, cool, wait = max(lr * factor, min_lr), cooldown, 0
        rates.append(lr)
    return rates


def test_reduce_lr_on_plateau_follows_keras_rule() -> None:
    losses = [1.0, 0.9, 0.95, 0.91, 0.92, 0.93, 0.8, 0.85, 0.86, 0.87, 0.88, 0.89, 0.9]
    callback = ReduceLROnPlateau(monitor="loss", factor=0.5, patience=2, min_delta=0.01,
                                 cooldown=1, min_lr=0.03)
    optimizer = sj.optim.SGD([sj.zeros(1, requires_grad=True)], lr=0.2)

    class Model:
        pass

    model = Model()
    model.optimizer = optimizer
    callback.set_model(model)
    callback.on_train_begin()
    rates = []
    for epoch, loss in enumerate(losses):
        logs = {"loss": loss}
        callback.on_epoch_end(epoch, logs)
        rates.append(optimizer.param_groups[0]["lr"])
    expected = _keras_schedule(losses, 0.5, 2, 0.01, 1, 0.03, 0.2)
    np.testing.assert_allclose(rates, expected)
    assert min(rates) == pytest.approx(0.03) and rates[0] == 0.2


def test_reduce_lr_on_plateau_in_fit_and_bad_factor() -> None:
    x = np.random.default_rng(0).normal(size=(64, 4)).astype(np.float32)
    y = np.random.default_rng(1).integers(0, 3, 64)
    model = _model()
    model.compile(optimizer=sj.optim.SGD(model.parameters(), lr=1e-9), loss="cross_entropy")
    logs = _Logs()
    model.fit(x, y, epochs=4, batch_size=32, verbose=0,
              callbacks=[ReduceLROnPlateau(monitor="loss", factor=0.5, patience=1,
                                           min_delta=1.0), logs])
    # Logged as each epoch ends, before that epoch's reduction (Keras's order): the first
    # epoch sets the best, each later one fails to improve by min_delta and halves the rate.
    assert [entry["learning_rate"] for entry in logs.seen] == pytest.approx(
        [1e-9, 1e-9, 5e-10, 2.5e-10])
    assert model.optimizer.param_groups[0]["lr"] == pytest.approx(1.25e-10)
    with pytest.raises(ValueError, match="does not support a factor >= 1.0"):
        ReduceLROnPlateau(factor=1.5)
