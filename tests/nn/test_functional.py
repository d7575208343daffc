"""The functional API: every promised name is there and is the op itself, and the pieces
compose into a network that learns."""

from __future__ import annotations

import numpy as np

import shenjing as sj
import shenjing.nn.functional as F

PROMISED = [
    "relu", "sigmoid", "tanh", "step", "leaky_relu", "prelu", "elu", "gelu", "softplus",
    "softmax", "log_softmax", "linear", "dropout", "mse_loss", "l1_loss", "huber_loss",
    "binary_cross_entropy", "binary_cross_entropy_with_logits", "cross_entropy", "nll_loss",
]


def test_every_promised_name_is_the_op_itself() -> None:
    for name in PROMISED:
        assert name in F.__all__, name
        assert getattr(F, name) is getattr(sj, name), name
    assert all(hasattr(F, name) for name in F.__all__)


def test_a_two_layer_network_learns_xor() -> None:
    x = sj.tensor([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]])
    labels = sj.tensor([0, 1, 1, 0])
    rng = np.random.default_rng(0)
    w1 = sj.tensor(rng.normal(0.0, 1.0, size=(8, 2)), requires_grad=True)
    b1 = sj.zeros(8, requires_grad=True)
    w2 = sj.tensor(rng.normal(0.0, 0.5, size=(2, 8)), requires_grad=True)
    b2 = sj.zeros(2, requires_grad=True)
    params = [w1, b1, w2, b2]

    def loss() -> sj.Tensor:
        hidden = F.tanh(F.linear(x, w1, b1))
        return F.cross_entropy(F.linear(hidden, w2, b2), labels)

    first = loss().item()
    for _ in range(300):
        for p in params:
            p.grad = None
        loss().backward()
        for p in params:
            p.array -= 0.5 * p.grad.array
    assert loss().item() < 0.1 < first
    with sj.no_grad():
        predicted = F.linear(F.tanh(F.linear(x, w1, b1)), w2, b2).argmax(axis=1)
    np.testing.assert_array_equal(predicted.numpy(), labels.numpy())
