"""explain_backprop's numbers against autograd and closed forms; gradient flow shows the
vanishing gradient of deep sigmoid networks."""

from __future__ import annotations

import numpy as np
import pytest

import shenjing as sj
import shenjing.nn as nn
import shenjing.nn.functional as F
from shenjing.tensor import Tensor
from shenjing.viz import (
    GradientFlow,
    explain_backprop,
    first_layer_ratio,
    gradient_flow_experiment,
    gradient_norms,
)


def _autograd_grads(model: nn.Module, x: np.ndarray, y: np.ndarray, loss: str
                    ) -> dict[str, np.ndarray]:
    model.zero_grad()
    output = model(Tensor(x))
    if loss == "cross_entropy":
        cost = F.cross_entropy(output, Tensor(y))
    elif loss == "quadratic":
        cost = ((output - Tensor(y)) ** 2).sum() / (2 * len(x))
    else:
        cost = F.mse_loss(output, Tensor(y))
    cost.backward()
    grads = {name: p.grad.numpy().copy() for name, p in model.named_parameters()}
    model.zero_grad()
    return grads


CASES = {
    "sigmoid-mse": (lambda: nn.Sequential(nn.Linear(3, 5), nn.Sigmoid(), nn.Linear(5, 2),
                                          nn.Sigmoid()), "mse"),
    "tanh-quadratic": (lambda: nn.Sequential(nn.Linear(3, 4), nn.Tanh(), nn.Linear(4, 4),
                                             nn.Tanh(), nn.Linear(4, 2)), "quadratic"),
    "dense-relu-cross-entropy": (lambda: nn.Sequential(
        nn.Flatten(), nn.Dense(6, activation="relu", in_features=3), nn.Dense(4, in_features=6),
    ), "cross_entropy"),
    "elu-leaky-mse": (lambda: nn.Sequential(nn.Linear(3, 5), nn.ELU(), nn.Linear(5, 5),
                                            nn.LeakyReLU(0.1), nn.Linear(5, 2)), "mse"),
}


@pytest.mark.parametrize("case", list(CASES))
def test_gradients_equal_autograd(case: str) -> None:
    build, loss = CASES[case]
    sj.manual_seed(0)
    model = build()
    rng = np.random.default_rng(1)
    x = rng.normal(size=(6, 3)).astype(np.float32)
    y = (rng.integers(0, 4, size=6) if loss == "cross_entropy"
         else rng.uniform(size=(6, 2)).astype(np.float32))
    explanation = explain_backprop(model, x, y, loss=loss, verbose=False)
    expected = _autograd_grads(model, x, y, loss)
    got = explanation.gradients()
    assert set(got) == set(expected)
    for name, grad in expected.items():
        np.testing.assert_allclose(got[name], grad, rtol=1e-4, atol=1e-6, err_msg=name)
    assert explanation.autograd_difference < 1e-12


def test_forward_numbers_and_output_delta_follow_the_equations() -> None:
    sj.manual_seed(2)
    model = nn.Sequential(nn.Linear(3, 4), nn.Sigmoid(), nn.Linear(4, 2), nn.Sigmoid())
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(5, 3)), rng.uniform(size=(5, 2))
    e = explain_backprop(model, x, y, loss="mse", verbose=False)
    hidden, output = e.layers
    w1, b1 = model[0].weight.numpy().astype(float), model[0].bias.numpy().astype(float)
    z1 = x @ w1.T + b1
    a1 = 1 / (1 + np.exp(-z1))
    np.testing.assert_allclose(hidden.z, z1, rtol=1e-12)
    np.testing.assert_allclose(hidden.a, a1, rtol=1e-12)
    np.testing.assert_allclose(hidden.sigma_prime, a1 * (1 - a1), rtol=1e-12)
    # BP1 for the mean squared error over N·K entries.
    a2 = output.a
    np.testing.assert_allclose(output.delta, 2 * (a2 - y) / y.size * a2 * (1 - a2), rtol=1e-12)
    # BP2, in the book's column form δ¹ = (W²ᵀ δ²) ⊙ σ'(z¹), one sample at a time.
    for n in range(len(x)):
        np.testing.assert_allclose(
            hidden.delta[n], (output.weight.T @ output.delta[n]) * hidden.sigma_prime[n],
            rtol=1e-12)
    assert e.cost == pytest.approx(float(((a2 - y) ** 2).mean()))


def test_printout_names_the_equations_and_summarises_big_tensors(
        capsys: pytest.CaptureFixture[str]) -> None:
    sj.manual_seed(0)
    model = nn.Sequential(nn.Linear(20, 16), nn.ReLU(), nn.Linear(16, 3))
    x = np.random.default_rng(0).normal(size=(8, 20))
    explanation = explain_backprop(model, x, np.arange(8) % 3, loss="cross_entropy")
    out = capsys.readouterr().out
    assert out.strip() == str(explanation).strip()
    for marker in ("BP1", "BP2", "BP3", "BP4", "δ²", "∂C/∂W¹", "shape (16, 20)", "‖·‖"):
        assert marker in out
    assert all(p.grad is None for p in model.parameters())  # the model is left as it was


@pytest.mark.parametrize("model, message", [
    (lambda: nn.Sequential(nn.Conv2d(1, 2, 3)), "Conv2d"),
    (lambda: nn.Sequential(nn.Linear(3, 3), nn.Softmax()), "Softmax"),
    (lambda: nn.Sequential(nn.ReLU()), "Received: ReLU"),
    (lambda: nn.Sequential(nn.Flatten()), "no Linear"),
], ids=["conv", "softmax", "activation-first", "no-linear"])
def test_unsupported_models_are_refused(model: object, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        explain_backprop(model(), np.ones((2, 3)), np.zeros(2, dtype=np.int64),
                         loss="cross_entropy", verbose=False)


def test_gradient_flow_records_every_layer() -> None:
    sj.manual_seed(0)
    model = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 3))
    model.compile(optimizer=sj.optim.SGD(model.parameters(), lr=0.1), loss="cross_entropy")
    flow = GradientFlow(every=2)
    rng = np.random.default_rng(0)
    model.fit(rng.normal(size=(40, 4)), rng.integers(0, 3, size=40), batch_size=10, epochs=1,
              verbose=0, callbacks=[flow])
    assert flow.steps == [2, 4]
    assert list(flow.norms) == ["0.weight", "2.weight"]
    assert flow.norms["2.weight"][-1] == pytest.approx(gradient_norms(model)["2.weight"])


def test_sigmoid_gradients_vanish_in_the_first_layer_but_relu_ones_do_not() -> None:
    flows = gradient_flow_experiment(("sigmoid", "relu"), depth=6, width=30, samples=300,
                                     batch_size=20)
    sigmoid = flows["sigmoid"].mean_norms()
    norms = list(sigmoid.values())
    assert norms[0] < norms[-1] / 100  # each sigmoid layer shrinks δ by σ' ≤ 1/4
    assert first_layer_ratio(flows, "sigmoid", "relu") < 0.05


def test_class_labels_pick_cross_entropy_or_say_how() -> None:
    sj.manual_seed(0)
    model = nn.Sequential(nn.Linear(4, 5), nn.Tanh(), nn.Linear(5, 3))
    x, labels = np.random.default_rng(0).normal(size=(6, 4)), np.arange(6) % 3
    explanation = explain_backprop(model, x, labels, verbose=False)
    assert explanation.loss == "cross_entropy" and explanation.autograd_difference < 1e-10
    with pytest.raises(ValueError, match="y holds class labels .* give loss='cross_entropy'"):
        explain_backprop(model, x, labels, loss="mse", verbose=False)
