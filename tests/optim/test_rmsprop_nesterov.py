"""RMSpropNesterov against a literal transcription of Goodfellow et al., Algorithm 8.6."""

from __future__ import annotations

import numpy as np
import pytest

import shenjing as sj
from shenjing import optim

# A quadratic f(θ) = ½ θᵀAθ − cᵀθ: its gradient can be evaluated anywhere, in particular
# at Algorithm 8.6's interim point θ + αv.
_rng = np.random.default_rng(7)
_M = _rng.standard_normal((5, 5))
A = _M @ _M.T / 5 + np.eye(5)
C = _rng.standard_normal(5)
THETA0 = _rng.standard_normal(5)


def gradient(theta: np.ndarray) -> np.ndarray:
    return A @ theta - C


def algorithm_8_6(lr, rho, alpha, eps, steps):
    """Literal Algorithm 8.6, with ε outside the root; returns (θ, v) after each step."""
    theta, v, r = THETA0.copy(), np.zeros(5), np.zeros(5)
    history = []
    for _ in range(steps):
        interim = theta + alpha * v
        g = gradient(interim)
        r = rho * r + (1 - rho) * g * g
        v = alpha * v - lr / (np.sqrt(r) + eps) * g
        theta = theta + v
        history.append((theta, v))
    return history


@pytest.mark.parametrize(
    ("lr", "rho", "alpha", "eps"),
    [(1e-2, 0.99, 0.9, 1e-8), (5e-2, 0.9, 0.5, 1e-3), (1e-2, 0.99, 0.0, 1e-8)],
    ids=["defaults", "other-options", "no-momentum"],
)
def test_matches_algorithm_8_6(lr, rho, alpha, eps):
    phi = sj.tensor(THETA0, dtype="float64", requires_grad=True)
    opt = optim.RMSpropNesterov([phi], lr=lr, alpha=rho, momentum=alpha, eps=eps)
    for step, (theta, v) in enumerate(algorithm_8_6(lr, rho, alpha, eps, steps=50), start=1):
        phi.grad = sj.tensor(gradient(phi.array), dtype="float64")
        opt.step()
        # The stored parameters are the next interim point θ + αv; the buffer is −v/γ.
        np.testing.assert_allclose(phi.array, theta + alpha * v, rtol=1e-10, atol=1e-12,
                                   err_msg=f"step {step}")
        np.testing.assert_allclose(opt.state[phi]["momentum_buffer"], -v / lr, rtol=1e-10,
                                   atol=1e-12, err_msg=f"step {step}")


def test_converges_to_the_minimum():
    phi = sj.tensor(THETA0, dtype="float64", requires_grad=True)
    opt = optim.RMSpropNesterov([phi], lr=1e-2)
    for _ in range(2000):
        phi.grad = sj.tensor(gradient(phi.array), dtype="float64")
        opt.step()
    np.testing.assert_allclose(phi.array, np.linalg.solve(A, C), atol=2e-2)


def test_no_momentum_is_rmsprop():
    a = sj.tensor(THETA0, dtype="float64", requires_grad=True)
    b = sj.tensor(THETA0, dtype="float64", requires_grad=True)
    nesterov = optim.RMSpropNesterov([a], lr=1e-2, momentum=0.0, weight_decay=0.1)
    plain = optim.RMSprop([b], lr=1e-2, weight_decay=0.1)
    for _ in range(30):
        for p, opt in ((a, nesterov), (b, plain)):
            p.grad = sj.tensor(gradient(p.array), dtype="float64")
            opt.step()
    np.testing.assert_allclose(a.array, b.array, rtol=1e-12)
