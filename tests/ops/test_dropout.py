"""Dropout: reproducible masks, inverted scaling, evaluation mode, and p's edge cases."""

from __future__ import annotations

import numpy as np
import pytest

import shenjing as sj


def test_same_seed_gives_the_same_mask() -> None:
    x = sj.ones(64, 32)
    sj.manual_seed(11)
    first = sj.dropout(x, p=0.3).numpy()
    sj.manual_seed(11)
    second = sj.dropout(x, p=0.3).numpy()
    np.testing.assert_array_equal(first, second)
    sj.manual_seed(12)
    assert not np.array_equal(first, sj.dropout(x, p=0.3).numpy())


@pytest.mark.parametrize("p", [0.1, 0.5, 0.8])
def test_kept_fraction_and_mean_on_a_large_tensor(p: float) -> None:
    sj.manual_seed(0)
    n = 1_000_000
    y = sj.dropout(sj.ones(n), p=p).numpy()
    kept = y != 0
    # The kept count is Binomial(n, 1 - p): 5 standard deviations is a safe margin.
    margin = 5 * np.sqrt(p * (1 - p) / n)
    assert abs(kept.mean() - (1 - p)) < margin
    np.testing.assert_allclose(y[kept], 1 / (1 - p), rtol=1e-6)
    assert abs(y.mean() - 1.0) < margin / (1 - p)


def test_gradient_is_the_same_mask_and_scale() -> None:
    sj.manual_seed(1)
    x = sj.tensor(np.linspace(1.0, 2.0, 200), requires_grad=True)
    y = sj.dropout(x, p=0.25)
    assert y.dtype == np.float32
    y.sum().backward()
    expected = np.where(y.numpy() != 0, 1 / 0.75, 0.0)
    np.testing.assert_allclose(x.grad.numpy(), expected, rtol=1e-6)


def test_identity_in_evaluation_and_at_p_zero() -> None:
    x = sj.randn(5, 4, requires_grad=True)
    assert sj.dropout(x, p=0.5, training=False) is x
    assert sj.dropout(x, p=0.0) is x


def test_p_one_drops_everything() -> None:
    x = sj.randn(5, 4, requires_grad=True)
    y = sj.dropout(x, p=1.0)
    np.testing.assert_array_equal(y.numpy(), np.zeros((5, 4)))
    y.sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), np.zeros((5, 4)))


@pytest.mark.parametrize("p", [-0.1, 1.5, "0.5", True])
def test_p_outside_zero_one_is_rejected(p) -> None:
    with pytest.raises(ValueError, match=r"dropout: p must be a probability in \[0, 1\]"):
        sj.dropout(sj.ones(3), p=p)
