"""L-BFGS against torch.optim.LBFGS from the same start: exact in float64 (a small
tanh network, where any difference in the algorithm would show), to float32 rounding on
a convex problem; the history's save and restore; the errors."""

from __future__ import annotations

import numpy as np
import pytest

import shenjing as sj

rng = np.random.default_rng(0)
X = rng.normal(size=(48, 5))
Y = (X @ rng.normal(size=(5, 1)) + 0.3 * rng.normal(size=(48, 1)) > 0).astype(np.float64)
W1, W2 = rng.normal(size=(6, 5)) * 0.5, rng.normal(size=(1, 6)) * 0.5


def _problem(lib, dtype, hidden: bool):
    """Parameters and a loss function: a tanh network, or regularised logistic regression."""
    if lib == "torch":
        import torch as lib_mod
        import torch.nn.functional as F

        make = lambda a, grad=True: lib_mod.tensor(a.astype(dtype), requires_grad=grad)  # noqa: E731
        tanh = lib_mod.tanh
    else:
        F = sj.nn.functional
        make = lambda a, grad=True: sj.tensor(a, dtype=dtype, requires_grad=grad)  # noqa: E731
        tanh = sj.tanh
    x, y = make(X, False), make(Y, False)
    if hidden:
        params = [make(W1), make(W2)]
        return params, lambda: F.binary_cross_entropy_with_logits(
            tanh(x @ params[0].T) @ params[1].T, y)
    params = [make(W2[:, :5]), make(np.zeros(1))]
    return params, lambda: (F.binary_cross_entropy_with_logits(x @ params[0].T + params[1], y)
                            + 0.1 * (params[0] ** 2).sum())


def _run(lib, kwargs, dtype, hidden, steps=3):
    params, loss_fn = _problem(lib, dtype, hidden)
    if lib == "torch":
        import torch

        opt = torch.optim.LBFGS(params, **kwargs)
    else:
        opt = sj.optim.LBFGS(params, **kwargs)

    def closure():
        opt.zero_grad()
        loss = loss_fn()
        loss.backward()
        return loss

    losses = [float(opt.step(closure).detach()) for _ in range(steps)]
    state = opt.state[opt.param_groups[0]["params"][0]]
    return losses, [p.detach().numpy() for p in params], state["func_evals"], state["n_iter"]


OPTIONS = [
    {},
    {"lr": 0.5, "history_size": 3, "max_iter": 7},
    {"line_search_fn": "strong_wolfe"},
    {"line_search_fn": "strong_wolfe", "history_size": 4, "max_iter": 10, "lr": 0.8,
     "max_eval": 12},
]


@pytest.mark.torch
@pytest.mark.parametrize("kwargs", OPTIONS)
def test_matches_torch_in_float64(kwargs) -> None:
    pytest.importorskip("torch")
    ours, theirs = _run("sj", kwargs, "float64", True), _run("torch", kwargs, "float64", True)
    np.testing.assert_allclose(ours[0], theirs[0], rtol=1e-10)
    for a, b in zip(ours[1], theirs[1], strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-8, atol=1e-9)
    assert ours[2:] == theirs[2:]  # the same closure calls and iterations
    assert ours[0][-1] < 0.5 * ours[0][0]


@pytest.mark.torch
@pytest.mark.parametrize("kwargs", [{"max_iter": 4}, {"line_search_fn": "strong_wolfe",
                                                       "max_iter": 5}])
def test_matches_torch_in_float32(kwargs) -> None:
    pytest.importorskip("torch")
    ours, theirs = _run("sj", kwargs, "float32", False, 3), _run("torch", kwargs, "float32",
                                                                   False, 3)
    np.testing.assert_allclose(ours[0], theirs[0], rtol=1e-6)
    for a, b in zip(ours[1], theirs[1], strict=True):
        assert a.dtype == np.float32
        np.testing.assert_allclose(a, b, rtol=2e-6, atol=2e-6)


@pytest.mark.parametrize("kwargs", [{}, {"line_search_fn": "strong_wolfe", "history_size": 3}])
def test_state_dict_round_trip_continues_the_same_run(kwargs) -> None:
    runs = []
    for restore in (False, True):
        params, loss_fn = _problem("sj", "float64", True)
        opt = sj.optim.LBFGS(params, max_iter=5, **kwargs)

        def closure(opt=opt, loss_fn=loss_fn):
            opt.zero_grad()
            loss = loss_fn()
            loss.backward()
            return loss

        opt.step(closure)
        if restore:  # a fresh optimizer, given the saved history
            saved = opt.state_dict()
            opt.step(closure)  # moves on: the snapshot must not follow
            for p, value in zip(params, runs[0][0], strict=True):
                p.array[...] = value
            opt = sj.optim.LBFGS(params, max_iter=5, **kwargs)
            opt.load_state_dict(saved)
        else:
            runs.append([[p.array.copy() for p in params]])
        opt.step(closure)
        runs[-1].append([p.array.copy() for p in params]) if not restore else runs.append(
            [None, [p.array.copy() for p in params]])
    for a, b in zip(runs[0][1], runs[1][1], strict=True):
        np.testing.assert_array_equal(a, b)


def test_errors_name_the_fix() -> None:
    w = sj.tensor([1.0], requires_grad=True)
    with pytest.raises(RuntimeError, match="only 'strong_wolfe' is supported"):
        sj.optim.LBFGS([w], line_search_fn="armijo")
    with pytest.raises(RuntimeError, match="needs a closure"):
        sj.optim.LBFGS([w]).step()
    with pytest.raises(ValueError, match="per-parameter options"):
        sj.optim.LBFGS([{"params": [w]}, {"params": [sj.tensor([1.0], requires_grad=True)]}])
