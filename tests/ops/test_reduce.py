"""Reductions beyond the op table: axis errors, stability, ties, and gradient storage."""

from __future__ import annotations

import math

import numpy as np
import pytest

import shenjing as sj

REDUCTIONS = [sj.sum, sj.mean, sj.amax, sj.amin, sj.var, sj.std, sj.logsumexp]


@pytest.mark.parametrize("op", REDUCTIONS, ids=lambda op: op.__name__)
@pytest.mark.parametrize("axis", [2, -3, (0, 5)])
def test_out_of_range_axis_names_op_axis_and_rank(op, axis) -> None:
    bad = axis if isinstance(axis, int) else axis[1]
    with pytest.raises(ValueError, match=rf"{op.__name__}: axis {bad} .*rank 2"):
        op(sj.zeros(3, 4), axis=axis)


def test_repeated_axis_is_rejected() -> None:
    with pytest.raises(ValueError, match=r"sum: repeated axis"):
        sj.sum(sj.zeros(3, 4), axis=(1, -1))


def test_sum_gradient_is_a_writable_array_of_ones_that_accumulates() -> None:
    x = sj.randn(3, 4, requires_grad=True)
    x.sum().backward()
    x.sum(axis=0).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), np.full((3, 4), 2.0, np.float32))
    assert x.grad.numpy().flags.writeable
    assert x.grad.dtype == np.float32


def test_mean_and_var_keep_float32() -> None:
    x = sj.randn(5, 3, requires_grad=True)
    (x.mean() + x.var(axis=0, correction=1).sum()).backward()
    assert x.mean().dtype == np.float32
    assert x.grad.dtype == np.float32


def test_var_closed_form_gradient() -> None:
    data = np.array([1.0, 2.0, 4.0, 7.0])
    x = sj.tensor(data, dtype="float64", requires_grad=True)
    y = x.var(correction=1)
    y.backward()
    centered = data - data.mean()
    assert y.item() == pytest.approx((centered**2).sum() / 3)
    np.testing.assert_allclose(x.grad.numpy(), 2 * centered / 3)


@pytest.mark.parametrize("op", ["var", "std"])
def test_no_degrees_of_freedom_give_nan_or_inf_with_pytorchs_warning(op) -> None:
    with pytest.warns(UserWarning, match=rf"{op}\(\): degrees of freedom is <= 0"):
        single = getattr(sj, op)(sj.ones(1, 3), dim=0)  # unbiased by default: 0 / 0
    assert np.isnan(single.numpy()).all()
    with pytest.warns(UserWarning, match="degrees of freedom"):
        over = getattr(sj, op)(sj.tensor([1.0, 2.0]), correction=3)
    assert over.item() == math.inf
    with pytest.warns(UserWarning, match="degrees of freedom"):
        empty = getattr(sj, op)(sj.zeros(0))
    assert math.isnan(empty.item())


@pytest.mark.parametrize("big", [1000.0, -1000.0])
def test_logsumexp_is_finite_at_large_magnitudes(big) -> None:
    x = sj.tensor([[big, big, big - 1.0], [big, 0.0, -big]], dtype="float64",
                  requires_grad=True)
    y = sj.logsumexp(x, axis=1)
    y.sum().backward()
    row0 = big + math.log(2 + math.exp(-1.0))
    row1 = abs(big) + math.log1p(math.exp(-abs(big)) + math.exp(-2 * abs(big)))
    np.testing.assert_allclose(y.numpy(), [row0, row1], rtol=1e-12)
    # The gradient is softmax along the axis: finite, each row summing to one.
    assert np.isfinite(x.grad.numpy()).all()
    np.testing.assert_allclose(x.grad.numpy().sum(axis=1), [1.0, 1.0])


def test_logsumexp_float32_at_1000() -> None:
    y = sj.logsumexp(sj.tensor([1000.0, 1000.0]))
    assert y.dtype == np.float32
    assert y.item() == pytest.approx(1000.0 + math.log(2), rel=1e-6)


def test_logsumexp_ignores_minus_infinity_entries() -> None:
    x = sj.tensor([-np.inf, 0.0, 0.0], requires_grad=True)
    y = sj.logsumexp(x)
    y.backward()
    assert y.item() == pytest.approx(math.log(2))
    np.testing.assert_allclose(x.grad.numpy(), [0.0, 0.5, 0.5])


def test_max_ties_split_the_gradient() -> None:
    x = sj.tensor([[1.0, 3.0, 3.0, 2.0], [5.0, 5.0, 5.0, 0.0]], requires_grad=True)
    x.amax(axis=1).sum().backward()
    expected = np.array([[0, 0.5, 0.5, 0], [1 / 3, 1 / 3, 1 / 3, 0]], np.float32)
    np.testing.assert_allclose(x.grad.numpy(), expected, rtol=1e-6)


def test_min_ties_split_the_gradient_over_every_axis() -> None:
    x = sj.tensor([[1.0, 3.0], [1.0, 2.0]], requires_grad=True)
    (sj.min(x) * 4.0).backward()
    np.testing.assert_allclose(x.grad.numpy(), [[2.0, 0.0], [2.0, 0.0]])


@pytest.mark.torch
@pytest.mark.parametrize("op", ["amax", "amin"])
def test_ties_match_pytorch(op) -> None:
    torch = pytest.importorskip("torch")
    data = np.array([[[2.0, 2.0], [1.0, 2.0]], [[0.0, 0.0], [0.0, -1.0]]])
    x = sj.tensor(data, dtype="float64", requires_grad=True)
    t = torch.tensor(data, requires_grad=True)
    getattr(sj, op)(x, axis=(1, 2), keepdims=True).sum().backward()
    getattr(t, op)(dim=(1, 2), keepdim=True).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), t.grad.numpy())


def test_reducing_an_integer_tensor_keeps_numpy_semantics() -> None:
    x = sj.arange(6).reshape(2, 3)
    assert x.sum(axis=1).tolist() == [3, 12]
    assert x.max().item() == 5
