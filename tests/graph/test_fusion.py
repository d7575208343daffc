"""sj.compile's fused elementwise chains (shenjing/graph/fusion.py) give the NumPy plan's
numbers to rounding, forward and backward, for every op of the formula table."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

import shenjing as sj
import shenjing.nn.functional as F
from shenjing import kernels
from shenjing.graph import fusion
from shenjing.graph.fusion_table import FORMULAS
from shenjing.models import lenet5
from tests.graph.test_training import make_model

pytestmark = pytest.mark.skipif(not kernels.available(), reason="the kernel tier needs Numba")

ACTIVATIONS: dict[str, Callable[[Any], Any]] = {
    "ReLU": F.relu, "Sigmoid": F.sigmoid, "Tanh": F.tanh,
    "LeakyReLU": lambda h: F.leaky_relu(h, 0.2), "ELU": lambda h: F.elu(h, 0.7),
    "GELU": F.gelu,
}
TOLERANCE = {"float32": {"rtol": 2e-5, "atol": 2e-6}, "float64": {"rtol": 1e-12, "atol": 1e-13}}


@pytest.fixture(autouse=True)
def _fuse_small_chains(monkeypatch: pytest.MonkeyPatch) -> None:
    """The tests' small arrays fuse too (by default, below MIN_ELEMENTS they do not)."""
    monkeypatch.setattr(fusion, "MIN_ELEMENTS", 0)


def test_small_chains_stay_numpy_ops(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setattr(fusion, "MIN_ELEMENTS", 31)  # the step's output has 30 elements
    _, types = _run(_chain_step("linear", ("ReLU",), "float32"), tier=True)
    assert types[:2] == ["Linear", "ReLU"]


def test_every_formula_is_tested():
    assert set(ACTIVATIONS) == set(FORMULAS)


def _fused_types(step: Any) -> list[str]:
    (trace,) = step._traces.values()
    return [op.type for op in trace.plan.ops]


def _run(make_step: Callable[[], tuple[Any, list[Any]]], tier: bool
         ) -> tuple[list[np.ndarray], list[str]]:
    """The output and the gradients of the captured tensors that a compiled step gives,
    with the tier on or off (twice: the second call replays the plan)."""
    with kernels.use(tier):
        step, captured = make_step()
        for _ in range(2):
            for t in captured:
                t.grad = None
            out = step()
        results = [out.numpy(), *(t.grad.numpy() for t in captured)]
        return results, _fused_types(step)


def _chain_step(producer: str, names: tuple[str, ...], dtype: str
                ) -> Callable[[], tuple[Any, list[Any]]]:
    """A step: producer (linear, conv2d or none) -> the named activations -> a weighted sum
    (so every output element gets its own gradient); the input is captured too, for its
    gradient."""
    def make() -> tuple[Any, list[Any]]:
        rng = np.random.default_rng(3)
        shape_w = {"linear": (5, 7), "conv2d": (4, 3, 3, 3), "none": None}[producer]
        x = sj.tensor(_input(producer, dtype), dtype=dtype, requires_grad=True)
        params = []
        if shape_w is not None:
            params = [sj.tensor(rng.standard_normal(shape_w), dtype=dtype, requires_grad=True),
                      sj.tensor(rng.standard_normal(shape_w[0]), dtype=dtype,
                                requires_grad=True)]

        @sj.compile
        def step():
            h = x
            if producer == "linear":
                h = F.linear(h, *params)
            elif producer == "conv2d":
                h = F.conv2d(h, *params, padding=1)
            for name in names:
                h = ACTIVATIONS[name](h)
            weights = sj.tensor(np.linspace(-1, 1, h.numel()).reshape(h.shape), dtype=dtype)
            loss = (h * weights).sum()
            loss.backward()
            return h
        return step, [x, *params]
    return make


def _input(producer: str, dtype: str) -> np.ndarray:
    shape = {"linear": (6, 7), "conv2d": (2, 3, 5, 4), "none": (4, 9)}[producer]
    return np.random.default_rng(4).standard_normal(shape).astype(dtype)


# Every formula after a linear layer, in float64 (tight) and float32 (the dtype's own
# arithmetic); the other layouts (a convolution's channel rows, no producer) with a
# formula reading its output and one reading its input. Each case compiles two kernels
# on a cold cache, so the list stays short.
SINGLE = [(name, "linear", dtype) for name in FORMULAS for dtype in ("float32", "float64")]
SINGLE += [(name, producer, "float64") for name in ("ReLU", "ELU")
           for producer in ("conv2d", "none")]


@pytest.mark.parametrize(("name", "producer", "dtype"), SINGLE)
def test_a_fused_activation_equals_its_numpy_op(name: str, producer: str, dtype: str):
    make = _chain_step(producer, (name,), dtype)
    fused, types = _run(make, tier=True)
    plain, plain_types = _run(make, tier=False)
    assert types[0] == "FusedChain" and "FusedChain" not in plain_types
    for got, want in zip(fused, plain, strict=True):
        assert got.dtype == want.dtype == np.dtype(dtype)
        np.testing.assert_allclose(got, want, **TOLERANCE[dtype])


@pytest.mark.parametrize("producer", ["linear", "conv2d", "none"])
def test_a_chain_of_several_ops_is_one_kernel(producer: str):
    names = ("ELU", "GELU", "Sigmoid", "LeakyReLU", "Tanh")
    make = _chain_step(producer, names, "float64")
    fused, types = _run(make, tier=True)
    plain, _ = _run(make, tier=False)
    assert types.count("FusedChain") == 1 and not set(names) & set(types)
    for got, want in zip(fused, plain, strict=True):
        np.testing.assert_allclose(got, want, **TOLERANCE["float64"])


def test_a_value_read_elsewhere_ends_the_chain():
    def make() -> tuple[Any, list[Any]]:
        rng = np.random.default_rng(0)
        w = sj.tensor(rng.standard_normal((4, 3)), requires_grad=True)
        x = sj.tensor(rng.standard_normal((5, 3)), requires_grad=True)

        @sj.compile
        def step():
            z = F.linear(x, w)  # read by the relu and by the loss: not fused into it
            h = F.relu(z)
            (h.sum() + (z * z).sum()).backward()
            return F.tanh(h)
        return step, [x, w]

    fused, types = _run(make, tier=True)
    plain, _ = _run(make, tier=False)
    assert "Linear" in types and "FusedChain" in types
    for got, want in zip(fused, plain, strict=True):
        np.testing.assert_allclose(got, want, **TOLERANCE["float32"])


def _training(make_model: Callable[[], Any], make_opt: Callable[[Any], Any],
              data: list[tuple[np.ndarray, np.ndarray]], tier: bool
              ) -> tuple[list[float], list[np.ndarray], list[str]]:
    with kernels.use(tier):
        model = make_model()
        opt = make_opt(model.parameters())

        @sj.compile
        def step(x, y):
            loss = F.cross_entropy(model(x), y)
            opt.zero_grad()
            loss.backward()
            opt.step()
            return loss

        losses = [step(sj.tensor(x), sj.tensor(y)).item() for x, y in data]
        return losses, [p.numpy().copy() for p in model.parameters()], _fused_types(step)


def _lenet() -> Any:
    sj.manual_seed(0)
    return lenet5()


def _lenet_data(steps: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """Two fixed classes of 12x12 images (a bright left or right half), with noise."""
    rng = np.random.default_rng(5)
    out = []
    for _ in range(steps):
        y = rng.integers(0, 2, 16)
        x = rng.normal(0, 0.3, (16, 1, 28, 28)).astype(np.float32)
        for i, label in enumerate(y):
            x[i, 0, :, 14 * label:14 * label + 14] += 1.0
        out.append((x, y))
    return out


def _mlp_data(steps: int) -> list[tuple[np.ndarray, np.ndarray]]:
    rng = np.random.default_rng(6)
    centers = rng.standard_normal((3, 6)) * 2
    out = []
    for _ in range(steps):
        y = rng.integers(0, 3, 16)
        out.append(((centers[y] + rng.standard_normal((16, 6))).astype(np.float32), y))
    return out


CASES = {
    "mlp-adam": (make_model, lambda p: sj.optim.Adam(p, lr=0.01), _mlp_data),
    "lenet5-sgd-momentum": (_lenet, lambda p: sj.optim.SGD(p, lr=0.05, momentum=0.9),
                            _lenet_data),
}


@pytest.mark.parametrize("case", list(CASES))
def test_a_fused_training_run_equals_the_numpy_plan_and_reaches_its_bar(case: str):
    make, make_opt, make_data = CASES[case]
    data = make_data(30)
    losses, weights, types = _training(make, make_opt, data, tier=True)
    plain_losses, plain_weights, plain_types = _training(make, make_opt, data, tier=False)
    assert "FusedChain" in types and "FusedChain" not in plain_types
    assert "ReLU" not in types  # every activation went into a kernel
    np.testing.assert_allclose(losses, plain_losses, rtol=1e-4, atol=1e-5)
    for got, want in zip(weights, plain_weights, strict=True):
        np.testing.assert_allclose(got, want, rtol=1e-3, atol=1e-5)
    # It learns: the last five losses are a fifth of the first (both tasks are easy).
    assert np.mean(losses[-5:]) < 0.2 * losses[0]
    # Deterministic: the same run again gives the same numbers, bit for bit.
    again, again_weights, _ = _training(make, make_opt, data, tier=True)
    assert again == losses
    for got, want in zip(again_weights, weights, strict=True):
        np.testing.assert_array_equal(got, want)
