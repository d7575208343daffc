"""Graph mode gives eager mode's numbers: forward, gradients, and training runs."""

from __future__ import annotations

import numpy as np
import pytest

import shenjing as sj
import shenjing.nn as nn
import shenjing.nn.functional as F
from shenjing import kernels
from shenjing.graph import gradients

STEPS, BATCH, FEATURES, CLASSES = 20, 16, 6, 3

OPTIMIZERS = {
    "sgd": lambda p: sj.optim.SGD(p, lr=0.1),
    "sgd-nesterov": lambda p: sj.optim.SGD(p, lr=0.05, momentum=0.9, nesterov=True,
                                           weight_decay=1e-3),
    "adam": lambda p: sj.optim.Adam(p, lr=0.01),
    "adamw-amsgrad": lambda p: sj.optim.AdamW(p, lr=0.01, amsgrad=True),
    "rmsprop-centered": lambda p: sj.optim.RMSprop(p, lr=0.01, momentum=0.5, centered=True),
    "adagrad": lambda p: sj.optim.Adagrad(p, lr=0.1),
    "adadelta": lambda p: sj.optim.Adadelta(p),
    "adamax": lambda p: sj.optim.Adamax(p, lr=0.01),
    "nadam": lambda p: sj.optim.NAdam(p, lr=0.01),
}


def make_model() -> nn.Module:
    sj.manual_seed(0)
    return nn.Sequential(nn.Linear(FEATURES, 16), nn.ReLU(), nn.Linear(16, 8), nn.ReLU(),
                         nn.Linear(8, CLASSES))


def batches() -> list[tuple[np.ndarray, np.ndarray]]:
    rng = np.random.default_rng(1)
    return [(rng.standard_normal((BATCH, FEATURES)).astype(np.float32),
             rng.integers(0, CLASSES, BATCH)) for _ in range(STEPS)]


def train_eagerly(make_optimizer) -> tuple[list[np.ndarray], list[float]]:
    model = make_model()
    opt = make_optimizer(model.parameters())
    losses = []
    for x, y in batches():
        loss = F.cross_entropy(model(sj.tensor(x)), sj.tensor(y))
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    return [p.numpy().copy() for p in model.parameters()], losses


def test_forward_and_gradients_equal_eager_mode():
    model = make_model()
    x_value, y_value = batches()[0]
    out = model(sj.tensor(x_value))
    loss = F.cross_entropy(out, sj.tensor(y_value))
    loss.backward()
    eager_grads = [p.grad.numpy() for p in model.parameters()]

    g = sj.Graph()
    with g.as_default():
        x = sj.placeholder((None, FEATURES), name="x")
        y = sj.placeholder((None,), dtype="int64", name="y")
        graph_out = model(x)
        graph_loss = F.cross_entropy(graph_out, y)
        grads = gradients(graph_loss, list(model.parameters()))
    with sj.Session(g) as sess:
        got_out, got_loss, got_grads = sess.run([graph_out, graph_loss, grads],
                                                {x: x_value, y: y_value})
    np.testing.assert_array_equal(got_out, out.numpy())
    assert got_loss == loss.item()
    for got, expected in zip(got_grads, eager_grads, strict=True):
        np.testing.assert_array_equal(got, expected)


@pytest.mark.parametrize("name", list(OPTIMIZERS))
def test_training_with_minimize_equals_eager_training(name):
    make_optimizer = OPTIMIZERS[name]
    eager_weights, eager_losses = train_eagerly(make_optimizer)

    model = make_model()
    opt = make_optimizer(model.parameters())
    g = sj.Graph()
    with g.as_default():
        x = sj.placeholder((None, FEATURES))
        y = sj.placeholder((None,), dtype="int64")
        loss = F.cross_entropy(model(x), y)
        train = opt.minimize(loss)
    losses = []
    with sj.Session(g) as sess:
        for x_value, y_value in batches():
            loss_value, _ = sess.run([loss, train], {x: x_value, y: y_value})
            losses.append(float(loss_value))
        weights = sess.run(list(model.parameters()))
    assert losses == eager_losses
    for got, expected in zip(weights, eager_weights, strict=True):
        np.testing.assert_array_equal(got, expected)
    assert opt.state == {}  # the session kept the optimizer state, not the optimizer


class _ScaledSGD(sj.optim.SGD):
    """An optimizer the fused path does not know: updated per parameter."""

    def update_param(self, param, grad, state, group):
        super().update_param(param, grad * 0.5, state, group)


def test_an_unknown_optimizer_is_applied_per_parameter_with_the_same_numbers():
    eager_weights, _ = train_eagerly(lambda p: _ScaledSGD(p, lr=0.2, momentum=0.9))
    model = make_model()
    opt = _ScaledSGD(model.parameters(), lr=0.2, momentum=0.9)
    g = sj.Graph()
    with g.as_default():
        x = sj.placeholder((None, FEATURES))
        y = sj.placeholder((None,), dtype="int64")
        train = opt.minimize(F.cross_entropy(model(x), y))
    with sj.Session(g) as sess:
        for x_value, y_value in batches():
            sess.run(train, {x: x_value, y: y_value})
        weights = sess.run(list(model.parameters()))
    for got, expected in zip(weights, eager_weights, strict=True):
        np.testing.assert_array_equal(got, expected)


def test_a_learning_rate_change_reaches_the_graph_step():
    g = sj.Graph()
    with g.as_default():
        w = sj.Variable([4.0])
        opt = sj.optim.SGD([w], lr=0.25)
        train = opt.minimize((w * w).sum())  # gradient 2w
    with sj.Session(g) as sess:
        sess.run(train)
        np.testing.assert_array_equal(sess.run(w), [4.0 - 0.25 * 8.0])
        opt.param_groups[0]["lr"] = 0.125  # what a learning-rate scheduler does
        sess.run(train)
        np.testing.assert_array_equal(sess.run(w), [2.0 - 0.125 * 4.0])


def test_large_and_small_parameters_together_train_as_in_eager_mode():
    with kernels.use(False):  # bit for bit: the NumPy plan (see test_compile._numpy_plan)
        _large_and_small_parameters_together_train_as_in_eager_mode()


def _large_and_small_parameters_together_train_as_in_eager_mode() -> None:
    """A weight above FUSE_BELOW elements is stepped on its own, the rest flat."""
    from shenjing.optim.fused import FUSE_BELOW

    def model_and_data():
        sj.manual_seed(3)
        model = nn.Sequential(nn.Linear(200, 100), nn.Tanh(), nn.Linear(100, 2))
        assert model[0].weight.numel() >= FUSE_BELOW > model[2].weight.numel()
        rng = np.random.default_rng(2)
        data = [(rng.standard_normal((8, 200)).astype(np.float32), rng.integers(0, 2, 8))
                for _ in range(5)]
        return model, sj.optim.Adam(model.parameters(), lr=0.01), data

    model, opt, data = model_and_data()
    for x, y in data:
        loss = F.cross_entropy(model(sj.tensor(x)), sj.tensor(y))
        opt.zero_grad()
        loss.backward()
        opt.step()
    expected = [p.numpy().copy() for p in model.parameters()]

    model, opt, data = model_and_data()
    g = sj.Graph()
    with g.as_default():
        x_in = sj.placeholder((None, 200))
        y_in = sj.placeholder((None,), dtype="int64")
        train = opt.minimize(F.cross_entropy(model(x_in), y_in))
    with sj.Session(g) as sess:
        for x, y in data:
            sess.run(train, {x_in: x, y_in: y})
        in_session = sess.run(list(model.parameters()))

    model, opt, data = model_and_data()

    @sj.compile
    def step(x, y):
        loss = F.cross_entropy(model(x), y)
        opt.zero_grad()
        loss.backward()
        opt.step()

    for x, y in data:
        step(sj.tensor(x), sj.tensor(y))
    for want, got_session, p in zip(expected, in_session, model.parameters(), strict=True):
        np.testing.assert_array_equal(got_session, want)
        np.testing.assert_array_equal(p.numpy(), want)
