"""sj.compile's fused convolution + bias + ReLU + 2x2 max pooling
(shenjing/graph/fusion_pool.py, kernels in ops/_numba_pool.py) against the NumPy plan's
ops, forward and backward, and the blocks it leaves alone."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

import shenjing as sj
import shenjing.nn.functional as F
from shenjing import kernels
from shenjing.graph import fusion
from shenjing.graph.fusion_pool import ConvReluMaxPool
from shenjing.ops import _numba_pool
from shenjing.ops.activation import ReLU
from shenjing.ops.conv import Convolution
from shenjing.ops.pool import MaxPool

pytestmark = pytest.mark.skipif(not kernels.available(), reason="the kernel tier needs Numba")

TOLERANCE = {"float32": {"rtol": 2e-5, "atol": 2e-5}, "float64": {"rtol": 1e-12, "atol": 1e-12}}


@pytest.fixture(autouse=True)
def _fuse_small_chains(monkeypatch: pytest.MonkeyPatch) -> None:
    """The tests' small arrays fuse too (by default, below MIN_ELEMENTS they do not)."""
    monkeypatch.setattr(fusion, "MIN_ELEMENTS", 0)


def _step(x_shape: tuple[int, ...], dtype: str, pool: dict, padding: int = 1,
          bias: bool = True) -> Any:
    """A compiled step conv2d (3x3) -> ReLU -> max_pool2d -> a weighted sum, returning
    the pooled output; the input, weight and bias are captured for their gradients."""
    rng = np.random.default_rng(0)
    # Values rounded to quarters: ties inside windows test the first-maximum rule.
    x = sj.tensor(np.round(4 * rng.standard_normal(x_shape)) / 4, dtype=dtype,
                  requires_grad=True)
    w = sj.tensor(np.round(4 * rng.standard_normal((5, x_shape[1], 3, 3))) / 4, dtype=dtype,
                  requires_grad=True)
    b = sj.tensor(rng.standard_normal(5), dtype=dtype, requires_grad=True) if bias else None

    @sj.compile
    def step() -> Any:
        h = F.max_pool2d(F.relu(F.conv2d(x, w, b, padding=padding)), **pool)
        weights = sj.tensor(np.linspace(-1, 1, h.numel()).reshape(h.shape), dtype=dtype)
        (h * weights).sum().backward()
        return h

    return step, [x, w, b] if bias else [x, w]


def _run(x_shape: tuple[int, ...], dtype: str, pool: dict, tier: bool,
         padding: int = 1, bias: bool = True) -> tuple[list[np.ndarray], list[str]]:
    with kernels.use(tier):
        step, captured = _step(x_shape, dtype, pool, padding, bias)
        for _ in range(2):  # the second call replays the plan
            for t in captured:
                t.grad = None
            out = step()
        (trace,) = step._traces.values()
        return [out.numpy(), *(t.grad.numpy() for t in captured)], [
            op.type for op in trace.plan.ops]


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize(("x_shape", "bias"), [((16, 2, 8, 6), True), ((3, 1, 9, 7), True),
                                               ((16, 2, 6, 6), False)],
                         ids=["direct", "odd-im2col", "no-bias"])
def test_conv_relu_pool_fuses_and_equals_the_numpy_ops(x_shape: tuple, bias: bool,
                                                       dtype: str) -> None:
    pool = {"kernel_size": 2}
    before = _numba_pool._bias_relu_max2_forward.calls, _numba_pool._relu_max2_backward.calls
    fused, types = _run(x_shape, dtype, pool, tier=True, bias=bias)
    after = _numba_pool._bias_relu_max2_forward.calls, _numba_pool._relu_max2_backward.calls
    plain, plain_types = _run(x_shape, dtype, pool, tier=False, bias=bias)
    assert types[0] == "FusedConvPool" and "MaxPool" not in types
    assert all(b > a for a, b in zip(before, after, strict=True)), "a kernel did not run"
    assert "MaxPool" in plain_types
    for got, want in zip(fused, plain, strict=True):
        assert got.dtype == want.dtype == np.dtype(dtype)
        np.testing.assert_allclose(got, want, **TOLERANCE[dtype])
    np.testing.assert_array_equal(fused[0], plain[0])  # max and ReLU commute exactly


@pytest.mark.parametrize("pool", [{"kernel_size": 3}, {"kernel_size": 2, "padding": 1},
                                  {"kernel_size": 2, "stride": 1}],
                         ids=["3x3", "padded", "overlapping"])
def test_other_poolings_stay_a_chain_and_a_pool(pool: dict) -> None:
    fused, types = _run((16, 2, 8, 6), "float64", pool, tier=True)
    plain, _ = _run((16, 2, 8, 6), "float64", pool, tier=False)
    assert "FusedConvPool" not in types and "MaxPool" in types
    for got, want in zip(fused, plain, strict=True):
        np.testing.assert_allclose(got, want, **TOLERANCE["float64"])


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_the_fused_function_equals_its_three_ops_bit_for_bit(dtype: type) -> None:
    # The same producer both ways (Convolution, tier off), so every array but the bias
    # gradient (another summation order) is the same bit for bit; NaN and -inf included.
    rng = np.random.default_rng(1)
    x = np.round(2 * rng.standard_normal((4, 3, 7, 6))).astype(dtype) / 2
    x[0, 0, 2, 2], x[1, 2, 4, 1] = np.nan, -np.inf
    w = rng.standard_normal((4, 3, 3, 3)).astype(dtype)
    b = rng.standard_normal(4).astype(dtype)
    params = {"stride": (1, 1), "padding": ((1, 1), (1, 1)), "dilation": (1, 1),
              "groups": 1}
    pool = {"kernel": (2, 2), "stride": (2, 2), "padding": ((0, 0), (0, 0)),
            "dilation": (1, 1)}
    with kernels.use(False), np.errstate(invalid="ignore"):  # NaN and inf: on purpose
        conv, relu, max_pool = Convolution(), ReLU(), MaxPool()
        conv.needs_input_grad, relu.needs_input_grad = (True, True, True), (True,)
        max_pool.needs_input_grad = (True,)
        want = max_pool.forward(relu.forward(conv.forward(x, w, b, **params)), **pool)
        gy = rng.standard_normal(want.shape).astype(dtype)
        want_grads = conv.backward(relu.backward(max_pool.backward(gy)))
        fused = ConvReluMaxPool(Convolution(), params)
        fused.needs_input_grad = (True, True, True)
        with kernels.use(True):
            got = fused.forward(x, w, b)
            got_grads = fused.backward(gy)
    np.testing.assert_array_equal(got, want)
    for g, wg in zip(got_grads[:2], want_grads[:2], strict=True):
        np.testing.assert_array_equal(g, wg)
    np.testing.assert_allclose(got_grads[2], want_grads[2], rtol=1e-5 if dtype == np.float32
                               else 1e-12)
