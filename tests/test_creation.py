"""The creation functions PyTorch users reach for: torch's argument names, default
dtypes and values; random ones drawn from the one seeded generator."""

from __future__ import annotations

import numpy as np
import pytest

import shenjing as sj
from tests.torch_parity import assert_same

torch = pytest.importorskip("torch")


@pytest.mark.parametrize("args", [(5,), (2, 7), (1, 4, 2), (0.0, 1.0, 0.1), (1, 0, -0.3),
                                  (1, 2.5, 0.5), (-3, 3, 0.7), (5, 5)])
def test_arange_values_and_dtype_as_torch(args) -> None:
    assert_same(sj.arange(*args), torch.arange(*args))


def test_arange_refuses_steps_that_do_not_reach_the_end() -> None:
    with pytest.raises(ValueError, match="arange: step must be nonzero"):
        sj.arange(0, 1, 0)
    with pytest.raises(ValueError, match="arange: end 0 cannot be reached"):
        sj.arange(1, 0, 1)


def test_arange_dtype_and_requires_grad() -> None:
    x = sj.arange(3, dtype="float64", requires_grad=True)
    assert x.dtype == np.float64 and x.requires_grad


@pytest.mark.parametrize("args", [(0, 1, 5), (-2, 3, 1), (0, 1, 0), (3, -1, 4)])
def test_linspace_and_logspace_as_torch(args) -> None:
    assert_same(sj.linspace(*args), torch.linspace(*args))
    assert_same(sj.logspace(*args), torch.logspace(*args))
    assert_same(sj.logspace(*args, base=2.0), torch.logspace(*args, base=2.0))


@pytest.mark.parametrize("value", [3, 2.5, True])
def test_full_takes_its_dtype_from_the_value_as_torch(value) -> None:
    assert_same(sj.full((2, 3), value), torch.full((2, 3), value))
    assert_same(sj.full_like(sj.zeros(2), value), torch.full_like(torch.zeros(2), value))


def test_eye_and_the_like_functions() -> None:
    assert_same(sj.eye(3), torch.eye(3))
    assert_same(sj.eye(2, 4, dtype="float64"), torch.eye(2, 4, dtype=torch.float64))
    x = sj.zeros(2, 3, dtype="float64")
    for fn in (sj.zeros_like, sj.ones_like, sj.empty_like, sj.rand_like, sj.randn_like):
        y = fn(x)
        assert y.shape == (2, 3) and y.dtype == np.float64
    assert sj.empty(2, 3).shape == (2, 3) and sj.empty((4,), dtype="int64").dtype == np.int64
    assert sj.zeros_like(sj.tensor([1, 2])).dtype == np.int64


def test_randint_forms_range_and_dtype() -> None:
    sj.manual_seed(0)
    a = sj.randint(5, (1000,))
    b = sj.randint(-3, 3, (10, 10))
    c = sj.randint(2, 4, size=(6,))
    assert a.dtype == np.int64 and a.numpy().min() >= 0 and a.numpy().max() == 4
    assert b.numpy().min() == -3 and b.numpy().max() == 2 and b.shape == (10, 10)
    assert set(c.tolist()) <= {2, 3}
    with pytest.raises(ValueError, match="randint: high must exceed low"):
        sj.randint(3, 3, (2,))
    with pytest.raises(TypeError, match="randint"):
        sj.randint(5)


def test_randperm_is_a_permutation() -> None:
    p = sj.randperm(10)
    assert p.dtype == np.int64 and sorted(p.tolist()) == list(range(10))
    assert sj.randperm(0).shape == (0,)


def test_normal_with_numbers_and_with_tensors() -> None:
    sj.manual_seed(0)
    x = sj.normal(2.0, 0.5, (20000,))
    assert x.dtype == np.float32 and abs(x.numpy().mean() - 2.0) < 0.02
    assert abs(x.numpy().std() - 0.5) < 0.02
    y = sj.normal(sj.tensor([0.0, 100.0]), sj.tensor([[1e-6], [1e-6]]))
    assert y.shape == (2, 2) and np.allclose(y.numpy(), [[0, 100], [0, 100]], atol=1e-3)
    with pytest.raises(ValueError, match="normal: std must be non-negative"):
        sj.normal(0.0, -1.0, (2,))
    with pytest.raises(TypeError, match="normal: number mean and std need a size"):
        sj.normal(0.0, 1.0)


def test_random_creation_repeats_under_manual_seed() -> None:
    def draw() -> list:
        return [sj.randint(0, 100, (5,)).tolist(), sj.randperm(5).tolist(),
                sj.normal(0.0, 1.0, (3,)).tolist(), sj.rand_like(sj.zeros(2)).tolist(),
                sj.randn_like(sj.zeros(2)).tolist()]

    sj.manual_seed(7)
    first = draw()
    sj.manual_seed(7)
    assert draw() == first
