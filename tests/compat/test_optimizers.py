"""The tutorial's optimizers: each matches the shenjing optimizer it names, step for step,
uses every argument it is given, and moves the weights (by closed forms where they exist);
BGD and MBGD batch the data as their names say."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

import shenjing as sj
import shenjing.nn as nn
import shenjing.nn.functional as F
from shenjing import compat, optim

# (tutorial optimizer, its arguments, shenjing optimizer, the same arguments in its terms)
CASES = [
    ("SGD", {"alpha": 0.05}, "SGD", {"lr": 0.05}),
    ("SGD", {"alpha": 0.05, "beta": 0.8}, "SGD", {"lr": 0.05, "momentum": 0.8}),
    ("BGD", {"alpha": 0.07}, "SGD", {"lr": 0.07}),
    ("MBGD", {"alpha": 0.03}, "SGD", {"lr": 0.03}),
    ("AdaGrad", {"alpha": 0.1, "epsilon": 1e-4}, "Adagrad", {"lr": 0.1, "eps": 1e-4}),
    ("AdaDelta", {"alpha": 0.5, "beta": 0.8, "epsilon": 1e-3}, "Adadelta",
     {"lr": 0.5, "rho": 0.8, "eps": 1e-3}),
    ("RMSProp", {"alpha": 0.02, "beta": 0.8, "epsilon": 1e-4}, "RMSprop",
     {"lr": 0.02, "alpha": 0.8, "eps": 1e-4}),
    ("Adam", {"alpha": 0.05, "beta_1": 0.8, "beta_2": 0.95, "epsilon": 1e-4}, "Adam",
     {"lr": 0.05, "betas": (0.8, 0.95), "eps": 1e-4}),
    ("Adamax", {"alpha": 0.05, "beta_1": 0.7, "beta_2": 0.9, "epsilon": 1e-4}, "Adamax",
     {"lr": 0.05, "betas": (0.7, 0.9), "eps": 1e-4}),
]
IDS = [f"{name}-{'-'.join(kwargs)}" for name, kwargs, _, _ in CASES]

_rng = np.random.default_rng(7)
X = _rng.normal(size=(16, 3)).astype(np.float32)
Y = _rng.normal(size=(16, 2)).astype(np.float32)


def _model() -> nn.Module:
    sj.manual_seed(3)
    return nn.Sequential(nn.Linear(3, 5), nn.Tanh(), nn.Linear(5, 2))


def _train(model: nn.Module, opt: Any, steps: int = 25) -> dict[str, np.ndarray]:
    for _ in range(steps):
        loss = F.mse_loss(model(sj.tensor(X)), sj.tensor(Y))
        opt.zero_grad()
        loss.backward()
        opt.step()
    return {k: v.copy() for k, v in model.state_dict().items()}


@pytest.mark.parametrize(("name", "kwargs", "theirs", "their_kwargs"), CASES, ids=IDS)
def test_matches_the_shenjing_optimizer_step_for_step(name, kwargs, theirs, their_kwargs):
    ours_model, their_model = _model(), _model()
    initial = {k: v.copy() for k, v in ours_model.state_dict().items()}
    ours_opt = getattr(compat, name)(**kwargs)
    ours_opt.add_param_group({"params": list(ours_model.parameters())})
    ours = _train(ours_model, ours_opt)
    theirs_state = _train(their_model, getattr(optim, theirs)(their_model.parameters(),
                                                               **their_kwargs))
    for key, value in theirs_state.items():
        np.testing.assert_array_equal(ours[key], value, err_msg=key)
        assert not np.allclose(value, initial[key]), f"{key} never moved"


@pytest.mark.parametrize(("name", "kwargs", "theirs", "their_kwargs"), CASES, ids=IDS)
def test_every_argument_is_used(name, kwargs, theirs, their_kwargs):
    """Changing any one argument changes the trajectory (the tutorial's Adamax did not)."""
    baseline_model = _model()
    baseline = _train(baseline_model, getattr(compat, name)(params=baseline_model.parameters(),
                                                            **kwargs))
    for arg, value in kwargs.items():
        changed = dict(kwargs, **{arg: value * 0.5})
        model = _model()
        state = _train(model, getattr(compat, name)(params=model.parameters(), **changed))
        assert any(not np.array_equal(state[k], baseline[k]) for k in state), arg


def test_adam_takes_steps_of_alpha_from_the_start():
    """m̂ = g and v̂ = g² after one step, so θ moves by α·g/(|g| + ε) ≈ α·sign(g). With β₂
    on the first moment (the tutorial's slip) the step would be (1 − β₂)/(1 − β₁) times
    smaller."""
    w = sj.tensor([1.0, -2.0, 3.0], dtype="float64", requires_grad=True)
    opt = compat.Adam(alpha=0.05, beta_1=0.9, beta_2=0.99, params=[w])
    g = np.array([0.3, -4.0, 1e-3])
    w.grad = sj.tensor(g, dtype="float64")
    opt.step()
    expected = np.array([1.0, -2.0, 3.0]) - 0.05 * g / (np.abs(g) + 1e-8)
    np.testing.assert_allclose(w.numpy(), expected, rtol=1e-12)


def test_adamax_first_step_closed_form():
    """m = (1 − β₁)g, u = |g| + ε, so θ moves by α/(1 − β₁)·m/u = α·g/(|g| + ε)."""
    w = sj.tensor([0.5, 0.5], dtype="float64", requires_grad=True)
    opt = compat.Adamax(alpha=0.2, beta_1=0.5, beta_2=0.9, epsilon=0.1, params=[w])
    g = np.array([0.4, -0.1])
    w.grad = sj.tensor(g, dtype="float64")
    opt.step()
    np.testing.assert_allclose(w.numpy(), 0.5 - 0.2 * g / (np.abs(g) + 0.1), rtol=1e-12)


def test_sgd_momentum_is_heavy_ball():
    """v = βv + g; θ = θ − αv, on a constant gradient: steps α·g, α(1 + β)g, ..."""
    w = sj.tensor([0.0], dtype="float64", requires_grad=True)
    opt = compat.SGD(alpha=0.1, beta=0.5, params=[w])
    for _ in range(3):
        w.grad = sj.tensor([2.0], dtype="float64")
        opt.step()
    assert w.item() == pytest.approx(-0.1 * 2.0 * (1 + 1.5 + 1.75))


def test_defaults_are_documented_values():
    assert compat.SGD().defaults["lr"] == 0.01 and compat.SGD().defaults["momentum"] == 0
    assert compat.Adam().defaults["betas"] == (0.9, 0.999)
    assert compat.RMSProp().defaults["alpha"] == 0.99
    assert compat.AdaDelta().defaults["rho"] == 0.9


def test_bad_hyperparameters_are_rejected():
    with pytest.raises(ValueError, match="learning rate"):
        compat.Adam(alpha=-1.0)
    with pytest.raises(ValueError, match="beta"):
        compat.Adam(beta_1=1.5)


# ------------------------------------------------------------------ batching in fit


def _built_net() -> compat.NeuralNetwork:
    """A small regression network, built by one epoch of BGD with α = 0 (no change)."""
    sj.manual_seed(5)
    net = compat.NeuralNetwork(3)
    net.add_dense_layer(4, "tanh")
    net.add_output_layer(2, "linear")
    net.fit(X, Y, epoch=1, optimizer=compat.BGD(alpha=0.0), verbose=False)
    return net


def test_bgd_takes_one_full_batch_step_per_epoch():
    """Five epochs of BGD through fit = five full-batch gradient steps by hand."""
    net, by_hand = _built_net(), _built_net()
    net.fit(X, Y, epoch=5, batch_size=4, optimizer=compat.BGD(alpha=0.1), verbose=False)
    model = by_hand.model
    for _ in range(5):
        loss = F.mse_loss(model(sj.tensor(X)), sj.tensor(Y))
        model.zero_grad()
        loss.backward()
        with sj.no_grad():
            for p in model.parameters():
                p.array -= 0.1 * p.grad.array
    for key, value in model.state_dict().items():
        np.testing.assert_allclose(net.model.state_dict()[key], value, rtol=1e-5, atol=1e-6,
                                   err_msg=key)


@pytest.mark.parametrize(("optimizer", "sizes"), [
    (lambda: compat.MBGD(alpha=0.01), [6, 6, 4]),
    (lambda: compat.SGD(alpha=0.01), [6, 6, 4]),
    (lambda: compat.BGD(alpha=0.01), [16]),
], ids=["MBGD", "SGD", "BGD"])
def test_batches_cover_each_epoch_once(optimizer, sizes):
    seen: list[np.ndarray] = []

    def recording_loss(output, target):
        seen.append(target.numpy()[:, 0].copy())
        return F.mse_loss(output, target)

    ids = np.arange(16, dtype=np.float32)  # each target names its sample
    net = compat.NeuralNetwork(3)
    net.add_output_layer(1, "linear")
    net.fit(X, ids, epoch=3, batch_size=6, optimizer=optimizer(), loss=recording_loss,
            verbose=False)
    assert [len(batch) for batch in seen] == sizes * 3
    per_epoch = len(sizes)
    for epoch in range(3):
        samples = np.concatenate(seen[epoch * per_epoch:(epoch + 1) * per_epoch])
        np.testing.assert_array_equal(np.sort(samples), ids)
