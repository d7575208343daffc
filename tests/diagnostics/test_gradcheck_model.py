"""gradcheck_model and the GradCheck callback: pass on correct models of every kind, fail
naming the parameter whose backward is wrong, and leave the model and generator alone."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

import shenjing as sj
import shenjing.nn as nn
from shenjing.autograd import Function, GradcheckError
from shenjing.diagnostics import GradCheck, gradcheck_model
from shenjing.tensor import Tensor


class WrongWeightGrad(Function):
    """y = x·w (w broadcast over the batch); gx right, gw deliberately 1.5 times too big."""

    def forward(self, x: Any, w: Any) -> Any:
        self.x, self.w = x, w
        return x * w

    def backward(self, gy: Any) -> tuple[Any, Any]:
        return gy * self.w, 1.5 * (gy * self.x).sum(axis=0)


class BuggyScale(nn.Module):
    def __init__(self, features: int) -> None:
        super().__init__()
        self.weight = nn.Parameter(sj.rand(features) + 0.5)

    def forward(self, x: Tensor) -> Tensor:
        return WrongWeightGrad.apply(x, self.weight)


def _batch(shape: tuple[int, ...], classes: int = 3, seed: int = 0) -> tuple[np.ndarray, ...]:
    rng = np.random.default_rng(seed)
    return rng.normal(size=shape).astype(np.float32), rng.integers(0, classes, size=shape[0])


def test_mlp_passes_and_reports_every_parameter() -> None:
    sj.manual_seed(0)
    model = nn.Sequential(nn.Linear(4, 8), nn.Tanh(), nn.Linear(8, 3))
    x, y = _batch((5, 4))
    report = gradcheck_model(model, x, y, "cross_entropy")
    assert report.passed
    assert [row.name for row in report] == ["0.weight", "0.bias", "2.weight", "2.bias"]
    assert all(row.checked == np.prod(row.shape) for row in report)
    assert max(row.max_error for row in report) < 1e-6
    text = str(report)
    assert "0.weight" in text and "all 4 parameters pass" in text


def test_cnn_with_batchnorm_and_dropout_passes_with_frozen_masks() -> None:
    sj.manual_seed(0)
    model = nn.Sequential(
        nn.Conv2d(1, 3, 3, padding=1), nn.BatchNorm2d(3), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(), nn.Dropout(0.5), nn.Linear(48, 3),
    )
    x, y = _batch((4, 1, 8, 8))
    report = gradcheck_model(model, x, y, "cross_entropy", max_elements_per_param=20)
    assert report.passed, str(report)
    assert {row.name for row in report} >= {"0.weight", "1.weight", "1.bias", "6.weight"}


def test_batchnorm1d_dense_and_mse_loss_callable() -> None:
    sj.manual_seed(1)
    model = nn.Sequential(nn.Dense(6, activation="sigmoid"), nn.BatchNorm1d(6), nn.Dense(2))
    x = np.random.default_rng(1).normal(size=(7, 3))
    y = np.random.default_rng(2).normal(size=(7, 2))
    assert gradcheck_model(model, x, y, loss=lambda out, t: ((out - t) ** 2).sum()).passed


def test_recurrent_model_with_dropout_passes() -> None:
    class Reader(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.rnn = nn.LSTM(3, 5, batch_first=True)
            self.drop = nn.Dropout(0.3)
            self.head = nn.Linear(5, 2)

        def forward(self, x: Tensor) -> Tensor:
            output, _ = self.rnn(x)
            return self.head(self.drop(output[:, -1]))

    sj.manual_seed(0)
    x, y = _batch((3, 4, 3), classes=2)
    report = gradcheck_model(Reader(), x, y, "cross_entropy", max_elements_per_param=15)
    assert report.passed, str(report)
    assert "rnn.weight_hh_l0" in {row.name for row in report}


def test_wrong_backward_fails_naming_that_parameter_only() -> None:
    sj.manual_seed(0)
    model = nn.Sequential(nn.Linear(4, 6), nn.Tanh(), BuggyScale(6), nn.Linear(6, 3))
    x, y = _batch((5, 4))
    report = gradcheck_model(model, x, y, "cross_entropy")
    assert not report.passed
    assert [row.name for row in report.failed] == ["2.weight"]
    worst = report.failed[0]
    # The planted error: analytic = 1.5 * numeric, a relative error of about 1/3.
    assert worst.analytic == pytest.approx(1.5 * worst.numeric, rel=1e-6)
    floor = 1e-7 / 1e-4  # atol / rtol
    assert worst.max_error == pytest.approx(
        0.5 * abs(worst.numeric) / (1.5 * abs(worst.numeric) + floor), rel=1e-5)
    assert "FAIL" in str(report) and "2.weight" in str(report).splitlines()[-1]


def test_the_model_and_the_generator_are_left_alone() -> None:
    sj.manual_seed(3)
    model = nn.Sequential(nn.Linear(4, 8), nn.BatchNorm1d(8), nn.Dropout(0.5), nn.Linear(8, 3))
    model.eval()
    before = {k: v.copy() for k, v in model.state_dict().items()}
    rng_before = sj.get_rng_state()
    x, y = _batch((6, 4))
    gradcheck_model(model, x, y, "cross_entropy")
    assert sj.get_rng_state() == rng_before
    assert not model.training
    for key, value in model.state_dict().items():
        assert value.dtype == before[key].dtype
        np.testing.assert_array_equal(value, before[key])
    assert all(p.grad is None for p in model.parameters())


def test_max_elements_per_param_limits_the_work() -> None:
    model = nn.Linear(30, 20)
    x, y = _batch((4, 30), classes=20)
    sampled = gradcheck_model(model, x, y, "cross_entropy", max_elements_per_param=10)
    assert [row.checked for row in sampled] == [10, 10]
    full = gradcheck_model(model, x, y, "cross_entropy", max_elements_per_param=None)
    assert [row.checked for row in full] == [600, 20]


@pytest.mark.parametrize("kwargs", [{"eps": 0.0}, {"rtol": -1.0}, {"max_elements_per_param": 0}],
                         ids=["eps", "rtol", "max_elements"])
def test_bad_arguments_are_rejected(kwargs: dict[str, float]) -> None:
    x, y = _batch((2, 3))
    with pytest.raises(ValueError, match="gradcheck_model"):
        gradcheck_model(nn.Linear(3, 3), x, y, **kwargs)


def _compiled(model: nn.Module) -> nn.Module:
    model.compile(optimizer=sj.optim.SGD(model.parameters(), lr=0.1), loss="cross_entropy")
    return model


def test_callback_raises_with_the_table_once_weights_moved() -> None:
    sj.manual_seed(0)
    model = _compiled(nn.Sequential(nn.Linear(4, 6), nn.Tanh(), BuggyScale(6), nn.Linear(6, 3)))
    x, y = _batch((40, 4))
    with pytest.raises(GradcheckError, match="2.weight") as caught:
        model.fit(x, y, batch_size=8, epochs=1, verbose=0, callbacks=[GradCheck(every=3)])
    assert [row.name for row in caught.value.report.failed] == ["2.weight"]
    assert "train_step" not in model.__dict__  # the batch recorder is removed


def test_callback_can_stop_instead(capsys: pytest.CaptureFixture[str]) -> None:
    sj.manual_seed(0)
    model = _compiled(nn.Sequential(nn.Linear(4, 6), nn.Tanh(), BuggyScale(6), nn.Linear(6, 3)))
    x, y = _batch((40, 4))
    check = GradCheck(every=2, on_failure="stop", max_elements_per_param=5)
    history = model.fit(x, y, batch_size=8, epochs=3, verbose=0, callbacks=[check])
    assert len(history.history["loss"]) == 1  # stopped in the first epoch
    assert [count for count, _ in check.reports] == [2]
    assert "FAIL" in capsys.readouterr().out


def test_callback_does_not_change_training() -> None:
    x, y = _batch((48, 4))

    def train(callbacks: list[Any]) -> dict[str, np.ndarray]:
        sj.manual_seed(5)
        model = _compiled(nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Dropout(0.3),
                                        nn.Linear(8, 3)))
        model.fit(x, y, batch_size=8, epochs=2, verbose=0, callbacks=callbacks)
        return model.state_dict()

    check = GradCheck(every=4, x=x[:4], y=y[:4], max_elements_per_param=5)
    checked, plain = train([check]), train([])
    assert len(check.reports) == 3 and all(report.passed for _, report in check.reports)
    for key in plain:
        np.testing.assert_array_equal(checked[key], plain[key])
