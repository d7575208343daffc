"""The CPU kernel tier's ops against their NumPy reference: the fused LSTM and GRU steps
and softmax with cross-entropy, forward and backward, equal to float32 rounding,
gradchecked in float64 and deterministic from run to run."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest

import shenjing as sj
from shenjing import kernels

pytestmark = pytest.mark.skipif(not kernels.available(), reason="needs Numba (shenjing[fast])")

N, T, FEATURES, H = 3, 5, 4, 6


def _recurrent_inputs(kind: str, dtype: str, batch_first: bool, bias: bool,
                      seed: int = 0) -> list[sj.Tensor | None]:
    gates = {"lstm": 4, "gru": 3}[kind]
    rng = np.random.default_rng(seed)
    shape = (N, T, FEATURES) if batch_first else (T, N, FEATURES)

    def t(*s: int) -> sj.Tensor:
        return sj.tensor(rng.uniform(-1, 1, s), dtype=dtype, requires_grad=True)

    states = [t(N, H)] + ([t(N, H)] if kind == "lstm" else [])
    weights = [t(gates * H, FEATURES), t(gates * H, H)]
    biases = [t(gates * H), t(gates * H)] if bias else [None, None]
    return [t(*shape), *states, *weights, *biases]


def _run(kind: str, inputs: list, batch_first: bool, reverse: bool) -> list[np.ndarray]:
    """Forward, then backward of a weighted sum; the output and every gradient."""
    for x in inputs:
        if x is not None:
            x.grad = None
    op = {"lstm": sj.lstm, "gru": sj.gru}[kind]
    y = op(*inputs, batch_first=batch_first, reverse=reverse)
    weights = np.random.default_rng(1).uniform(0.5, 1.5, y.shape)
    (y * sj.tensor(weights, dtype=y.dtype)).sum().backward()
    return [y.numpy()] + [x.grad.numpy() for x in inputs if x is not None]


def _both(fn: Callable[[], list[np.ndarray]]) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """``fn`` with the tier on (checking that a kernel ran) and off."""
    before = kernels.calls()
    with kernels.use(True):
        on = fn()
    assert kernels.calls() > before, "the kernel tier was not used"
    with kernels.use(False):
        off = fn()
    return on, off


RECURRENT = [
    pytest.param(kind, batch_first, reverse, bias,
                 id=f"{kind}-{'bf' if batch_first else 'tm'}-{'rev' if reverse else 'fwd'}"
                    f"-{'bias' if bias else 'nobias'}")
    for kind in ("lstm", "gru")
    for batch_first, reverse, bias in [(True, False, True), (False, True, True),
                                       (True, True, False)]
]


@pytest.mark.parametrize(("kind", "batch_first", "reverse", "bias"), RECURRENT)
def test_recurrent_kernel_matches_numpy_in_float32(kind: str, batch_first: bool,
                                                   reverse: bool, bias: bool) -> None:
    inputs = _recurrent_inputs(kind, "float32", batch_first, bias)
    on, off = _both(lambda: _run(kind, inputs, batch_first, reverse))
    for got, expected in zip(on, off, strict=True):
        assert got.dtype == np.float32
        np.testing.assert_allclose(got, expected, rtol=2e-5, atol=2e-6)


@pytest.mark.parametrize(("kind", "batch_first", "reverse", "bias"), RECURRENT)
def test_recurrent_kernel_gradcheck_float64(kind: str, batch_first: bool, reverse: bool,
                                            bias: bool) -> None:
    inputs = [x for x in _recurrent_inputs(kind, "float64", batch_first, bias) if x is not None]
    op = {"lstm": sj.lstm, "gru": sj.gru}[kind]
    states = 2 if kind == "lstm" else 1

    def fn(*xs: sj.Tensor) -> sj.Tensor:
        x, rest = xs[0], list(xs[1:])
        args = [x, *rest[:states], *rest[states:]]
        return op(*args, batch_first=batch_first, reverse=reverse)

    with kernels.use(True):
        assert sj.gradcheck(fn, inputs)
    on, off = _both(lambda: _run(kind, _recurrent_inputs(kind, "float64", batch_first, bias),
                                 batch_first, reverse))
    for got, expected in zip(on, off, strict=True):
        np.testing.assert_allclose(got, expected, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("kind", ["lstm", "gru"])
def test_recurrent_kernel_is_deterministic(kind: str) -> None:
    inputs = _recurrent_inputs(kind, "float32", True, True)
    with kernels.use(True):
        first = _run(kind, inputs, True, False)
        second = _run(kind, inputs, True, False)
    for a, b in zip(first, second, strict=True):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("kind", ["lstm", "gru"])
def test_recurrent_kernel_only_last_state_read(kind: str) -> None:
    """A classifier reads h_T alone and h0 needs no gradient: the paths that skip work
    (zero output gradients, no last recurrent GEMM) agree too."""
    x = sj.tensor(np.random.default_rng(2).uniform(-1, 1, (N, T, FEATURES)), requires_grad=True)
    layer_cls = {"lstm": sj.nn.LSTM, "gru": sj.nn.GRU}[kind]

    def run() -> list[np.ndarray]:
        sj.manual_seed(0)
        layer = layer_cls(FEATURES, H, batch_first=True)
        x.grad = None
        out, _ = layer(x)
        out[:, -1].sum().backward()
        return [out.numpy(), x.grad.numpy()] + [p.grad.numpy() for p in layer.parameters()]

    on, off = _both(run)
    for got, expected in zip(on, off, strict=True):
        np.testing.assert_allclose(got, expected, rtol=2e-5, atol=2e-6)


def test_tanh32_is_within_a_few_ulp_and_keeps_nan() -> None:
    from shenjing.ops._numba_math import tanh32

    def apply(x: np.ndarray) -> np.ndarray:
        return np.array([tanh32(v) for v in x], dtype=np.float32)

    x = np.concatenate([np.linspace(-12, 12, 4001, dtype=np.float32),
                        np.geomspace(1e-7, 1, 200).astype(np.float32)])
    got = apply(x)
    exact = np.tanh(x.astype(np.float64))
    ulp = np.spacing(np.abs(exact).astype(np.float32)).astype(np.float64)
    assert np.max(np.abs(got - exact) / ulp) <= 6
    assert np.all(np.abs(got) <= 1)
    special = apply(np.array([np.nan, np.inf, -np.inf, 0.0], dtype=np.float32))
    assert np.isnan(special[0]) and special[1] == 1 and special[2] == -1 and special[3] == 0


CE_CASES = [
    pytest.param(shape, reduction, smoothing, id=f"{'x'.join(map(str, shape))}-{reduction}-ls{smoothing}")
    for shape, reduction, smoothing in [((8, 10), "mean", 0.0), ((8, 10), "sum", 0.1),
                                        ((8, 10), "none", 0.0), ((10,), "mean", 0.2),
                                        ((4, 5, 3), "none", 0.1), ((4, 5, 3), "mean", 0.0)]
]


def _cross_entropy(shape: tuple[int, ...], reduction: str, smoothing: float,
                   dtype: str) -> list[np.ndarray]:
    rng = np.random.default_rng(3)
    z = sj.tensor(rng.normal(0, 3, shape), dtype=dtype, requires_grad=True)
    label_shape = () if len(shape) == 1 else (shape[0], *shape[2:])
    y = sj.tensor(rng.integers(0, shape[1 if len(shape) > 1 else 0], label_shape))
    loss = sj.cross_entropy(z, y, reduction=reduction, label_smoothing=smoothing)
    weights = rng.uniform(0.5, 1.5, loss.shape)
    (loss * sj.tensor(weights, dtype=dtype)).sum().backward()
    return [loss.numpy(), z.grad.numpy()]


@pytest.mark.parametrize(("shape", "reduction", "smoothing"), CE_CASES)
def test_softmax_cross_entropy_kernel_matches_numpy(shape: tuple[int, ...], reduction: str,
                                                    smoothing: float) -> None:
    for dtype, tolerance in (("float32", 2e-6), ("float64", 1e-13)):
        on, off = _both(lambda d=dtype: _cross_entropy(shape, reduction, smoothing, d))
        for got, expected in zip(on, off, strict=True):
            assert got.dtype == np.dtype(dtype)
            np.testing.assert_allclose(got, expected, rtol=tolerance, atol=tolerance)
        with kernels.use(True):
            again = _cross_entropy(shape, reduction, smoothing, dtype)
        for got, repeat in zip(on, again, strict=True):
            np.testing.assert_array_equal(got, repeat)


def test_softmax_cross_entropy_kernel_gradcheck_and_extremes() -> None:
    rng = np.random.default_rng(4)
    z = sj.tensor(rng.normal(0, 2, (6, 7)), dtype="float64", requires_grad=True)
    y = sj.tensor(rng.integers(0, 7, 6))
    with kernels.use(True):
        assert sj.gradcheck(lambda s: sj.cross_entropy(s, y, label_smoothing=0.1), [z])
    # -inf scores are classes with probability 0; NaN propagates, as on NumPy.
    scores = np.array([[-np.inf, 1.0, 2.0], [np.nan, 0.0, 0.0]], dtype=np.float32)
    labels = sj.tensor(np.array([2, 1]))
    got, expected = _both(lambda: [sj.cross_entropy(sj.tensor(scores), labels,
                                                    reduction="none").numpy()])
    np.testing.assert_allclose(got[0], expected[0], rtol=1e-6)
    assert np.isfinite(got[0][0]) and np.isnan(got[0][1])
