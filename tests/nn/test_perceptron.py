"""``nn.Perceptron``: the learning rule against its closed form, the logic gates it learns,
XOR that it cannot; and the warning for a step unit trained by gradients."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import shenjing as sj
import shenjing.nn as nn

INPUTS = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], dtype=np.float32)
GATES = {
    "AND": [0, 0, 0, 1],
    "OR": [0, 1, 1, 1],
    "NAND": [1, 1, 1, 0],
    "NOR": [1, 0, 0, 0],
}


@pytest.mark.parametrize("gate", list(GATES))
def test_learns_linearly_separable_gates(gate: str) -> None:
    unit = nn.Perceptron(2)
    assert unit.fit(INPUTS, GATES[gate]) is unit
    assert unit.converged_ and unit.errors_[-1] == 0
    assert unit.epochs_ == len(unit.errors_) < unit.max_epochs
    np.testing.assert_array_equal(unit.predict(INPUTS), GATES[gate])
    # The boundary w·x + b = 0 separates the classes: the sign of w·x + b is the output.
    scores = INPUTS @ unit.weight.numpy()[0] + unit.bias.numpy()[0]
    np.testing.assert_array_equal(scores > 0, np.array(GATES[gate], dtype=bool))


def test_xor_does_not_converge_and_says_why() -> None:
    unit = nn.Perceptron(2, max_epochs=50)
    with pytest.warns(nn.PerceptronConvergenceWarning, match="hidden layers"):
        converged = unit.fit(INPUTS, [0, 1, 1, 0]).converged_
    assert converged is False and unit.converged_ is False
    assert unit.epochs_ == 50 and min(unit.errors_) > 0
    assert "XOR" in unit.message_ and "did not converge in 50 epochs" in unit.message_
    assert (unit.predict(INPUTS) != np.array([0, 1, 1, 0])).any()


def test_one_update_follows_the_rule() -> None:
    """From w = 0, b = 0 the unit says 0; a target of 1 gives w = η(1 − 0)x, b = η."""
    x = np.array([[0.5, -2.0, 3.0]], dtype=np.float32)
    unit = nn.Perceptron(3, lr=0.1, max_epochs=1)
    with pytest.warns(nn.PerceptronConvergenceWarning):  # one epoch, one mistake
        unit.fit(x, [1])
    np.testing.assert_allclose(unit.weight.numpy(), 0.1 * x, rtol=1e-6)
    np.testing.assert_allclose(unit.bias.numpy(), [0.1], rtol=1e-6)
    assert unit.errors_ == [1]


def test_learning_rate_only_scales_the_weights() -> None:
    """From zero weights every η makes the same mistakes, so w and b scale with η."""
    a, b = nn.Perceptron(2, lr=1.0), nn.Perceptron(2, lr=0.25)
    a.fit(INPUTS, GATES["NAND"])
    b.fit(INPUTS, GATES["NAND"])
    assert a.errors_ == b.errors_
    np.testing.assert_allclose(b.weight.numpy(), 0.25 * a.weight.numpy())


def test_refit_starts_from_zero_and_uses_no_gradients() -> None:
    unit = nn.Perceptron(2)
    unit.fit(INPUTS, GATES["AND"])
    first = unit.weight.numpy().copy()
    unit.fit(INPUTS, GATES["NAND"])
    unit.fit(INPUTS, GATES["AND"])
    np.testing.assert_array_equal(unit.weight.numpy(), first)
    assert all(not p.requires_grad for p in unit.parameters())
    assert list(unit.state_dict()) == ["weight", "bias"]
    assert unit(sj.tensor(INPUTS)).shape == (4, 1)


def test_errors() -> None:
    unit = nn.Perceptron(2)
    with pytest.raises(ValueError, match="targets must be 0 or 1"):
        unit.fit(INPUTS, [0, 1, 2, 1])
    with pytest.raises(ValueError, match=r"shape \(n, 2\). Received: shape=\(4, 3\)"):
        unit.predict(np.zeros((4, 3)))
    with pytest.raises(ValueError, match="different lengths"):
        unit.fit(INPUTS, [0, 1])
    with pytest.raises(ValueError, match="lr must be positive"):
        nn.Perceptron(2, lr=0)


# ------------------------------------------------------------------- nn.Step warning


def test_training_through_a_step_warns_once() -> None:
    model = nn.Sequential(nn.Linear(2, 3), nn.Step())
    with pytest.warns(UserWarning, match="gradient of the step function is zero everywhere"):
        model(sj.tensor(INPUTS))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        model(sj.tensor(INPUTS))  # the same layer warns only once
    loss = model(sj.tensor(INPUTS)).sum()
    loss.backward()
    assert not model[0].weight.grad.numpy().any(), "nothing flows back through a step"


def test_dense_with_a_step_activation_warns_too() -> None:
    layer = nn.Dense(3, activation="step")
    with pytest.warns(UserWarning, match="gradient of the step function is zero everywhere"):
        out = layer(sj.tensor(INPUTS))
    assert set(np.unique(out.numpy())) <= {0.0, 1.0}


@pytest.mark.parametrize("case", ["eval", "no_grad", "plain-input"])
def test_step_does_not_warn_when_nothing_is_trained(case: str) -> None:
    model = nn.Sequential(nn.Linear(2, 3), nn.Step())
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        if case == "eval":
            model.eval()(sj.tensor(INPUTS))
        elif case == "no_grad":
            with sj.no_grad():
                model(sj.tensor(INPUTS))
        else:
            nn.Step()(sj.tensor(INPUTS))
