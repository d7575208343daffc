"""Keras-style training: compile/fit/evaluate/predict on real small data sets."""

from __future__ import annotations

import numpy as np
import pytest

import shenjing as sj
import shenjing.nn as nn


def _blobs(n: int = 600, classes: int = 3, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    centers = np.array([[0.0, 0.0], [6.0, 0.0], [0.0, 6.0]])[:classes]
    y = rng.integers(0, classes, n)
    x = centers[y] + rng.normal(0, 1, size=(n, 2))
    return x.astype(np.float32), y


def _mlp(classes: int = 3) -> nn.Sequential:
    return nn.Sequential(nn.Linear(2, 16), nn.ReLU(), nn.Linear(16, classes))


def test_fit_returns_history_with_loss_metrics_and_validation() -> None:
    sj.manual_seed(0)
    x, y = _blobs()
    model = _mlp()
    model.compile(optimizer=sj.optim.Adam(model.parameters(), lr=0.05), loss="cross_entropy",
                  metrics=["accuracy"])
    history = model.fit(x, y, epochs=5, batch_size=32, validation_split=0.2, verbose=0)
    assert set(history.history) == {"loss", "accuracy", "val_loss", "val_accuracy"}
    assert len(history.history["loss"]) == 5 and history.epoch == [0, 1, 2, 3, 4]
    assert history.history["loss"][-1] < history.history["loss"][0]
    assert history.history["val_accuracy"][-1] > 0.9


def test_optimizer_by_name_and_without_params_bind_on_the_first_batch() -> None:
    x, y = _blobs()
    for optimizer in ("adam", sj.optim.Adam(lr=0.05)):
        sj.manual_seed(0)
        model = nn.Sequential(nn.Dense(16, activation="relu"), nn.Dense(3))
        model.compile(optimizer=optimizer, loss="cross_entropy", metrics=["accuracy"])
        model.fit(x, y, epochs=8, batch_size=32, verbose=0)
        assert model.evaluate(x, y)["accuracy"] > 0.85


def test_evaluate_matches_a_manual_computation() -> None:
    sj.manual_seed(0)
    x, y = _blobs(200)
    model = _mlp()
    model.compile(optimizer="sgd", loss="cross_entropy", metrics=["accuracy", "top_2_accuracy"])
    result = model.evaluate(x, y, batch_size=64)
    with sj.no_grad():
        logits = model(sj.tensor(x))
        loss = sj.nn.functional.cross_entropy(logits, sj.tensor(y)).item()
    assert result["loss"] == pytest.approx(loss, rel=1e-5)
    assert result["accuracy"] == pytest.approx((logits.numpy().argmax(1) == y).mean())
    top2 = np.argsort(-logits.numpy(), axis=1)[:, :2]
    assert result["top_2_accuracy"] == pytest.approx((top2 == y[:, None]).any(1).mean())


def test_predict_gives_labels_and_predict_proba_probabilities() -> None:
    sj.manual_seed(0)
    x, y = _blobs(100)
    model = _mlp()
    model.compile(optimizer="adam", loss="cross_entropy")
    proba = model.predict_proba(x)
    assert proba.shape == (100, 3)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=1e-5)
    np.testing.assert_array_equal(model.predict(x), proba.argmax(axis=1))


def test_binary_and_regression_predictions() -> None:
    sj.manual_seed(0)
    x, y = _blobs(300, classes=2)
    model = nn.Sequential(nn.Linear(2, 8), nn.Tanh(), nn.Linear(8, 1), nn.Sigmoid())
    model.compile(optimizer=sj.optim.Adam(model.parameters(), lr=0.05),
                  loss="binary_cross_entropy", metrics=["accuracy"])
    model.fit(x, y, epochs=10, batch_size=32, verbose=0)
    assert model.predict_proba(x).shape == (300, 1)
    assert set(np.unique(model.predict(x))) <= {0, 1}
    assert (model.predict(x) == y).mean() > 0.9

    target = x @ np.array([1.5, -2.0], dtype=np.float32) + 0.5
    reg = nn.Sequential(nn.Linear(2, 1))
    reg.compile(optimizer=sj.optim.SGD(reg.parameters(), lr=0.01), loss="mse", metrics=["mae"])
    history = reg.fit(x, target, epochs=20, batch_size=32, verbose=0)
    assert history.history["mae"][-1] < 0.15  # targets spread over about ±10
    assert reg.predict(x).shape == (300, 1)


def test_fit_accepts_a_dataloader() -> None:
    sj.manual_seed(0)
    x, y = _blobs()
    loader = sj.data.DataLoader(sj.data.TensorDataset(x, y), batch_size=50, shuffle=True)
    model = _mlp()
    model.compile(optimizer=sj.optim.Adam(model.parameters(), lr=0.05), loss="cross_entropy",
                  metrics=["accuracy"])
    history = model.fit(loader, epochs=5, verbose=0)
    assert history.history["accuracy"][-1] > 0.85


def test_the_same_seed_gives_the_same_weights() -> None:
    def train() -> dict:
        sj.manual_seed(7)
        x, y = _blobs()
        model = nn.Sequential(nn.Linear(2, 16), nn.ReLU(), nn.Dropout(0.2), nn.Linear(16, 3))
        model.compile(optimizer="adam", loss="cross_entropy")
        model.fit(x, y, epochs=2, batch_size=32, verbose=0)
        return model.state_dict()

    first, second = train(), train()
    for key in first:
        np.testing.assert_array_equal(first[key], second[key])


def test_fit_names_bad_input() -> None:
    x, y = _blobs(100)
    model = _mlp()
    model.compile(optimizer="adam", loss="cross_entropy")
    with pytest.raises(ValueError, match="100 samples in x and 99 in y"):
        model.fit(x, y[:99], verbose=0)
    with pytest.raises(TypeError, match="integer class labels.*float"):
        model.fit(x, y.astype(np.float32), verbose=0)
    with pytest.raises(ValueError, match=r"label 7.*3 classes|7.*out of range"):
        model.fit(x, np.full(100, 7), verbose=0)


def test_fit_needs_compile() -> None:
    with pytest.raises(RuntimeError, match="compile"):
        _mlp().fit(*_blobs(10))


def test_unknown_names_list_the_known_ones() -> None:
    with pytest.raises(ValueError, match="Unknown loss 'crossentropy'.*cross_entropy"):
        _mlp().compile(loss="crossentropy")
    with pytest.raises(ValueError, match="Unknown optimizer 'adamm'.*adam"):
        _mlp().compile(optimizer="adamm")
    model = _mlp()
    model.compile(metrics=["precision"])
    with pytest.raises(ValueError, match="Unknown metric 'precision'"):
        model.fit(*_blobs(10), verbose=0)


def test_train_step_can_be_overridden() -> None:
    class Counting(nn.Sequential):
        steps = 0

        def train_step(self, batch):
            Counting.steps += 1
            return super().train_step(batch)

    x, y = _blobs(64)
    model = Counting(nn.Linear(2, 3))
    model.compile(optimizer="sgd", loss="cross_entropy")
    model.fit(x, y, epochs=2, batch_size=16, verbose=0)
    assert Counting.steps == 8


def test_summary_lists_layers_shapes_and_parameter_counts() -> None:
    model = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 3))
    text = model.summary(input_shape=(4,))
    assert "(None, 8)" in text and "(None, 3)" in text
    assert "40" in text and "27" in text and "Total params: 67" in text


def test_progress_bar_output_does_not_break_fit(capsys: pytest.CaptureFixture[str]) -> None:
    x, y = _blobs(64)
    model = _mlp()
    model.compile(optimizer="sgd", loss="cross_entropy", metrics=["accuracy"])
    model.fit(x, y, epochs=1, batch_size=16, verbose=1)
    out = capsys.readouterr().out
    assert "Epoch 1/1" in out and "loss" in out


def test_jit_fit_gives_the_same_history_and_weights_as_eager() -> None:
    x, y = _blobs(200)

    def train(jit: bool):
        sj.manual_seed(3)
        model = _mlp()
        model.compile(optimizer=sj.optim.Adam(model.parameters(), lr=0.01),
                      loss="cross_entropy", metrics=["accuracy"], jit=jit)
        history = model.fit(x, y, epochs=3, batch_size=64, verbose=0)
        return history.history, model.state_dict()

    (eager_history, eager_weights), (jit_history, jit_weights) = train(False), train(True)
    assert jit_history.keys() == eager_history.keys()
    for key, values in eager_history.items():
        assert jit_history[key] == pytest.approx(values, rel=1e-6)
    for key, value in eager_weights.items():
        np.testing.assert_allclose(jit_weights[key], value, rtol=1e-6, atol=1e-7)
