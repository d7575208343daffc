"""sj.compile: tracing per signature, replay with eager mode's numbers, effects."""

from __future__ import annotations

import numpy as np
import pytest

import shenjing as sj
import shenjing.nn.functional as F
from shenjing import kernels
from tests.graph.test_training import OPTIMIZERS, batches, make_model, train_eagerly


@pytest.fixture(autouse=True)
def _numpy_plan():
    """These tests hold a replay to eager mode bit for bit, so they run the NumPy plan:
    the kernel tier's fused chains sum in another order (tests/graph/test_fusion.py
    holds them to the NumPy plan, to float32 rounding)."""
    with kernels.use(False):
        yield


def compiled_training(make_optimizer):
    model = make_model()
    opt = make_optimizer(model.parameters())

    @sj.compile
    def train_step(x, y):
        loss = F.cross_entropy(model(x), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
        return loss

    return model, opt, train_step


@pytest.mark.parametrize("name", ["sgd", "sgd-nesterov", "adam", "rmsprop-centered", "nadam"])
def test_compiled_training_equals_eager_training(name):
    eager_weights, eager_losses = train_eagerly(OPTIMIZERS[name])
    model, opt, train_step = compiled_training(OPTIMIZERS[name])
    losses = [train_step(sj.tensor(x), sj.tensor(y)).item() for x, y in batches()]
    assert losses == eager_losses
    for p, expected in zip(model.parameters(), eager_weights, strict=True):
        np.testing.assert_array_equal(p.numpy(), expected)
    assert train_step.trace_count == 1


def test_optimizer_state_and_gradients_are_what_eager_training_leaves():
    eager_model = make_model()
    eager_opt = sj.optim.Adam(eager_model.parameters(), lr=0.01)
    model, opt, train_step = compiled_training(lambda p: sj.optim.Adam(p, lr=0.01))
    for x, y in batches()[:5]:
        loss = F.cross_entropy(eager_model(sj.tensor(x)), sj.tensor(y))
        eager_opt.zero_grad()
        loss.backward()
        eager_opt.step()
        train_step(sj.tensor(x), sj.tensor(y))
    for p, q in zip(model.parameters(), eager_model.parameters(), strict=True):
        np.testing.assert_array_equal(p.grad.numpy(), q.grad.numpy())
    saved, expected = opt.state_dict(), eager_opt.state_dict()
    assert saved["state"].keys() == expected["state"].keys()
    for key, state in expected["state"].items():
        assert saved["state"][key]["step"] == state["step"] == 5
        np.testing.assert_array_equal(saved["state"][key]["exp_avg"], state["exp_avg"])
        np.testing.assert_array_equal(saved["state"][key]["exp_avg_sq"], state["exp_avg_sq"])


def test_retraces_on_a_new_shape_and_not_on_the_same_one():
    model, _, train_step = compiled_training(OPTIMIZERS["sgd"])
    x, y = batches()[0]
    for _ in range(3):
        train_step(sj.tensor(x), sj.tensor(y))
    assert train_step.trace_count == 1
    train_step(sj.tensor(x[:5]), sj.tensor(y[:5]))  # a smaller last batch
    assert train_step.trace_count == 2
    train_step(sj.tensor(x), sj.tensor(y))
    train_step(sj.tensor(x[:5]), sj.tensor(y[:5]))
    assert train_step.trace_count == 2
    train_step(sj.tensor(x, dtype="float64"), sj.tensor(y))  # a new dtype
    assert train_step.trace_count == 3
    assert len(train_step.graphs) == 3


def test_python_arguments_select_a_trace():
    calls = []

    @sj.compile
    def scaled(x, factor):
        calls.append(factor)
        return x * factor

    x = sj.tensor([1.0, 2.0])
    np.testing.assert_array_equal(scaled(x, 2.0).numpy(), [2.0, 4.0])
    np.testing.assert_array_equal(scaled(x, 3.0).numpy(), [3.0, 6.0])
    np.testing.assert_array_equal(scaled(x, 2.0).numpy(), [2.0, 4.0])
    assert calls == [2.0, 3.0] and scaled.trace_count == 2
    with pytest.raises(TypeError, match="hashable"):
        scaled(x, [1.0])


def test_results_keep_their_structure_and_are_plain_tensors():
    model = make_model()

    @sj.compile
    def forward(x):
        out = model(x)
        return {"out": out, "pair": (out.sum(), 7)}

    x = sj.tensor(batches()[0][0])
    result = forward(x)
    expected = model(x)
    np.testing.assert_array_equal(result["out"].numpy(), expected.numpy())
    assert result["pair"][1] == 7
    assert result["pair"][0].item() == pytest.approx(expected.sum().item(), rel=1e-6)
    assert result["out"].grad_fn is None


def test_without_zero_grad_gradients_accumulate_as_in_eager_mode():
    eager = make_model()
    model = make_model()
    x, y = batches()[0]
    for p in (*eager.parameters(), *model.parameters()):  # a gradient from earlier steps
        p.grad = sj.ones(*p.shape)

    @sj.compile
    def accumulate(x, y):
        F.cross_entropy(model(x), y).backward()

    for _ in range(3):
        F.cross_entropy(eager(sj.tensor(x)), sj.tensor(y)).backward()
        accumulate(sj.tensor(x), sj.tensor(y))
    for p, q in zip(model.parameters(), eager.parameters(), strict=True):
        np.testing.assert_allclose(p.grad.numpy(), q.grad.numpy(), rtol=1e-6)


def test_a_replaced_parameter_array_is_picked_up():
    eager_weights, _ = train_eagerly(OPTIMIZERS["adam"])
    model, _, train_step = compiled_training(OPTIMIZERS["adam"])
    for i, (x, y) in enumerate(batches()):
        if i == 10:  # someone rebinds the arrays behind the compiled step's back
            for p in model.parameters():
                p.array = p.array.copy()
        train_step(sj.tensor(x), sj.tensor(y))
    for p, expected in zip(model.parameters(), eager_weights, strict=True):
        np.testing.assert_array_equal(p.numpy(), expected)


def test_a_parameter_outside_the_step_with_a_gradient_is_stepped_as_in_eager_mode():
    """The optimizer also holds a parameter the compiled step never reaches; given a
    gradient from elsewhere, the step must apply it, as eager step() does."""

    def run(compiled: bool) -> list[np.ndarray]:
        model = make_model()
        extra = sj.tensor(np.zeros(3, dtype=np.float32), requires_grad=True)
        opt = sj.optim.Adam([*model.parameters(), extra], lr=0.01)

        def step(x, y):
            F.cross_entropy(model(x), y).backward()
            opt.step()

        step = sj.compile(step) if compiled else step
        for i, (x, y) in enumerate(batches()[:4]):
            opt.zero_grad()
            if i == 2:
                extra.grad = sj.tensor(np.ones(3, dtype=np.float32))
            step(sj.tensor(x), sj.tensor(y))
        return [p.numpy().copy() for p in (*model.parameters(), extra)]

    eager, compiled = run(False), run(True)
    assert eager[-1].any(), "the extra parameter moved in eager mode"
    for got, expected in zip(compiled, eager, strict=True):
        np.testing.assert_array_equal(got, expected)


def test_reading_a_value_while_tracing_is_an_error():
    @sj.compile
    def bad(x):
        return float((x * 2).sum().item())

    with pytest.raises(RuntimeError, match="return it from the compiled function"):
        bad(sj.ones(3))


def test_step_with_a_closure_cannot_be_compiled():
    w = sj.tensor([1.0], requires_grad=True)
    opt = sj.optim.SGD([w], lr=0.1)

    @sj.compile
    def step(x):
        opt.step(lambda: (w * x).sum())

    with pytest.raises(RuntimeError, match="closure"):
        step(sj.ones(1))


def test_dropout_and_batch_norm_replay_as_in_eager_mode():
    """Dropout draws a fresh mask on every replay from the seeded generator, and the
    running statistics are updated on every replay, exactly as eager steps do."""

    def run(compiled: bool) -> tuple[list[np.ndarray], np.ndarray]:
        sj.manual_seed(0)
        model = sj.nn.Sequential(sj.nn.Linear(6, 16), sj.nn.BatchNorm1d(16), sj.nn.ReLU(),
                                 sj.nn.Dropout(0.3), sj.nn.Linear(16, 3))
        opt = sj.optim.Adam(model.parameters(), lr=0.01)

        def train_step(x, y):
            loss = F.cross_entropy(model(x), y)
            opt.zero_grad()
            loss.backward()
            opt.step()
            return loss

        step = sj.compile(train_step) if compiled else train_step
        sj.manual_seed(5)
        for x, y in batches()[:8]:
            step(sj.tensor(x), sj.tensor(y))
        return [p.numpy().copy() for p in model.parameters()], model[1].running_var.numpy()

    (eager_weights, eager_var), (weights, running_var) = run(False), run(True)
    for got, expected in zip(weights, eager_weights, strict=True):
        np.testing.assert_array_equal(got, expected)
    np.testing.assert_array_equal(running_var, eager_var)


@pytest.mark.parametrize("owner", ["optimizer", "module"])
def test_zero_grad_inside_the_step_is_replayed(owner: str) -> None:
    """A gradient given from outside to a parameter the step never reaches is cleared
    by the step's own zero_grad() on every replay, as in eager mode."""

    def run(compiled: bool) -> np.ndarray:
        model = make_model()
        extra = sj.nn.Parameter(np.zeros(3, dtype=np.float32))
        opt = sj.optim.SGD([*model.parameters(), extra], lr=0.1)
        holder = sj.nn.Module()
        holder.model = model
        holder.extra = extra
        clear = opt.zero_grad if owner == "optimizer" else holder.zero_grad

        def step(x, y):
            clear()
            F.cross_entropy(model(x), y).backward()
            opt.step()

        step = sj.compile(step) if compiled else step
        for i, (x, y) in enumerate(batches()[:4]):
            if i == 2:
                extra.grad = sj.tensor(np.ones(3, dtype=np.float32))
            step(sj.tensor(x), sj.tensor(y))
        return extra.numpy().copy()

    np.testing.assert_array_equal(run(True), run(False))
    np.testing.assert_array_equal(run(True), np.zeros(3))
