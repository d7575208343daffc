"""The tutorial's ``NeuralNetwork``: its worked example, the output-layer inference rules,
dropout's keep probability, the bias flag, pandas-like input, the losses against NumPy,
numerical stability, and the errors."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

import shenjing as sj
import shenjing.nn as nn
from shenjing.compat import BGD, Adam, NeuralNetwork, calc_accuracy
from shenjing.compat.network import hidden_init


def _tutorial_example(seed: int = 0) -> tuple[NeuralNetwork, np.ndarray, np.ndarray]:
    """The tutorial's breast-cancer example, as published but for the import line."""
    pytest.importorskip("sklearn")
    from sklearn.datasets import load_breast_cancer
    from sklearn.model_selection import train_test_split
    from sklearn.preprocessing import MinMaxScaler

    sj.manual_seed(seed)
    cancer = load_breast_cancer()
    X = MinMaxScaler().fit_transform(cancer.data)
    X_train, X_test, y_train, y_test = train_test_split(
        X, cancer.target, test_size=0.3, random_state=101)
    nn_model = NeuralNetwork(30, False)
    nn_model.add_dense_layer(64, "sigmoid")
    nn_model.add_dense_layer(32, "relu")
    nn_model.add_dropout_layer(0.8)
    nn_model.add_output_layer()
    optimizer = Adam(alpha=0.05, beta_1=0.9, beta_2=0.99)
    nn_model.fit(X_train, y_train, epoch=100, batch_size=64, optimizer=optimizer,
                 verbose=False)
    return nn_model, X_test, y_test


def test_tutorial_worked_example_reaches_95_percent() -> None:
    net, X_test, y_test = _tutorial_example()
    y_pred = net.predict(X_test)
    proba = net.predict_proba(X_test)
    assert y_pred.shape == (len(X_test),) and proba.shape == (len(X_test), 1)
    assert ((proba >= 0) & (proba <= 1)).all()
    np.testing.assert_array_equal(y_pred, (proba[:, 0] > 0.5).astype(np.int64))
    assert net.calc_accuracy(y_test, y_pred) >= 0.95
    assert net.task == "binary" and net.output_activation == "sigmoid"


@pytest.mark.parametrize("seed", [5, 33])
def test_tutorial_worked_example_does_not_collapse_to_one_class(seed: int) -> None:
    """Seeds on which the example collapsed (every ReLU unit switched off, one class
    predicted, accuracy 0.386) with Glorot-initialised hidden layers: see hidden_init and
    docs/tutorial-errata.md, section 7."""
    net, X_test, y_test = _tutorial_example(seed)
    y_pred = net.predict(X_test)
    assert len(np.unique(y_pred)) == 2
    assert net.calc_accuracy(y_test, y_pred) >= 0.9


def test_hidden_init_draws_four_times_lecuns_scale() -> None:
    sj.manual_seed(0)
    weight = hidden_init(sj.empty(400, 64))
    assert abs(weight.numpy().mean()) < 0.01
    np.testing.assert_allclose(weight.numpy().std(), 4 / np.sqrt(64), rtol=0.02)


def test_tutorial_worked_example_is_reproducible() -> None:
    first, X_test, _ = _tutorial_example(seed=1)
    second, _, _ = _tutorial_example(seed=1)
    np.testing.assert_array_equal(first.predict_proba(X_test), second.predict_proba(X_test))


# ------------------------------------------------------------- output inference

_rng = np.random.default_rng(0)
X4 = _rng.normal(size=(40, 4)).astype(np.float32)

INFERENCE = [
    ("int-0-1", np.arange(40) % 2, "binary", 1, "sigmoid", [0, 1]),
    ("int-3-7", np.where(np.arange(40) % 2 == 0, 3, 7), "binary", 1, "sigmoid", [3, 7]),
    ("float-0-1", (np.arange(40) % 2).astype(np.float64), "binary", 1, "sigmoid", [0, 1]),
    ("bool", np.arange(40) % 2 == 1, "binary", 1, "sigmoid", [False, True]),
    ("int-0-3", np.arange(40) % 4, "multiclass", 4, "softmax", [0, 1, 2, 3]),
    ("int-2-5-9", np.array([2, 5, 9, 5] * 10), "multiclass", 3, "softmax", [2, 5, 9]),
    ("one-hot", np.eye(3)[np.arange(40) % 3], "multiclass", 3, "softmax", [0, 1, 2]),
    ("real", np.linspace(-1, 1, 40), "regression", 1, "linear", None),
    ("real-integers", np.arange(40.0), "regression", 1, "linear", None),
    ("real-2-columns", _rng.normal(size=(40, 2)), "regression", 2, "linear", None),
    ("multilabel", np.array([[1, 1], [0, 1], [0, 0], [1, 0]] * 10), "multilabel", 2,
     "sigmoid", None),
]


@pytest.mark.parametrize(("y", "task", "units", "activation", "classes"),
                         [pytest.param(*case[1:], id=case[0]) for case in INFERENCE])
def test_bare_output_layer_is_inferred_from_y(y, task, units, activation, classes) -> None:
    net = NeuralNetwork(4)
    net.add_dense_layer(8, "tanh")
    net.add_output_layer()
    net.fit(X4, y, epoch=1, verbose=False)
    assert (net.task, net.output_activation) == (task, activation)
    assert net.model[-1].units == units
    if classes is None:
        assert net.classes_ is None
    else:
        assert net.classes_.tolist() == classes
        assert set(net.predict(X4).tolist()) <= set(classes)


def test_classifier_learns_and_answers_in_its_own_labels() -> None:
    """Three separable blobs labelled 2, 5, 9: the softmax network learns them and
    predicts those labels; predict_proba rows are distributions over classes_."""
    rng = np.random.default_rng(1)
    labels = np.array([2, 5, 9])
    centers = np.array([[0.0, 0.0], [4.0, 0.0], [0.0, 4.0]])
    which = rng.integers(0, 3, 300)
    X = (centers[which] + rng.normal(0, 0.5, (300, 2))).astype(np.float32)
    sj.manual_seed(0)
    net = NeuralNetwork(2)
    net.add_dense_layer(16, "relu")
    net.add_output_layer()
    net.fit(X, labels[which], epoch=30, batch_size=32, optimizer=Adam(alpha=0.02),
            verbose=False)
    proba = net.predict_proba(X)
    assert proba.shape == (300, 3)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=1e-5)
    assert calc_accuracy(labels[which], net.predict(X)) > 0.97


def test_regression_learns_a_line() -> None:
    x = np.linspace(-1, 1, 64, dtype=np.float32).reshape(-1, 1)
    sj.manual_seed(0)
    net = NeuralNetwork(1)
    net.add_output_layer()
    net.fit(x, 2 * x[:, 0] + 1, epoch=200, batch_size=16, optimizer=Adam(alpha=0.05),
            verbose=False)
    prediction = net.predict(x)
    assert prediction.shape == (64,)
    np.testing.assert_allclose(prediction, 2 * x[:, 0] + 1, atol=1e-2)


def test_explicit_output_layers() -> None:
    y = np.arange(40) % 3
    net = NeuralNetwork(4)
    net.add_output_layer(5, "softmax")  # more units than labels seen: classes 0..4
    net.fit(X4, y, epoch=1, verbose=False)
    assert net.task == "multiclass" and net.classes_.tolist() == [0, 1, 2, 3, 4]
    assert net.predict_proba(X4).shape == (40, 5)

    net = NeuralNetwork(4)
    net.add_output_layer(1, "tanh")  # any other activation: regression
    net.fit(X4, np.linspace(-0.5, 0.5, 40), epoch=1, verbose=False)
    assert net.task == "regression" and np.abs(net.predict(X4)).max() <= 1

    net = NeuralNetwork(4)
    net.add_output_layer(2)
    with pytest.raises(ValueError, match="2 units but y needs 1"):
        net.fit(X4, np.arange(40) % 2, epoch=1, verbose=False)
    with pytest.raises(ValueError, match="sigmoid"):
        NeuralNetwork(4).add_output_layer(1, "softmax")


def test_sigmoid_output_needs_0_1_labels() -> None:
    net = NeuralNetwork(4)
    net.add_output_layer(1, "sigmoid")
    with pytest.raises(ValueError, match="label 2 is not one of"):
        net.fit(X4, np.arange(40) % 3, epoch=1, verbose=False)


# --------------------------------------------------------------- layers and input


def test_dropout_rate_is_the_keep_probability() -> None:
    net = NeuralNetwork(4)
    net.add_dropout_layer(0.8)
    layer = net.model[-1]
    assert isinstance(layer, nn.Dropout) and layer.p == pytest.approx(0.2)
    sj.manual_seed(0)
    kept = (layer(sj.ones(200, 500)).numpy() != 0).mean()
    assert kept == pytest.approx(0.8, abs=0.01)
    for rate in (0, 1.5, -0.1):
        with pytest.raises(ValueError, match="probability of keeping"):
            net.add_dropout_layer(rate)


@pytest.mark.parametrize("bias", [True, False])
def test_bias_flag_controls_every_dense_layer(bias: bool) -> None:
    net = NeuralNetwork(4, bias)
    net.add_dense_layer(6, "relu")
    net.add_output_layer()
    net.fit(X4, np.arange(40) % 2, epoch=1, verbose=False)
    names = [name for name, _ in net.model.named_parameters()]
    assert names == (["0.weight", "0.bias", "1.weight", "1.bias"] if bias
                     else ["0.weight", "1.weight"])


class _Frame:
    """Stands in for a pandas DataFrame: data behind ``to_numpy()``."""

    def __init__(self, data: np.ndarray) -> None:
        self._data = data

    def to_numpy(self) -> np.ndarray:
        return self._data


class _Series:
    """Stands in for an older pandas Series: data behind ``.values``."""

    def __init__(self, data: np.ndarray) -> None:
        self.values = data


def test_pandas_like_input_trains_as_arrays_do() -> None:
    y = np.arange(40) % 2
    results = []
    for features, labels in ((X4.astype(np.float64), y), (_Frame(X4), _Series(y))):
        sj.manual_seed(0)
        net = NeuralNetwork(4)
        net.add_dense_layer(5, "elu")
        net.add_output_layer()
        net.fit(features, labels, epoch=3, batch_size=8, verbose=False)
        results.append(net.predict_proba(features))
    np.testing.assert_allclose(results[0], results[1], rtol=1e-6)


# ------------------------------------------------------------------------ losses


def _loss_before_any_update(y: Any, loss: str) -> tuple[float, np.ndarray]:
    """The first epoch's loss under BGD with α = 0 (the weights never change), and the
    network's outputs."""
    sj.manual_seed(2)
    net = NeuralNetwork(4)
    net.add_dense_layer(5, "leaky_relu")
    net.add_output_layer()
    history = net.fit(X4, y, epoch=1, optimizer=BGD(alpha=0.0), loss=loss, verbose=False)
    outputs = net.predict_proba(X4) if net.task != "regression" else net.predict(X4)
    return history.history["loss"][0], outputs


def test_losses_match_numpy() -> None:
    binary = np.arange(40) % 2
    value, p = _loss_before_any_update(binary, "cross_entropy_loss")
    p = p[:, 0].astype(np.float64)
    assert value == pytest.approx(-np.mean(binary * np.log(p) + (1 - binary) * np.log(1 - p)),
                                  rel=1e-5)
    value, p = _loss_before_any_update(binary, "mse")
    assert value == pytest.approx(np.mean((p[:, 0] - binary) ** 2), rel=1e-5)
    value, p = _loss_before_any_update(binary, "mae")
    assert value == pytest.approx(np.mean(np.abs(p[:, 0] - binary)), rel=1e-5)

    classes = np.arange(40) % 3
    value, p = _loss_before_any_update(classes, "cross_entropy_loss")
    assert value == pytest.approx(-np.mean(np.log(p[np.arange(40), classes])), rel=1e-5)
    value, p = _loss_before_any_update(classes, "mse")  # against one-hot rows
    assert value == pytest.approx(np.mean((p - np.eye(3)[classes]) ** 2), rel=1e-5)

    real = np.linspace(-2, 2, 40)
    value, out = _loss_before_any_update(real, "mae")
    assert value == pytest.approx(np.mean(np.abs(out - real)), rel=1e-5)


def test_softmax_cross_entropy_survives_huge_scores() -> None:
    """Scores in the thousands overflow exp() in a naive softmax; the fused loss and
    the stable softmax keep everything finite."""
    y = np.arange(40) % 3
    sj.manual_seed(0)
    net = NeuralNetwork(4)
    net.add_output_layer()
    history = net.fit(X4 * 1e4, y, epoch=5, batch_size=8, optimizer=Adam(alpha=0.1),
                      verbose=False)
    assert np.isfinite(history.history["loss"]).all()
    proba = net.predict_proba(X4 * 1e4)
    assert np.isfinite(proba).all()
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=1e-5)


def test_progress_bar_is_shown(capsys: pytest.CaptureFixture[str]) -> None:
    net = NeuralNetwork(4)
    net.add_output_layer()
    net.fit(X4, np.arange(40) % 2, epoch=3, verbose=True)
    err = capsys.readouterr().err
    assert "3/3" in err


# ------------------------------------------------------------------------ errors


def test_errors_name_the_method_and_the_values() -> None:
    net = NeuralNetwork(4)
    with pytest.raises(ValueError, match="unknown activation 'swish'"):
        net.add_dense_layer(3, "swish")
    with pytest.raises(RuntimeError, match="add_output_layer"):
        net.fit(X4, np.zeros(40), verbose=False)
    with pytest.raises(RuntimeError, match="fit"):
        net.predict(X4)
    net.add_output_layer()
    with pytest.raises(RuntimeError, match="before add_output_layer"):
        net.add_dense_layer(3, "relu")
    with pytest.raises(ValueError, match=r"shape \(n, 4\).*shape=\(40, 3\)"):
        net.fit(X4[:, :3], np.zeros(40), verbose=False)
    with pytest.raises(ValueError, match="different lengths"):
        net.fit(X4, np.zeros(39), verbose=False)
    with pytest.raises(ValueError, match="unknown loss 'hinge'"):
        net.fit(X4, np.arange(40) % 2, loss="hinge", verbose=False)
    with pytest.raises(ValueError, match="feature_num"):
        NeuralNetwork(0)


def test_regression_refuses_cross_entropy_and_predict_proba() -> None:
    net = NeuralNetwork(4)
    net.add_output_layer()
    with pytest.raises(ValueError, match="cross-entropy needs a sigmoid or softmax"):
        net.fit(X4, np.linspace(0, 1, 40) + 0.5, loss="cross_entropy_loss", verbose=False)
    net.fit(X4, np.linspace(0, 1, 40) + 0.5, epoch=1, verbose=False)
    with pytest.raises(ValueError, match="regression"):
        net.predict_proba(X4)


def test_an_optimizer_serves_one_network() -> None:
    optimizer = Adam()
    first, second = NeuralNetwork(4), NeuralNetwork(4)
    for net in (first, second):
        net.add_output_layer()
    first.fit(X4, np.arange(40) % 2, epoch=1, optimizer=optimizer, verbose=False)
    first.fit(X4, np.arange(40) % 2, epoch=1, optimizer=optimizer, verbose=False)  # fine
    with pytest.raises(ValueError, match="already bound"):
        second.fit(X4, np.arange(40) % 2, epoch=1, optimizer=optimizer, verbose=False)


def test_calc_accuracy() -> None:
    assert calc_accuracy([1, 0, 1, 1], np.array([[1], [0], [0], [1]])) == 0.75
    assert calc_accuracy(np.eye(3)[[0, 2, 1]], [0, 2, 2]) == pytest.approx(2 / 3)
    with pytest.raises(ValueError, match="different sizes"):
        calc_accuracy([1, 0], [1])


def test_the_network_is_the_shenjing_model_it_describes() -> None:
    """The tutorial API adds nothing of its own to the math: the same seed gives the same
    losses and weights as the equivalent nn.Sequential trained by compile/fit."""
    y = (X4[:, 0] + X4[:, 1] > 0).astype(np.int64)
    sj.manual_seed(4)
    net = NeuralNetwork(4, False)
    net.add_dense_layer(6, "tanh")
    net.add_dropout_layer(0.75)
    net.add_output_layer()
    ours = net.fit(X4, y, epoch=4, batch_size=16, optimizer=Adam(alpha=0.01), verbose=False)

    sj.manual_seed(4)
    model = nn.Sequential(nn.Dense(6, "tanh", use_bias=False, in_features=4,
                                   kernel_initializer=hidden_init),
                          nn.Dropout(0.25), nn.Dense(1, use_bias=False, in_features=6))
    model.compile(optimizer=sj.optim.Adam(lr=0.01), loss="binary_cross_entropy_with_logits")
    theirs = model.fit(X4, y, epochs=4, batch_size=16, verbose=0)
    np.testing.assert_allclose(ours.history["loss"], theirs.history["loss"], rtol=1e-6)
    for key, value in model.state_dict().items():
        np.testing.assert_allclose(net.model.state_dict()[key], value, rtol=1e-6, err_msg=key)
