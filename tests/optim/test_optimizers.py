"""Each optimizer's trajectory against its published formula and against torch.optim;
bad hyperparameters; training a small classifier past a bar."""

from __future__ import annotations

import math

import numpy as np
import pytest

import shenjing as sj
from shenjing import optim
from tests.optim.problems import (
    CONFIG_PARAMS,
    assert_trajectories_close,
    least_squares_loss,
    make_params,
    run_reference,
    run_shenjing,
    run_torch,
    set_grads,
)

ALL_OPTIMIZERS = [
    "SGD", "Adagrad", "Adadelta", "RMSprop", "RMSpropNesterov", "Adam", "AdamW", "Adamax",
    "NAdam", "RAdam",
]
# float64 runs agree to rounding; float32 runs to float32 rounding, grown over 50 steps.
TOLERANCES = {"float64": {"rtol": 1e-9, "atol": 1e-12}, "float32": {"rtol": 2e-5, "atol": 2e-6}}


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize(("name", "kwargs"), CONFIG_PARAMS)
def test_matches_numpy_formula(name, kwargs, dtype):
    actual = run_shenjing(name, kwargs, dtype)
    assert actual[-1][0].dtype == np.dtype(dtype)
    assert_trajectories_close(actual, run_reference(name, kwargs, dtype), **TOLERANCES[dtype])


@pytest.mark.torch
@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize(("name", "kwargs"), CONFIG_PARAMS)
def test_matches_torch(name, kwargs, dtype):
    expected = run_torch(name, kwargs, dtype)
    assert_trajectories_close(run_shenjing(name, kwargs, dtype), expected, **TOLERANCES[dtype])


@pytest.mark.parametrize(("name", "kwargs"), CONFIG_PARAMS)
def test_trajectory_lowers_the_loss(name, kwargs):
    # Guards the comparisons above against agreeing on a trajectory that goes nowhere.
    start = [p.array for p in make_params()]
    end = run_shenjing(name, kwargs, "float64")[-1]
    assert least_squares_loss(*end) < least_squares_loss(*start)


# ---------------------------------------------------------------- hyperparameters
BAD_HYPERPARAMETERS = [
    ("SGD", {"lr": -1.0}, ValueError, "Invalid learning rate: -1.0"),
    ("SGD", {"lr": "0.1"}, TypeError, "Invalid learning rate: '0.1'"),
    ("SGD", {"lr": math.nan}, ValueError, "Invalid learning rate: nan"),
    ("SGD", {"momentum": -0.5}, ValueError, "Invalid momentum value: -0.5"),
    ("SGD", {"weight_decay": -1e-3}, ValueError, "Invalid weight_decay value: -0.001"),
    ("SGD", {"nesterov": True}, ValueError, "Nesterov momentum requires a momentum"),
    ("SGD", {"nesterov": True, "momentum": 0.9, "dampening": 0.1}, ValueError,
     "zero dampening"),
    ("SGD", {"maximize": 1}, TypeError, "Invalid maximize: 1"),
    ("Adagrad", {"lr_decay": -0.1}, ValueError, "Invalid lr_decay value: -0.1"),
    ("Adagrad", {"initial_accumulator_value": -1.0}, ValueError,
     "Invalid initial_accumulator_value value: -1.0"),
    ("Adagrad", {"eps": -1e-10}, ValueError, "Invalid epsilon value: -1e-10"),
    ("Adadelta", {"rho": 1.5}, ValueError, "Invalid rho value: 1.5"),
    ("Adadelta", {"lr": -0.1}, ValueError, "Invalid learning rate: -0.1"),
    ("RMSprop", {"alpha": -0.1}, ValueError, "Invalid alpha value: -0.1"),
    ("RMSprop", {"momentum": -0.9}, ValueError, "Invalid momentum value: -0.9"),
    ("RMSpropNesterov", {"momentum": -0.9}, ValueError, "Invalid momentum value: -0.9"),
    ("RMSpropNesterov", {"eps": -1.0}, ValueError, "Invalid epsilon value: -1.0"),
    ("Adam", {"betas": (1.0, 0.999)}, ValueError, "Invalid beta parameter at index 0: 1.0"),
    ("Adam", {"betas": (0.9, -0.1)}, ValueError, "Invalid beta parameter at index 1: -0.1"),
    ("Adam", {"betas": 0.9}, ValueError, "Invalid betas: 0.9"),
    ("Adam", {"eps": -1e-8}, ValueError, "Invalid epsilon value: -1e-08"),
    ("AdamW", {"weight_decay": -0.01}, ValueError, "Invalid weight_decay value: -0.01"),
    ("Adamax", {"betas": (0.9, 1.0)}, ValueError, "Invalid beta parameter at index 1: 1.0"),
    ("NAdam", {"momentum_decay": -1e-3}, ValueError, "Invalid momentum_decay value: -0.001"),
]


@pytest.mark.parametrize(
    ("name", "kwargs", "error", "message"),
    [pytest.param(*row, id=f"{row[0]}-{next(iter(row[1]))}") for row in BAD_HYPERPARAMETERS],
)
def test_rejects_bad_hyperparameters(name, kwargs, error, message):
    with pytest.raises(error, match=message.replace("(", r"\(").replace(".", r"\.")):
        getattr(optim, name)(make_params(), **kwargs)


@pytest.mark.parametrize("name", ALL_OPTIMIZERS)
def test_rejects_bad_hyperparameters_in_a_group(name):
    w, b = make_params()
    with pytest.raises(ValueError, match="Invalid learning rate: -1.0"):
        getattr(optim, name)([{"params": [w]}, {"params": [b], "lr": -1.0}])


# ---------------------------------------------------------------- a small classifier
def _blobs(n: int = 200) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    labels = rng.integers(0, 2, n)
    centres = np.where(labels[:, None] == 1, 2.0, -2.0)
    return (centres + rng.standard_normal((n, 2))).astype(np.float32), labels


def _logistic(w: np.ndarray, b: np.ndarray, x: np.ndarray, y: np.ndarray):
    """Mean binary cross-entropy of sigmoid(xw + b) and its gradients."""
    z = x @ w + b
    prob = 1 / (1 + np.exp(-z))
    loss = np.mean(np.logaddexp(0, z) - y * z)
    return loss, x.T @ (prob - y) / len(x), np.mean(prob - y), prob


CLASSIFIER_OPTIONS = {
    "SGD": {"lr": 0.5}, "Adagrad": {"lr": 0.3},
    "Adadelta": {"lr": 1.0, "eps": 1e-3},  # its first steps are ~√ε long: 1e-6 crawls
    "RMSprop": {"lr": 0.02}, "RMSpropNesterov": {"lr": 0.01}, "Adam": {"lr": 0.05},
    "AdamW": {"lr": 0.05}, "Adamax": {"lr": 0.05}, "NAdam": {"lr": 0.05},
    "RAdam": {"lr": 0.1},  # its first five steps are plain momentum (the warm-up)
}


@pytest.mark.parametrize("name", ALL_OPTIMIZERS)
def test_trains_logistic_regression(name):
    x, y = _blobs()
    w = sj.tensor(np.array([-1.0, 0.5]), requires_grad=True)  # starts misclassifying
    b = sj.tensor(np.array(0.5), requires_grad=True)          # a 0-d parameter
    opt = getattr(optim, name)([w, b], **CLASSIFIER_OPTIONS[name])
    initial_loss = _logistic(w.array, b.array, x, y)[0]
    for _ in range(100):
        opt.zero_grad()
        _, gw, gb, _ = _logistic(w.array, b.array, x, y)
        w.grad, b.grad = sj.tensor(gw), sj.tensor(gb)
        opt.step()
    loss, _, _, prob = _logistic(w.array, b.array, x, y)
    accuracy = np.mean((prob > 0.5) == y)
    assert w.dtype == np.float32 and b.shape == ()
    assert initial_loss > 1.0
    assert loss < 0.1, f"{name}: loss {loss:.3f} after 100 steps"
    assert accuracy >= 0.97, f"{name}: accuracy {accuracy:.3f}"


# ---------------------------------------------------------------- in place, float32
@pytest.mark.parametrize("name", ALL_OPTIMIZERS)
def test_updates_in_place_and_keeps_float32(name):
    params = make_params("float32")
    arrays = [p.array for p in params]
    opt = getattr(optim, name)(params, lr=0.01)
    set_grads(params)
    grads = [p.grad.array.copy() for p in params]
    opt.step()
    state_arrays = {
        (i, k): v for i, p in enumerate(params) for k, v in opt.state[p].items()
        if isinstance(v, np.ndarray)
    }
    set_grads(params)
    opt.step()
    assert all(p.array is a for p, a in zip(params, arrays, strict=True))
    assert all(p.array.dtype == np.float32 for p in params)
    for (i, k), v in state_arrays.items():
        assert opt.state[params[i]][k] is v, f"state {k!r} was replaced, not updated"
        assert v.dtype == np.float32, f"state {k!r} is {v.dtype}"
    # The gradient handed in is never modified (weight decay goes to a scratch array).
    params2 = make_params("float32")
    opt2 = getattr(optim, name)(params2, lr=0.01, weight_decay=0.1, maximize=True)
    set_grads(params2)
    np.testing.assert_array_equal(params2[0].grad.array, grads[0])
    opt2.step()
    np.testing.assert_array_equal(params2[0].grad.array, grads[0])


@pytest.mark.parametrize("name", ["Adam", "AdamW"])
def test_zero_learning_rate_keeps_parameters_and_advances_moments(name):
    """lr = 0 (where a cosine schedule ends) must not divide by the zero step size."""
    params = make_params("float32")
    before = [p.array.copy() for p in params]
    opt = getattr(optim, name)(params, lr=0.0, weight_decay=0.0)
    set_grads(params)
    opt.step()
    for p, b in zip(params, before, strict=True):
        np.testing.assert_array_equal(p.array, b)
        state = opt.state[p]
        assert state["step"] == 1
        np.testing.assert_allclose(state["exp_avg"], 0.1 * p.grad.array, rtol=1e-6)


@pytest.mark.parametrize(("name", "kwargs"), CONFIG_PARAMS)
def test_one_flat_update_of_a_group_equals_updating_each_parameter_alone(name, kwargs):
    """A group's small parameters are updated at once, laid out flat: bit for bit what
    separate updates give, with the same per-parameter state."""
    together = make_params("float32")
    apart = make_params("float32")
    opt = getattr(optim, name)(together, **kwargs)
    opts = [getattr(optim, name)([p], **kwargs) for p in apart]
    sign = -1 if kwargs.get("maximize") else 1
    for _ in range(5):
        set_grads(together, sign)
        set_grads(apart, sign)
        opt.step()
        for o in opts:
            o.step()
    assert opt.fused_layouts or opt.update_is_cheap(opt.param_groups[0])
    for p, q, o in zip(together, apart, opts, strict=True):
        np.testing.assert_array_equal(p.array, q.array)
        for key, value in opt.state[p].items():
            np.testing.assert_array_equal(value, o.state[q][key])


@pytest.mark.parametrize("name", ["Adam", "NAdam", "RMSprop", "Adagrad"])
def test_a_step_that_updates_some_parameters_alone_keeps_later_flat_updates_exact(name):
    """Step 3 also moves a parameter with no state yet, so that step updates each
    parameter on its own; the flat update afterwards must see the step counts it made."""
    together = [*make_params("float32"), sj.tensor(np.zeros(3), requires_grad=True)]
    apart = [*make_params("float32"), sj.tensor(np.zeros(3), requires_grad=True)]
    opt = getattr(optim, name)(together, lr=0.01)
    opts = [getattr(optim, name)([p], lr=0.01) for p in apart]
    for i in range(6):
        for params in (together, apart):
            set_grads(params[:2])
            params[2].grad = sj.tensor(np.ones(3)) if i == 2 else None
        opt.step()
        for o in opts:
            o.step()
    for p, q in zip(together, apart, strict=True):
        np.testing.assert_array_equal(p.array, q.array)
