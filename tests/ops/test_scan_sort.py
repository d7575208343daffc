"""Edge cases of prod, the scans, sorting and the truth reductions: result dtypes,
ties, zeros, empty and 0-d tensors, and errors."""

from __future__ import annotations

import numpy as np
import pytest

import shenjing as sj
from tests.torch_parity import assert_same

torch = pytest.importorskip("torch")


@pytest.mark.parametrize("data", [[1, 2, 3], [True, True, False]])
def test_integer_and_boolean_products_and_sums_are_int64(data) -> None:
    assert_same(sj.prod(sj.tensor(data)), torch.prod(torch.tensor(data)))
    assert_same(sj.cumsum(sj.tensor(data), 0), torch.cumsum(torch.tensor(data), 0))
    assert_same(sj.cumprod(sj.tensor(data), 0), torch.cumprod(torch.tensor(data), 0))


def test_dtype_argument_overrides() -> None:
    assert sj.cumsum(sj.tensor([1, 2]), 0, dtype="float64").dtype == np.float64
    assert sj.prod(sj.tensor([1.0, 2.0]), dtype="float64").dtype == np.float64


def test_prod_gradient_with_two_zeros_is_zero_like_torch() -> None:
    data = [[0.0, 2.0, 0.0], [1.0, 2.0, 3.0]]
    x, t = sj.tensor(data, requires_grad=True), torch.tensor(data, requires_grad=True)
    sj.prod(x, 1).sum().backward()
    torch.prod(t, 1).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), t.grad.numpy())


def test_prod_takes_one_dim_only() -> None:
    with pytest.raises(TypeError, match="prod"):
        sj.prod(sj.ones(2, 2), (0, 1))


def test_scans_of_0d_and_empty_tensors() -> None:
    assert sj.cumsum(sj.tensor(3.0), 0).shape == ()
    assert sj.cumsum(sj.zeros(0, 2), 0).shape == (0, 2)
    assert sj.logcumsumexp(sj.tensor(1.5), -1).item() == 1.5
    values, indices = sj.cummax(sj.tensor(2.0), 0)
    assert values.shape == indices.shape == ()


def test_scans_check_dim() -> None:
    with pytest.raises(ValueError, match="cumsum: axis 2"):
        sj.cumsum(sj.ones(2, 2), 2)


@pytest.mark.parametrize("name", ["cummax", "cummin"])
def test_cummax_indices_pick_the_latest_tie_like_torch(name: str) -> None:
    data = [1.0, 1.0, 3.0, 2.0, 3.0, 0.0, 0.0]
    ours, theirs = getattr(sj, name)(sj.tensor(data), 0), getattr(torch, name)(
        torch.tensor(data), 0)
    assert_same(ours.values, theirs.values)
    assert_same(ours.indices, theirs.indices)


def test_logcumsumexp_is_stable_for_large_and_spread_values() -> None:
    data = np.array([1000.0, -1000.0, 1000.0, 0.0])
    x = sj.tensor(data, dtype="float64", requires_grad=True)
    t = torch.tensor(data, requires_grad=True)
    y, ty = sj.logcumsumexp(x, 0), torch.logcumsumexp(t, 0)
    np.testing.assert_allclose(y.numpy(), ty.detach().numpy(), rtol=1e-6)
    weights = [1.0, -2.0, 0.5, 3.0]
    (y * sj.tensor(weights, dtype="float64")).sum().backward()
    (ty * torch.tensor(weights)).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), t.grad.numpy(), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("descending", [False, True])
def test_sort_is_stable_on_ties_like_torchs_stable_sort(descending: bool) -> None:
    data = [[2.0, 1.0, 2.0, 1.0, float("nan"), 0.0]]
    ours = sj.sort(sj.tensor(data), descending=descending)
    theirs = torch.sort(torch.tensor(data), descending=descending, stable=True)
    np.testing.assert_array_equal(ours.values.numpy(), theirs.values.numpy())
    assert_same(ours.indices, theirs.indices)
    assert_same(sj.argsort(sj.tensor(data), descending=descending),
          torch.argsort(torch.tensor(data), descending=descending, stable=True))


def test_sort_of_integers_and_0d() -> None:
    values, indices = sj.sort(sj.tensor([3, 1, 2]))
    assert values.dtype == np.int64 and values.tolist() == [1, 2, 3]
    values, indices = sj.sort(sj.tensor(5.0))
    assert values.shape == indices.shape == () and indices.item() == 0


def test_topk_checks_k_and_handles_0d() -> None:
    with pytest.raises(ValueError, match="topk: k must be in \\[0, 3\\]"):
        sj.topk(sj.ones(3), 4)
    assert sj.topk(sj.ones(3), 0).values.shape == (0,)
    assert sj.topk(sj.tensor(2.0), 1).values.shape == ()


def test_median_without_dim_is_the_lower_median_and_shares_ties() -> None:
    data = [1.0, 2.0, 2.0, 3.0]
    x, t = sj.tensor(data, requires_grad=True), torch.tensor(data, requires_grad=True)
    assert_same(sj.median(x), torch.median(t))
    sj.median(x).backward()
    torch.median(t).backward()
    np.testing.assert_array_equal(x.grad.numpy(), t.grad.numpy())


def test_median_with_dim_keeps_dim_and_returns_named_pair() -> None:
    data = np.array([[1.0, 3.0, 3.0, 2.0], [4.0, 0.0, -1.0, 5.0]])
    ours = sj.median(sj.tensor(data), dim=1, keepdim=True)
    theirs = torch.median(torch.tensor(data).float(), dim=1, keepdim=True)
    assert_same(ours.values, theirs.values)
    assert_same(ours.indices, theirs.indices)
    with pytest.raises(ValueError, match="median"):
        sj.median(sj.zeros(0))


def test_mode_picks_the_smallest_most_frequent_and_its_last_position() -> None:
    data = np.array([[1.0, 3.0, 3.0, 2.0, 2.0], [5.0, 5.0, 4.0, 4.0, 5.0]])
    ours, theirs = sj.mode(sj.tensor(data)), torch.mode(torch.tensor(data).float())
    assert_same(ours.values, theirs.values)
    assert_same(ours.indices, theirs.indices)


def test_all_any_and_count_nonzero() -> None:
    data = np.array([[1.0, 0.0, 2.0], [3.0, 4.0, 5.0]])
    x, t = sj.tensor(data), torch.tensor(data)
    assert_same(sj.all(x), torch.all(t))
    assert_same(sj.all(x, dim=1), torch.all(t, dim=1))
    assert_same(sj.any(x, dim=0, keepdim=True), torch.any(t, dim=0, keepdim=True))
    assert_same(sj.count_nonzero(x), torch.count_nonzero(t))
    assert_same(sj.count_nonzero(x, dim=(0, 1)), torch.count_nonzero(t, dim=(0, 1)))
    assert sj.all(sj.zeros(0)).item() is True and sj.any(sj.zeros(0)).item() is False
    assert x.all().dtype == np.bool_


@pytest.mark.parametrize(("k", "dim", "largest"), [(3, -1, True), (3, 0, False), (1, 1, True),
                                                   (7, 1, False), (10, 1, True)])
def test_topk_through_a_partition_matches_torch(k: int, dim: int, largest: bool) -> None:
    data = np.random.default_rng(k).permutation(80).reshape(8, 10).astype(np.float32)
    ours = sj.topk(sj.tensor(data), k, dim=dim, largest=largest)
    theirs = torch.topk(torch.tensor(data), k, dim=dim, largest=largest)
    assert_same(ours.values, theirs.values)
    assert_same(ours.indices, theirs.indices)
