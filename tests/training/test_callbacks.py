"""Callbacks: early stopping, checkpoints, CSV logs, LR schedules, NaN termination."""

from __future__ import annotations

import csv
import math

import numpy as np
import pytest

import shenjing as sj
import shenjing.nn as nn
from shenjing.training import (
    Callback,
    CSVLogger,
    EarlyStopping,
    LearningRateScheduler,
    ModelCheckpoint,
    TerminateOnNaN,
)


def _data(n: int = 200) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    x = rng.normal(size=(n, 3)).astype(np.float32)
    y = (x[:, 0] + x[:, 1] > 0).astype(np.int64)
    return x, y


def _model() -> nn.Sequential:
    sj.manual_seed(0)
    model = nn.Sequential(nn.Linear(3, 8), nn.ReLU(), nn.Linear(8, 2))
    model.compile(optimizer=sj.optim.SGD(model.parameters(), lr=0.1), loss="cross_entropy",
                  metrics=["accuracy"])
    return model


class Recorder(Callback):
    def __init__(self) -> None:
        self.events: list[str] = []

    def on_train_begin(self, logs=None):
        self.events.append("train_begin")

    def on_epoch_begin(self, epoch, logs=None):
        self.events.append(f"epoch_begin {epoch}")

    def on_train_batch_end(self, batch, logs=None):
        self.events.append("batch")

    def on_epoch_end(self, epoch, logs=None):
        self.events.append(f"epoch_end {epoch} {sorted(logs)}")

    def on_train_end(self, logs=None):
        self.events.append("train_end")


def test_events_come_in_keras_order_with_flat_logs() -> None:
    recorder = Recorder()
    x, y = _data(40)
    _model().fit(x, y, epochs=2, batch_size=20, validation_data=(x, y), callbacks=[recorder],
                 verbose=0)
    keys = "['accuracy', 'loss', 'val_accuracy', 'val_loss']"
    assert recorder.events == [
        "train_begin",
        "epoch_begin 0", "batch", "batch", f"epoch_end 0 {keys}",
        "epoch_begin 1", "batch", "batch", f"epoch_end 1 {keys}",
        "train_end",
    ]


def test_early_stopping_stops_and_restores_the_best_weights() -> None:
    class Worsening(Callback):
        """Reports a val_loss that is best at epoch 1 and worse afterwards."""

        def on_epoch_end(self, epoch, logs=None):
            logs["val_loss"] = [3.0, 1.0, 2.0, 2.5, 2.7, 2.9][epoch]
            if epoch == 1:
                self.best = {k: v.copy() for k, v in self.model.state_dict().items()}

    worsening = Worsening()
    stopper = EarlyStopping(monitor="val_loss", patience=2, restore_best_weights=True)
    model = _model()
    history = model.fit(*_data(), epochs=6, batch_size=50, callbacks=[worsening, stopper],
                        verbose=0)
    assert len(history.history["loss"]) == 4 and stopper.stopped_epoch == 3
    for key, value in model.state_dict().items():
        np.testing.assert_array_equal(value, worsening.best[key])


def test_early_stopping_names_a_missing_key() -> None:
    with pytest.raises(KeyError, match="'val_loss' is not in the logs"):
        _model().fit(*_data(), epochs=1, callbacks=[EarlyStopping()], verbose=0)


def test_model_checkpoint_saves_a_loadable_state_dict(tmp_path) -> None:
    model = _model()
    path = tmp_path / "ckpt-{epoch:02d}.safetensors"
    model.fit(*_data(), epochs=2, batch_size=50, callbacks=[ModelCheckpoint(path)], verbose=0)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ckpt-01.safetensors",
                                                           "ckpt-02.safetensors"]
    restored = _model()
    restored.load_state_dict(sj.load(tmp_path / "ckpt-02.safetensors"))
    for key, value in model.state_dict().items():
        np.testing.assert_array_equal(restored.state_dict()[key], value)


def test_csv_logger_writes_a_row_per_epoch(tmp_path) -> None:
    path = tmp_path / "log.csv"
    _model().fit(*_data(), epochs=3, batch_size=50, callbacks=[CSVLogger(path)], verbose=0)
    with open(path) as handle:
        rows = list(csv.DictReader(handle))
    assert [r["epoch"] for r in rows] == ["0", "1", "2"]
    assert float(rows[2]["loss"]) < float(rows[0]["loss"])


def test_learning_rate_scheduler_sets_the_rate_each_epoch() -> None:
    model = _model()
    scheduler = LearningRateScheduler(lambda epoch, lr: 0.1 * 0.5**epoch)
    history = model.fit(*_data(), epochs=3, batch_size=50, callbacks=[scheduler], verbose=0)
    assert history.history["lr"] == pytest.approx([0.1, 0.05, 0.025])


def test_learning_rate_scheduler_accepts_an_lr_scheduler() -> None:
    model = _model()
    step = sj.optim.lr_scheduler.StepLR(model.optimizer, step_size=1, gamma=0.1)
    history = model.fit(*_data(), epochs=3, batch_size=50,
                        callbacks=[LearningRateScheduler(step)], verbose=0)
    assert history.history["lr"] == pytest.approx([0.1, 0.01, 0.001])


def test_a_nan_loss_stops_training_with_a_message(caplog) -> None:
    calls = {"n": 0}

    def exploding(output, target):
        calls["n"] += 1
        loss = sj.nn.functional.cross_entropy(output, target)
        return loss * (math.nan if calls["n"] == 3 else 1.0)

    model = nn.Sequential(nn.Linear(3, 2))
    model.compile(optimizer="sgd", loss=exploding)
    history = model.fit(*_data(), epochs=5, batch_size=50, verbose=0)
    [record] = [r for r in caplog.records if r.name.startswith("shenjing")]
    assert record.levelname == "WARNING" and record.name.split(".")[0] == "shenjing"
    assert "loss became nan at epoch 1, batch 3" in record.getMessage()
    # The diverged epoch did not complete, so the history does not record it.
    assert calls["n"] == 3 and history.history == {}


class WeightsAtEpochEnd(Callback):
    def __init__(self) -> None:
        self.weights: list[dict[str, np.ndarray]] = []

    def on_epoch_end(self, epoch: int, logs: dict[str, float] | None = None) -> None:
        self.weights.append({k: v.copy() for k, v in self.model.state_dict().items()})


def test_divergence_leaves_the_last_finite_epoch_in_memory_and_on_disk(tmp_path) -> None:
    calls = {"n": 0}

    def exploding(output, target):  # NaN in the second batch of the second epoch
        calls["n"] += 1
        loss = sj.nn.functional.cross_entropy(output, target)
        return loss * (math.nan if calls["n"] == 6 else 1.0)

    model = _model()  # momentum: the optimizer has state that the NaN step wrecks too
    model.compile(optimizer=sj.optim.SGD(model.parameters(), lr=0.1, momentum=0.9),
                  loss=exploding)
    seen = WeightsAtEpochEnd()
    checkpoint = ModelCheckpoint(tmp_path / "ckpt-{epoch}.safetensors")
    history = model.fit(*_data(), epochs=4, batch_size=50, verbose=0,
                        callbacks=[TerminateOnNaN(), checkpoint, seen])
    assert len(history.history["loss"]) == 1 and len(seen.weights) == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ckpt-1.safetensors"]
    for key, value in model.state_dict().items():
        assert np.isfinite(value).all(), key
        np.testing.assert_array_equal(value, seen.weights[0][key], err_msg=key)
    # The optimizer is restored too, so training can go on from the good epoch.
    calls["n"] = -100
    history = model.fit(*_data(), epochs=1, batch_size=50, verbose=0)
    assert np.isfinite(history.history["loss"]).all()


def test_learning_rate_scheduler_works_before_a_named_optimizer_is_bound() -> None:
    sj.manual_seed(0)
    model = nn.Sequential(nn.Dense(2))
    model.compile(optimizer="sgd", loss="cross_entropy")
    scheduler = LearningRateScheduler(lambda epoch, lr: 0.2 / (epoch + 1))
    history = model.fit(*_data(), epochs=2, batch_size=50, callbacks=[scheduler], verbose=0)
    assert history.history["lr"] == pytest.approx([0.2, 0.1])
    assert model.optimizer.param_groups[0]["lr"] == pytest.approx(0.1)
