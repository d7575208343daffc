"""The tensor names published PyTorch programs reach for (issue 20), beyond the op
table: multinomial's distribution, the new_* factories, t(), is_cuda, view(dtype),
sum(dtype=), all/any(dim), scatter(reduce=) against PyTorch, and their errors."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest

import shenjing as sj

torch = pytest.importorskip("torch")


# ------------------------------------------------------------------ multinomial


def test_multinomial_with_replacement_follows_the_weights() -> None:
    sj.manual_seed(0)
    weights = np.array([[1.0, 2.0, 0.0, 5.0], [0.0, 0.0, 3.0, 1.0]])
    n = 40_000
    draws = sj.multinomial(sj.tensor(weights), n, replacement=True)
    assert draws.shape == (2, n) and draws.dtype == np.int64
    for row, w in zip(draws.numpy(), weights, strict=True):
        counts = np.bincount(row, minlength=4)
        expected = n * w / w.sum()
        assert counts[w == 0].sum() == 0, "a category of weight 0 was drawn"
        # Pearson's chi-squared over the categories of nonzero weight: 3 or 1 degrees of
        # freedom; 16.3 is the 0.999 quantile for 3 (10.8 for 1), so a correct sampler
        # fails this about once in a thousand seeds, and this seed is fixed.
        live = w > 0
        chi2 = (((counts[live] - expected[live]) ** 2) / expected[live]).sum()
        assert chi2 < 16.3


def test_multinomial_without_replacement_draws_each_index_once() -> None:
    sj.manual_seed(1)
    weights = sj.rand(50, 10) + 0.01
    draws = sj.multinomial(weights, 10).numpy()
    assert all(sorted(row) == list(range(10)) for row in draws)


def test_multinomial_without_replacement_first_draw_and_second_draw() -> None:
    # First draw ~ w / Σw; given a first draw i, the second ~ w_j / (Σw - w_i).
    sj.manual_seed(2)
    w = np.array([1.0, 2.0, 3.0])
    n = 30_000
    draws = sj.multinomial(sj.tensor(np.tile(w, (n, 1))), 2).numpy()
    first = np.bincount(draws[:, 0], minlength=3) / n
    np.testing.assert_allclose(first, w / w.sum(), atol=0.015)
    after_two = draws[draws[:, 0] == 2, 1]
    np.testing.assert_allclose(np.bincount(after_two, minlength=3)[:2] / len(after_two),
                               [1 / 3, 2 / 3], atol=0.02)


def test_multinomial_is_seeded_by_manual_seed_and_is_a_method() -> None:
    w = sj.tensor([0.1, 0.5, 0.4])
    sj.manual_seed(7)
    a = w.multinomial(20, replacement=True).numpy()
    sj.manual_seed(7)
    b = sj.multinomial(w, 20, True).numpy()
    np.testing.assert_array_equal(a, b)
    gen = np.random.default_rng(3)
    assert sj.multinomial(w, 3, generator=gen).shape == (3,)
    first = sj.multinomial(w, 5, True, generator=sj.Generator().manual_seed(4)).numpy()
    again = sj.multinomial(w, 5, True, generator=sj.Generator().manual_seed(4)).numpy()
    np.testing.assert_array_equal(first, again)


@pytest.mark.parametrize(("weights", "n", "replacement", "match"), [
    ([0.5, -0.1], 1, True, "non-negative"),
    ([0.0, 0.0], 1, True, "sum to 0"),
    ([1.0, math.nan], 1, True, "finite"),
    ([1.0, 0.0, 2.0], 3, False, "without replacement"),
    ([[[1.0]]], 1, True, "1-D or 2-D"),
    ([1.0, 2.0], 0, True, "positive"),
], ids=["negative", "zero-sum", "nan", "too-many", "3-D", "zero-samples"])
def test_multinomial_rejects_bad_input(weights, n, replacement, match) -> None:
    with pytest.raises(ValueError, match=match):
        sj.multinomial(sj.tensor(weights), n, replacement)


# ------------------------------------------------------------------ factories, t, view


def test_new_factories_take_the_tensor_dtype_and_pytorch_forms() -> None:
    x, tx = sj.zeros(2, dtype="float64"), torch.zeros(2, dtype=torch.float64)
    for name, args in [("new_zeros", (2, 3)), ("new_ones", ((2, 3),)), ("new_empty", (4,)),
                       ("new_full", ((2, 2), 7)), ("new_tensor", ([1, 2, 3],))]:
        ours, theirs = getattr(x, name)(*args), getattr(tx, name)(*args)
        assert ours.shape == tuple(theirs.shape) and ours.dtype == np.float64, name
        if name != "new_empty":
            np.testing.assert_array_equal(ours.numpy(), theirs.numpy())
    y = x.new_ones(3, dtype=sj.int64, requires_grad=False)
    assert y.dtype == np.int64 and not y.requires_grad
    assert x.new_zeros(2, requires_grad=True).requires_grad
    source = sj.tensor([1.0, 2.0], requires_grad=True)
    copy = x.new_tensor(source)
    assert copy.grad_fn is None and not copy.requires_grad


def test_t_transposes_matrices_and_keeps_vectors() -> None:
    m = sj.tensor(np.arange(6.0).reshape(2, 3))
    np.testing.assert_array_equal(m.t().numpy(), m.numpy().T)
    assert sj.tensor([1.0, 2.0]).t().shape == (2,)
    with pytest.raises(RuntimeError, match="<= 2 dims"):
        sj.zeros(2, 2, 2).t()


def test_is_cuda_is_false_on_the_cpu() -> None:
    assert sj.zeros(1).is_cuda is False


@pytest.mark.parametrize("pair", [("float32", "int32"), ("float32", "int16"),
                                  ("float32", "float64"), ("int64", "uint8"),
                                  ("float64", "float16"), ("uint8", "bool")])
def test_view_dtype_reinterprets_bits_as_pytorch(pair) -> None:
    src, dst = pair
    values = np.arange(1, 25, dtype=src).reshape(3, 8) % 2 if dst == "bool" else \
        np.linspace(-3, 5, 24).astype(src).reshape(3, 8)
    ours = sj.tensor(values, dtype=src).view(getattr(sj, dst))
    theirs = torch.tensor(values).view(getattr(torch, dst))
    assert ours.shape == tuple(theirs.shape)
    np.testing.assert_array_equal(ours.numpy(), theirs.numpy())


def test_view_dtype_shares_memory_and_rejects_what_pytorch_rejects() -> None:
    x = sj.zeros(2, 4)
    bits = x.view(sj.int32)
    x.array[0, 0] = 1.0
    assert bits.numpy()[0, 0] == np.float32(1.0).view(np.int32)
    with pytest.raises(RuntimeError, match="multiple of 8"):
        sj.zeros(2, 3).view(sj.float64)
    with pytest.raises(RuntimeError, match="0-d"):
        sj.tensor(1.0).view(sj.float64)


# ------------------------------------------------------------------ reductions, scatter


def test_sum_dtype_casts_first_as_pytorch() -> None:
    x = np.array([[1e8, 1.0, -1e8]], dtype=np.float32)
    ours = sj.tensor(x).sum(dtype=sj.float64)
    theirs = torch.tensor(x).sum(dtype=torch.float64)
    assert ours.dtype == np.float64 and ours.item() == theirs.item()
    b = sj.tensor([[True, False, True]])
    assert sj.sum(b, 1, dtype=sj.float32).dtype == np.float32


def test_sum_dtype_gradient_flows_back_in_the_input_dtype() -> None:
    x = sj.tensor([1.0, 2.0], requires_grad=True)
    (x.sum(dtype=sj.float64) * 3).backward()
    assert x.grad.dtype == np.float32
    np.testing.assert_array_equal(x.grad.numpy(), [3.0, 3.0])


@pytest.mark.parametrize(("dim", "keepdim"), [(None, False), (0, False), (1, True),
                                               ((0, 2), False)])
def test_all_any_with_dim_match_pytorch(dim, keepdim) -> None:
    x = (np.arange(24).reshape(2, 3, 4) % 5 != 0)
    for name in ("all", "any"):
        ours = getattr(sj.tensor(x), name)(dim=dim, keepdim=keepdim) if dim is not None \
            else getattr(sj.tensor(x), name)()
        theirs = getattr(torch.tensor(x), name)(dim=dim, keepdim=keepdim) \
            if dim is not None else getattr(torch.tensor(x), name)()
        np.testing.assert_array_equal(ours.numpy(), theirs.numpy())


@pytest.mark.parametrize("reduce", ["add", "multiply"])
def test_scatter_reduce_argument_matches_pytorch(reduce) -> None:
    rng = np.random.default_rng(0)
    x, src = rng.uniform(-2, 2, (3, 4)), rng.uniform(-2, 2, (2, 4))
    index = np.array([[0, 2, 1, 0], [2, 2, 0, 1]])
    ours = sj.scatter(sj.tensor(x), 0, sj.tensor(index), sj.tensor(src), reduce=reduce)
    with warnings.catch_warnings():  # PyTorch deprecates reduce= with a tensor src, once
        warnings.simplefilter("ignore", UserWarning)
        theirs = torch.tensor(x, dtype=torch.float32).scatter(
            0, torch.tensor(index), torch.tensor(src, dtype=torch.float32), reduce=reduce)
    np.testing.assert_allclose(ours.numpy(), theirs.numpy(), rtol=1e-6)
    ours_value = sj.tensor(x).scatter(1, sj.tensor(index), value=2.0, reduce=reduce)
    theirs_value = torch.tensor(x, dtype=torch.float32).scatter(
        1, torch.tensor(index), 2.0, reduce=reduce)
    np.testing.assert_allclose(ours_value.numpy(), theirs_value.numpy(), rtol=1e-6)
    with pytest.raises(ValueError, match="'add' or 'multiply'"):
        sj.scatter(sj.tensor(x), 0, sj.tensor(index), sj.tensor(src), reduce="max")


def test_norm_nuc_raises_and_dtype_casts() -> None:
    x = sj.tensor([[3.0, 4.0]])
    with pytest.raises(NotImplementedError, match="nuc"):
        sj.norm(x, p="nuc")
    assert sj.norm(sj.tensor([[3, 4]]), dtype=sj.float64).item() == 5.0
    with pytest.raises(TypeError, match="floating point"):
        sj.norm(sj.tensor([3, 4]))


def test_norm_of_zeros_has_zero_gradient_as_pytorch() -> None:
    for p in (2, 1, 3, math.inf):
        x = sj.zeros(3, dtype="float64", requires_grad=True)
        tx = torch.zeros(3, dtype=torch.float64, requires_grad=True)
        x.norm(p=p).backward()
        tx.norm(p=p).backward()
        np.testing.assert_array_equal(x.grad.numpy(), tx.grad.numpy())


def test_repeat_interleave_errors_name_the_op() -> None:
    with pytest.raises(ValueError, match="one count per slice"):
        sj.repeat_interleave(sj.zeros(3), sj.tensor([1, 2]))
    with pytest.raises(ValueError, match="negative"):
        sj.repeat_interleave(sj.zeros(2), sj.tensor([1, -1]))
    ours = sj.repeat_interleave(sj.tensor([2, 0, 1]))
    np.testing.assert_array_equal(ours.numpy(), torch.repeat_interleave(
        torch.tensor([2, 0, 1])).numpy())
