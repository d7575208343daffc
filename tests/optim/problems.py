"""Fixed problems for optimizer tests, and drivers that run an optimizer on them.

The problem is a small linear least squares, L(W, b) = ‖XW + b − Y‖² / (2n), whose
gradient is set directly on ``p.grad`` (so these tests depend on no op but the Tensor).
With ``maximize=True`` the driver hands over the gradient of −L, so every run descends L.
"""

from __future__ import annotations

import contextlib

import numpy as np
import pytest

import shenjing as sj
from shenjing import optim
from tests.optim.reference import REFERENCES

_rng = np.random.default_rng(1234)
X = _rng.standard_normal((12, 4))
Y = _rng.standard_normal((12, 3))
INITIAL = (_rng.standard_normal((4, 3)), _rng.standard_normal(3))


def least_squares_loss(W: np.ndarray, b: np.ndarray) -> float:
    """L(W, b) = ‖XW + b − Y‖² / (2n)."""
    return float(((X @ W + b - Y) ** 2).sum() / (2 * len(X)))


def least_squares_grads(W: np.ndarray, b: np.ndarray) -> list[np.ndarray]:
    """[∂L/∂W, ∂L/∂b] in the dtype of W."""
    x, y = X.astype(W.dtype), Y.astype(W.dtype)
    residual = x @ W + b - y
    return [x.T @ residual / len(x), residual.mean(axis=0)]


def _sign(kwargs: dict) -> int:
    return -1 if kwargs.get("maximize") else 1


def make_params(dtype: str = "float64") -> list[sj.Tensor]:
    return [sj.tensor(a, dtype=dtype, requires_grad=True) for a in INITIAL]


def set_grads(params: list[sj.Tensor], sign: int = 1) -> None:
    grads = least_squares_grads(*(p.array for p in params))
    for p, g in zip(params, grads, strict=True):
        p.grad = sj.tensor(sign * g, dtype=p.dtype)


def run_steps(opt, params: list[sj.Tensor], steps: int, sign: int = 1) -> list[list[np.ndarray]]:
    """Take ``steps`` steps; the parameters after each one."""
    trajectory = []
    for _ in range(steps):
        set_grads(params, sign)
        opt.step()
        trajectory.append([p.array.copy() for p in params])
    return trajectory


def run_shenjing(name: str, kwargs: dict, dtype: str, steps: int = 50):
    params = make_params(dtype)
    opt = getattr(optim, name)(params, **kwargs)
    return run_steps(opt, params, steps, _sign(kwargs))


def run_reference(name: str, kwargs: dict, dtype: str, steps: int = 50):
    step = REFERENCES[name]
    thetas = [a.astype(dtype) for a in INITIAL]
    states = [{} for _ in thetas]
    trajectory = []
    for _ in range(steps):
        grads = [_sign(kwargs) * g for g in least_squares_grads(*thetas)]
        thetas = [step(t, g, s, **kwargs) for t, g, s in zip(thetas, grads, states, strict=True)]
        trajectory.append(thetas)
    return trajectory


@contextlib.contextmanager
def torch_default_dtype(torch, dtype):
    # NAdam keeps its μ product in the default dtype: float64 runs need it in float64.
    previous = torch.get_default_dtype()
    torch.set_default_dtype(dtype)
    try:
        yield
    finally:
        torch.set_default_dtype(previous)


def run_torch(name: str, kwargs: dict, dtype: str, steps: int = 50):
    torch = pytest.importorskip("torch")
    torch_dtype = getattr(torch, dtype)
    with torch_default_dtype(torch, torch_dtype):
        params = [torch.tensor(a, dtype=torch_dtype, requires_grad=True) for a in INITIAL]
        opt = getattr(torch.optim, name)(params, **kwargs)
        trajectory = []
        for _ in range(steps):
            grads = least_squares_grads(*(p.detach().numpy() for p in params))
            for p, g in zip(params, grads, strict=True):
                p.grad = torch.from_numpy(_sign(kwargs) * g)
            opt.step()
            trajectory.append([p.detach().numpy().copy() for p in params])
    return trajectory


def assert_trajectories_close(actual, expected, rtol: float, atol: float) -> None:
    for step, (a_params, e_params) in enumerate(zip(actual, expected, strict=True)):
        for i, (a, e) in enumerate(zip(a_params, e_params, strict=True)):
            np.testing.assert_allclose(
                a, e, rtol=rtol, atol=atol, err_msg=f"parameter {i} after step {step + 1}"
            )


# (optimizer, keyword arguments): every optimizer, with its options switched on in turn.
CONFIGS = [
    ("SGD", {}),
    ("SGD", {"lr": 0.1}),
    ("SGD", {"lr": 0.1, "momentum": 0.9}),
    ("SGD", {"lr": 0.05, "momentum": 0.8, "dampening": 0.5, "weight_decay": 0.1}),
    ("SGD", {"lr": 0.1, "momentum": 0.9, "nesterov": True}),
    ("SGD", {"lr": 0.1, "momentum": 0.5, "maximize": True}),
    ("Adagrad", {}),
    ("Adagrad", {"lr": 0.3}),
    ("Adagrad", {"lr": 0.3, "lr_decay": 0.01, "weight_decay": 0.05,
                 "initial_accumulator_value": 0.1, "eps": 1e-3}),
    ("Adagrad", {"lr": 0.3, "maximize": True}),
    ("Adadelta", {}),
    ("Adadelta", {"lr": 0.5, "rho": 0.8, "eps": 1e-3, "weight_decay": 0.05}),
    ("Adadelta", {"maximize": True}),
    ("RMSprop", {}),
    ("RMSprop", {"lr": 0.01, "momentum": 0.9}),
    ("RMSprop", {"lr": 0.02, "centered": True, "eps": 1e-3}),
    # eps=1e-2: near the minimum √(v − ḡ²) cancels, and with a small eps any two float32
    # runs (torch's too) drift apart by their rounding amplified ~1e4 times.
    ("RMSprop", {"lr": 0.02, "alpha": 0.9, "centered": True, "momentum": 0.5,
                 "weight_decay": 0.05, "eps": 1e-2}),
    ("RMSprop", {"lr": 0.02, "maximize": True}),
    ("Adam", {}),
    ("Adam", {"lr": 0.05}),
    ("Adam", {"lr": 0.05, "amsgrad": True}),
    ("Adam", {"lr": 0.05, "betas": (0.8, 0.9), "eps": 1e-3, "weight_decay": 0.1}),
    ("Adam", {"lr": 0.05, "maximize": True}),
    ("AdamW", {}),
    ("AdamW", {"lr": 0.05, "weight_decay": 0.1}),
    ("AdamW", {"lr": 0.05, "weight_decay": 0.1, "amsgrad": True, "eps": 1e-3}),
    ("Adamax", {}),
    ("Adamax", {"lr": 0.05}),
    ("Adamax", {"lr": 0.05, "betas": (0.8, 0.9), "eps": 1e-3, "weight_decay": 0.1}),
    ("Adamax", {"lr": 0.05, "maximize": True}),
    ("NAdam", {}),
    ("NAdam", {"lr": 0.05}),
    ("NAdam", {"lr": 0.05, "momentum_decay": 0.01, "eps": 1e-3, "weight_decay": 0.1}),
    ("NAdam", {"lr": 0.05, "maximize": True}),
    ("RAdam", {}),
    ("RAdam", {"lr": 0.05}),
    ("RAdam", {"lr": 0.05, "betas": (0.8, 0.9), "eps": 1e-3, "weight_decay": 0.1}),
    ("RAdam", {"lr": 0.05, "weight_decay": 0.1, "decoupled_weight_decay": True}),
    ("RAdam", {"lr": 0.05, "maximize": True}),
]


def config_id(name: str, kwargs: dict) -> str:
    options = [k if v is True else f"{k}={v}" for k, v in kwargs.items()]
    return "-".join([name, *options]) if options else f"{name}-defaults"


CONFIG_PARAMS = [pytest.param(name, kwargs, id=config_id(name, kwargs)) for name, kwargs in CONFIGS]
