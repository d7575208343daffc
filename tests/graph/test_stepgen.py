"""sj.compile's whole step as one generated function (shenjing/graph/stepgen.py) gives
eager mode's and the NumPy plan's numbers, to float32 rounding, for each op and
optimizer it writes; steps it cannot write run the plan."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

import shenjing as sj
import shenjing.nn as nn
import shenjing.nn.functional as F
from shenjing import kernels

pytestmark = pytest.mark.skipif(not kernels.available(), reason="the kernel tier needs Numba")

BATCH = 8


def _exp_module() -> Any:
    """``shenjing.ops._numba_exp`` (it imports Numba), or None without the tier."""
    if not kernels.available():
        return None
    from shenjing.ops import _numba_exp

    return _numba_exp


def _model(kind: str, dtype: str) -> nn.Module:
    sj.manual_seed(0)
    layers = {
        "bce": [nn.Linear(6, 8), nn.Sigmoid(), nn.Linear(8, 4), nn.ReLU(), nn.Linear(4, 1),
                nn.Sigmoid()],
        "ce": [nn.Linear(6, 8), nn.Tanh(), nn.Linear(8, 5), nn.LeakyReLU(0.1),
               nn.Linear(5, 3)],
        "mse": [nn.Linear(6, 8), nn.ReLU(), nn.Linear(8, 2)],
        "gelu": [nn.Linear(6, 8), nn.GELU(), nn.Linear(8, 2)],  # GELU: no emitter
    }[kind]
    return nn.Sequential(*layers).to(getattr(sj, dtype))


def _data(kind: str, dtype: str) -> tuple[Any, Any, Callable[..., Any]]:
    rng = np.random.default_rng(1)
    x = sj.tensor(rng.standard_normal((BATCH, 6)), dtype=dtype)
    if kind == "bce":
        return x, sj.tensor(rng.integers(0, 2, (BATCH, 1)), dtype=dtype), \
            F.binary_cross_entropy
    if kind == "ce":
        return x, sj.tensor(rng.integers(0, 3, BATCH)), \
            lambda out, y: F.cross_entropy(out, y, label_smoothing=0.1)
    return x, sj.tensor(rng.standard_normal((BATCH, 2)), dtype=dtype), F.mse_loss


OPTIMIZERS: dict[str, Callable[[Any], Any]] = {
    "adam": lambda p: sj.optim.Adam(p, lr=1e-2),
    "adamw": lambda p: sj.optim.AdamW(p, lr=1e-2, weight_decay=0.1),
    "adam-l2-maximize": lambda p: sj.optim.Adam(p, lr=1e-2, weight_decay=0.05, maximize=True),
    "sgd-nesterov": lambda p: sj.optim.SGD(p, lr=0.1, momentum=0.9, nesterov=True),
    "sgd-dampening-decay": lambda p: sj.optim.SGD(p, lr=0.1, momentum=0.8, dampening=0.3,
                                                  weight_decay=0.01),
    "sgd": lambda p: sj.optim.SGD(p, lr=0.1),
}

F32 = {"rtol": 1e-4, "atol": 1e-6}


def _training_step(model: nn.Module, opt: Any, loss_fn: Callable[..., Any]) -> Callable:
    """The usual step: the loss, zero_grad, backward, step; returns the loss."""
    def train_step(x, y):
        loss = loss_fn(model(x), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
        return loss

    return train_step


def _train(kind: str, optimizer: str, mode: str, steps: int = 5, dtype: str = "float32",
           lrs: tuple[float, ...] = ()) -> dict[str, Any]:
    """Train ``steps`` steps eagerly (``mode`` "eager", tier off), through the NumPy plan
    ("plan", tier off) or the generated step ("generated", tier on); ``lrs`` sets the
    learning rate before each step, as a scheduler would."""
    with kernels.use(mode == "generated"):
        model = _model(kind, dtype)
        opt = OPTIMIZERS[optimizer](model.parameters())
        x, y, loss_fn = _data(kind, dtype)

        train_step = _training_step(model, opt, loss_fn)

        step = train_step if mode == "eager" else sj.compile(train_step)
        losses = []
        for k in range(steps):
            if k < len(lrs):
                for group in opt.param_groups:
                    group["lr"] = lrs[k]
            losses.append(step(x, y).item())
        generated = None if mode == "eager" else list(step._traces.values())[0].generated
        return {"losses": np.array(losses), "step": step,
                "generated_calls": 0 if generated is None else generated.calls,
                "params": [p.numpy().copy() for p in model.parameters()],
                "grads": [p.grad.numpy().copy() for p in model.parameters()],
                "state": opt.state_dict()["state"]}


def _assert_same(a: dict[str, Any], b: dict[str, Any], tol: dict[str, float]) -> None:
    np.testing.assert_allclose(a["losses"], b["losses"], **tol)
    for key in ("params", "grads"):
        for u, v in zip(a[key], b[key], strict=True):
            np.testing.assert_allclose(u, v, **tol)
    assert a["state"].keys() == b["state"].keys()
    for index, entry in a["state"].items():
        other = b["state"][index]
        assert entry.keys() == other.keys()
        for name, value in entry.items():
            np.testing.assert_allclose(np.asarray(value), np.asarray(other[name]), **tol)


@pytest.mark.parametrize(("kind", "optimizer"), [
    ("bce", "adam"), ("ce", "adamw"), ("ce", "adam-l2-maximize"), ("mse", "sgd-nesterov"),
    ("mse", "sgd-dampening-decay"), ("mse", "sgd"),
])
def test_generated_step_equals_plan_and_eager(kind: str, optimizer: str):
    generated = _train(kind, optimizer, "generated")
    assert generated["step"].source is not None  # the whole step was generated
    assert generated["generated_calls"] == 5  # and ran every step
    assert "def step(" in generated["step"].source
    _assert_same(generated, _train(kind, optimizer, "eager"), F32)
    _assert_same(generated, _train(kind, optimizer, "plan"), F32)


def test_learning_rate_changes_take_effect_and_lr_zero_falls_back():
    lrs = (1e-2, 1e-2, 5e-3, 0.0, 2e-3)  # lr = 0: that call runs the plan
    generated = _train("bce", "adam", "generated", lrs=lrs)
    eager = _train("bce", "adam", "eager", lrs=lrs)
    _assert_same(generated, eager, F32)
    assert generated["state"][0]["step"] == 5
    assert generated["generated_calls"] == 4  # all but the lr = 0 step
    unchanged = _train("bce", "adam", "generated")
    assert not np.allclose(unchanged["params"][0], generated["params"][0])


def test_an_op_without_emitter_runs_the_plan():
    generated = _train("gelu", "adam", "generated")
    assert generated["step"].source is None
    _assert_same(generated, _train("gelu", "adam", "eager"), F32)


def test_tier_off_runs_the_plan():
    assert _train("mse", "sgd", "plan")["step"].source is None


def test_deterministic():
    a, b = _train("ce", "adamw", "generated"), _train("ce", "adamw", "generated")
    for key in ("params", "grads"):
        for u, v in zip(a[key], b[key], strict=True):
            assert np.array_equal(u, v)
    assert np.array_equal(a["losses"], b["losses"])


def test_float64_gradients_match_central_differences():
    with kernels.use(True):
        model = _model("ce", "float64")
        x, y, loss_fn = _data("ce", "float64")
        first = list(model.parameters())[0]
        start = first.numpy().copy()

        def loss_at(w: np.ndarray) -> float:
            first.array[...] = w
            with sj.no_grad():
                return loss_fn(model(x), y).item()

        h = 1e-6
        numeric = np.empty_like(start)
        for index in np.ndindex(start.shape):
            up, down = start.copy(), start.copy()
            up[index] += h
            down[index] -= h
            numeric[index] = (loss_at(up) - loss_at(down)) / (2 * h)
        first.array[...] = start
        opt = sj.optim.SGD(model.parameters(), lr=0.0)  # lr 0 is SGD's own: still generated

        step = sj.compile(_training_step(model, opt, loss_fn))

        step(x, y)
        assert step.source is not None and "float64" in step.source
        np.testing.assert_allclose(first.grad.numpy(), numeric, rtol=1e-6, atol=1e-9)


def test_gradients_are_handed_out_after_zero_grad_outside():
    with kernels.use(True):
        model = _model("mse", "float32")
        opt = sj.optim.Adam(model.parameters(), lr=1e-2)
        x, y, loss_fn = _data("mse", "float32")

        step = sj.compile(_training_step(model, opt, loss_fn))

        step(x, y)
        opt.zero_grad()
        assert all(p.grad is None for p in model.parameters())
        loss = step(x, y)
        assert step.source is not None
        assert all(p.grad is not None for p in model.parameters())
        assert loss.shape == () and loss.dtype == sj.float32


def test_exp32_is_accurate_to_float32_rounding():
    from shenjing.ops import _numba_exp

    x = np.concatenate([np.linspace(-104, 89, 200_001, dtype=np.float32),
                        np.array([np.inf, -np.inf, np.nan, 88.72, 88.73, -87.5, -103.9,
                                  -110.0, 0.0, -0.0, 1e-8], np.float32)])
    out = np.empty_like(x)
    _exp_loop(x, out)
    exact = np.exp(x.astype(np.float64))
    with np.errstate(over="ignore"):
        rounded = exact.astype(np.float32)
    normal = np.isfinite(rounded) & (exact >= np.finfo(np.float32).tiny)
    ulps = np.abs(out[normal] - exact[normal]) / np.spacing(rounded[normal]).astype(np.float64)
    assert ulps.max() <= 1.0
    subnormal = exact < np.finfo(np.float32).tiny
    assert np.abs(out[subnormal] - exact[subnormal]).max() <= np.finfo(np.float32).smallest_subnormal
    assert np.array_equal(out[~normal & ~subnormal], rounded[~normal & ~subnormal],
                          equal_nan=True)  # inf, and NaN
    assert out.dtype == np.float32 and _numba_exp.exp(0.5) == np.exp(0.5)


exp = _numba_exp_module.exp if (_numba_exp_module := _exp_module()) else None


@kernels.kernel
def _exp_loop(x: Any, out: Any) -> None:
    for k in range(x.size):
        out[k] = exp(x[k])


def test_a_step_that_fails_to_compile_warns_and_runs_the_plan(monkeypatch: pytest.MonkeyPatch):
    from shenjing.graph import stepgen

    real = stepgen._module

    def broken(dtype: str, args: list[str], body: list[str]) -> str:
        return real(dtype, args, ["unknown = not_defined_anywhere", *body])

    monkeypatch.setattr(stepgen, "_module", broken)
    with pytest.warns(RuntimeWarning, match="failed to compile"):
        generated = _train("mse", "sgd", "generated")
    _assert_same(generated, _train("mse", "sgd", "eager"), F32)


def test_a_parameter_or_state_replaced_between_calls_is_rebound():
    def run(generated: bool) -> tuple[list[np.ndarray], int]:
        with kernels.use(generated):
            model = _model("bce", "float32")
            opt = sj.optim.Adam(model.parameters(), lr=1e-2)
            x, y, loss_fn = _data("bce", "float32")

            train_step = _training_step(model, opt, loss_fn)
            step = sj.compile(train_step) if generated else train_step
            first = list(model.parameters())[0]
            for k in range(6):
                if k == 2:
                    first.array = first.array * 0.5  # a new array behind the layout
                if k == 4:
                    opt.load_state_dict(opt.state_dict())  # new state dicts
                step(x, y)
            calls = list(step._traces.values())[0].generated.calls if generated else 0
            return [p.numpy().copy() for p in model.parameters()], calls

    (generated, calls), (eager, _) = run(True), run(False)
    assert calls == 6
    for u, v in zip(generated, eager, strict=True):
        np.testing.assert_allclose(u, v, **F32)
