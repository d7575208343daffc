"""Activation tests beyond the op table: stability at extreme inputs, the erf fallback,
the step's zero gradient, PReLU's slopes, and the error messages."""

from __future__ import annotations

import math

import numpy as np
import pytest

import shenjing as sj
from shenjing.ops import _erf


def _grad_of_sum(fn, x: sj.Tensor, **kwargs) -> np.ndarray:
    """d(Σ w·fn(x))/dx for fixed weights w, so softmax's gradient is not trivially zero."""
    y = fn(x, **kwargs)
    weights = sj.tensor(np.linspace(0.5, 1.5, y.numel()).reshape(y.shape), dtype=x.dtype)
    (y * weights).sum().backward()
    return x.grad.numpy()


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_softmax_and_log_softmax_are_stable_at_1000(dtype: str) -> None:
    data = [[1000.0, -1000.0, 0.0], [1000.0, 1000.0, 1000.0], [-1000.0, -1000.0, -999.0]]
    x = sj.tensor(data, dtype=dtype, requires_grad=True)
    probs = sj.softmax(x).numpy()
    one_third, e = 1 / 3, math.e
    expected = [[1, 0, 0], [one_third] * 3, [1 / (2 + e), 1 / (2 + e), e / (2 + e)]]
    np.testing.assert_allclose(probs, expected, rtol=1e-6, atol=1e-30)
    assert np.isfinite(_grad_of_sum(sj.softmax, x)).all()

    x = sj.tensor(data, dtype=dtype, requires_grad=True)
    log_probs = sj.log_softmax(x).numpy()
    np.testing.assert_allclose(log_probs[0], [0.0, -2000.0, -1000.0], rtol=1e-6)
    np.testing.assert_allclose(log_probs[1], [-math.log(3)] * 3, rtol=1e-6)
    grad = _grad_of_sum(sj.log_softmax, x)
    assert np.isfinite(grad).all()
    # Row 0: softmax is (1, 0, 0) and the weights are w, so gx = w - (1, 0, 0)·Σw.
    w = np.linspace(0.5, 1.5, 9).reshape(3, 3)
    np.testing.assert_allclose(grad[0], w[0] - np.array([1, 0, 0]) * w[0].sum(), rtol=1e-6)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_sigmoid_is_stable_at_100(dtype: str) -> None:
    x = sj.tensor([-100.0, 100.0, -800.0, 800.0], dtype=dtype, requires_grad=True)
    y = sj.sigmoid(x)
    assert y.dtype == np.dtype(dtype)
    got = y.numpy()
    assert np.isfinite(got).all()
    # σ(-100) = e^-100 / (1 + e^-100) ≈ 3.7e-44: exact in float64; in float32 it is below
    # the normal range and may flush to 0, as PyTorch's float32 sigmoid gives.
    tolerance = {"float64": 0.0, "float32": np.finfo(np.float32).tiny}[dtype]
    np.testing.assert_allclose(got[0], math.exp(-100), rtol=1e-5, atol=tolerance)
    assert got[1] == 1.0 and got[2] == 0.0 and got[3] == 1.0
    y.sum().backward()
    grad = x.grad.numpy()
    assert np.isfinite(grad).all() and (grad >= 0).all()
    np.testing.assert_allclose(grad[0], math.exp(-100), rtol=1e-5, atol=tolerance)


def test_extreme_inputs_raise_no_overflow_warning() -> None:
    # filterwarnings=error turns any overflow warning into a failure here.
    x = sj.tensor([-1000.0, 1000.0], requires_grad=True)
    for fn in (sj.tanh, sj.elu, sj.softplus, sj.gelu, lambda t: sj.gelu(t, "tanh")):
        y = fn(x)
        assert np.isfinite(y.numpy()).all()
        y.sum().backward()
        assert np.isfinite(x.grad.numpy()).all()
        x.grad = None


def test_softplus_is_linear_above_the_threshold() -> None:
    x = sj.tensor([25.0, 10.5, 10.0, 1.0], dtype="float64", requires_grad=True)
    y = sj.softplus(x, beta=2.0, threshold=20.0)
    # 2·25 and 2·10.5 exceed 20: the input comes back as is, with gradient 1; 2·10 does not.
    np.testing.assert_array_equal(y.numpy()[:2], [25.0, 10.5])
    np.testing.assert_allclose(y.numpy()[2:], np.log1p(np.exp([20.0, 2.0])) / 2.0)
    assert y.numpy()[2] != 10.0
    y.sum().backward()
    sigma = 1 / (1 + np.exp(-np.array([20.0, 2.0])))
    np.testing.assert_allclose(x.grad.numpy(), [1.0, 1.0, *sigma])


def test_step_forward_and_zero_gradient() -> None:
    x = sj.tensor([-2.0, 0.0, 0.5, 3.0], requires_grad=True)
    y = sj.step(x)
    np.testing.assert_array_equal(y.numpy(), [0.0, 0.0, 1.0, 1.0])
    (y * 3.0).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), np.zeros(4))


def test_prelu_weight_gradient_per_channel() -> None:
    rng = np.random.default_rng(0)
    x_data = rng.normal(size=(4, 3, 5))
    x = sj.tensor(x_data, requires_grad=True)
    w = sj.tensor([0.1, 0.2, 0.3], requires_grad=True)
    sj.prelu(x, w).sum().backward()
    # dy/dw_c = x where x <= 0, summed over the batch and spatial axes of channel c.
    expected = np.where(x_data > 0, 0.0, x_data).sum(axis=(0, 2))
    np.testing.assert_allclose(w.grad.numpy(), expected, rtol=1e-5)
    assert w.grad.shape == (3,)


def test_prelu_rejects_a_weight_of_the_wrong_size() -> None:
    x, w = sj.zeros(2, 3), sj.zeros(4)
    with pytest.raises(ValueError, match=r"prelu: weight must have shape \(1,\) or \(3,\).*"
                                         r"\(2, 3\).*weight shape \(4,\)"):
        sj.prelu(x, w)


def test_erf_fallback_is_accurate() -> None:
    x = np.linspace(-7.0, 7.0, 20001)
    expected = np.array([math.erf(v) for v in x])
    np.testing.assert_allclose(_erf.erf_chebyshev(x), expected, rtol=0, atol=1e-14)
    got32 = _erf.erf_chebyshev(x.astype(np.float32))
    assert got32.dtype == np.float32
    np.testing.assert_allclose(got32, expected, rtol=0, atol=3e-7)


def test_gelu_without_scipy_matches_the_closed_form(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_erf, "_scipy_erf", lambda: None)
    x_data = np.linspace(-5.0, 5.0, 41)
    x = sj.tensor(x_data, dtype="float64", requires_grad=True)
    y = sj.gelu(x)
    cdf = np.array([0.5 * (1 + math.erf(v / math.sqrt(2))) for v in x_data])
    np.testing.assert_allclose(y.numpy(), x_data * cdf, rtol=1e-12, atol=1e-14)
    y.sum().backward()
    pdf = np.exp(-x_data**2 / 2) / math.sqrt(2 * math.pi)
    np.testing.assert_allclose(x.grad.numpy(), cdf + x_data * pdf, rtol=1e-12, atol=1e-14)


def test_tensor_methods_call_the_activations() -> None:
    x = sj.tensor([[-1.0, 0.5, 2.0], [0.3, -0.2, 0.1]])
    for method, fn in [("relu", sj.relu), ("sigmoid", sj.sigmoid), ("tanh", sj.tanh)]:
        np.testing.assert_array_equal(getattr(x, method)().numpy(), fn(x).numpy())
    np.testing.assert_array_equal(x.softmax(axis=0).numpy(), sj.softmax(x, axis=0).numpy())
    np.testing.assert_array_equal(x.log_softmax().numpy(), sj.log_softmax(x).numpy())


def test_errors_name_the_op_and_the_value() -> None:
    with pytest.raises(ValueError, match="gelu: approximate must be .* Received: 'erf'"):
        sj.gelu(sj.zeros(2), approximate="erf")
    with pytest.raises(ValueError, match="softmax: axis 2 is out of range .* rank 2"):
        sj.softmax(sj.zeros(2, 3), axis=2)
    with pytest.raises(TypeError, match="log_softmax: axis must be an integer"):
        sj.log_softmax(sj.zeros(2, 3), axis=(0, 1))
    with pytest.raises(TypeError, match="sigmoid expects a floating-point tensor.*int64"):
        sj.sigmoid(sj.tensor([1, 2]))
    with pytest.raises(ValueError, match="softplus: beta must be non-zero"):
        sj.softplus(sj.zeros(2), beta=0)
