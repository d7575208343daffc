"""``nn.init.trunc_normal_`` and ``orthogonal_``: closed-form moments and orthogonality."""

from __future__ import annotations

import math

import numpy as np
import pytest

import shenjing as sj
import shenjing.nn as nn


def _phi(z: float) -> float:
    return math.exp(-z * z / 2) / math.sqrt(2 * math.pi)


def _cdf(z: float) -> float:
    return 0.5 * (1 + math.erf(z / math.sqrt(2)))


@pytest.mark.parametrize(("mean", "std", "a", "b"), [(0.0, 1.0, -2.0, 2.0),
                                                     (0.5, 1.0, -1.0, 3.0),
                                                     (0.0, 0.02, -0.04, 0.04)])
def test_trunc_normal_stays_in_bounds_with_the_truncated_moments(mean: float, std: float,
                                                                 a: float, b: float) -> None:
    sj.manual_seed(0)
    w = nn.init.trunc_normal_(sj.empty(400, 500), mean=mean, std=std, a=a, b=b)
    x = w.numpy()
    assert x.dtype == np.float32 and x.min() >= a and x.max() <= b
    al, be = (a - mean) / std, (b - mean) / std
    z = _cdf(be) - _cdf(al)
    mu = mean + std * (_phi(al) - _phi(be)) / z
    var = std**2 * (1 + (al * _phi(al) - be * _phi(be)) / z - ((_phi(al) - _phi(be)) / z) ** 2)
    # 200k draws: the sample mean is within 5 standard errors
    assert abs(x.mean() - mu) < 5 * math.sqrt(var / x.size)
    assert abs(x.var() - var) < 0.02 * var


@pytest.mark.parametrize("shape", [(3, 5), (5, 3), (6, 2, 2), (4, 4)])
def test_orthogonal_gives_orthonormal_rows_or_columns_times_gain(shape: tuple) -> None:
    sj.manual_seed(1)
    w = nn.init.orthogonal_(sj.empty(*shape), gain=1.5).numpy().reshape(shape[0], -1)
    rows, cols = w.shape
    gram = w @ w.T if rows <= cols else w.T @ w
    np.testing.assert_allclose(gram, 1.5**2 * np.eye(min(rows, cols)), atol=1e-5)


def test_the_new_inits_refuse_bad_arguments() -> None:
    with pytest.raises(ValueError, match="orthogonal_.*2 or more"):
        nn.init.orthogonal_(sj.empty(4))
    with pytest.raises(ValueError, match="trunc_normal_"):
        nn.init.trunc_normal_(sj.empty(4), a=1.0, b=-1.0)
