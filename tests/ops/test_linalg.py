"""matmul and linear beyond the op table: error messages, skipped gradients, closed forms."""

from __future__ import annotations

import numpy as np
import pytest

import shenjing as sj


@pytest.mark.parametrize(
    ("a", "b", "message"),
    [
        ((2, 3), (4, 5), r"matmul: shapes \(2, 3\) and \(4, 5\) are not aligned: 3 .* != 4"),
        ((3,), (4,), r"matmul: shapes \(3,\) and \(4,\) are not aligned"),
        ((2, 5, 3), (4,), r"matmul: shapes \(2, 5, 3\) and \(4,\) are not aligned"),
        ((2, 3, 4), (3, 4, 5), r"matmul: the batch axes of shapes \(2, 3, 4\) and \(3, 4, 5\)"),
        ((), (3,), r"matmul: 0-d operands .*shapes \(\) and \(3,\)"),
    ],
)
def test_matmul_errors_name_both_shapes(a, b, message) -> None:
    with pytest.raises(ValueError, match=message):
        sj.zeros(*a) @ sj.zeros(*b)


def test_matmul_skips_the_gradient_of_a_constant_operand() -> None:
    a = sj.randn(3, 4, requires_grad=True)
    b = sj.randn(4, 2)
    (a @ b).sum().backward()
    assert b.grad is None
    np.testing.assert_allclose(a.grad.numpy(), np.broadcast_to(b.numpy().sum(axis=1), (3, 4)),
                               rtol=1e-6)


def test_matmul_of_a_batch_with_a_shared_matrix_sums_over_the_batch() -> None:
    rng = np.random.default_rng(0)
    a_data, b_data = rng.normal(size=(5, 3, 4)), rng.normal(size=(4, 2))
    a = sj.tensor(a_data, dtype="float64")
    b = sj.tensor(b_data, dtype="float64", requires_grad=True)
    (a @ b).sum().backward()
    # d/dB of Σ (A_n B) = Σ_n A_nᵀ 1
    expected = sum(a_n.T @ np.ones((3, 2)) for a_n in a_data)
    np.testing.assert_allclose(b.grad.numpy(), expected)


def test_linear_errors_name_the_shapes() -> None:
    with pytest.raises(ValueError, match=r"linear: .*x shape=\(2, 3\), weight shape=\(5, 4\)"):
        sj.linear(sj.zeros(2, 3), sj.zeros(5, 4))
    with pytest.raises(ValueError, match=r"linear: .*weight shape=\(4,\)"):
        sj.linear(sj.zeros(2, 4), sj.zeros(4))
    with pytest.raises(ValueError, match=r"linear: bias .*\(5,\).*bias shape=\(4,\)"):
        sj.linear(sj.zeros(2, 4), sj.zeros(5, 4), sj.zeros(4))


def test_linear_sum_has_closed_form_gradients() -> None:
    rng = np.random.default_rng(1)
    x_data, w_data = rng.normal(size=(2, 6, 3)), rng.normal(size=(4, 3))
    x = sj.tensor(x_data, dtype="float64", requires_grad=True)
    w = sj.tensor(w_data, dtype="float64", requires_grad=True)
    b = sj.tensor(rng.normal(size=4), dtype="float64", requires_grad=True)
    sj.linear(x, w, b).sum().backward()
    # y = Σ_{n,o} (x_n · w_o + b_o): gx_n = Σ_o w_o, gw_o = Σ_n x_n, gb_o = N
    np.testing.assert_allclose(x.grad.numpy(), np.broadcast_to(w_data.sum(axis=0), x.shape))
    np.testing.assert_allclose(w.grad.numpy(), np.broadcast_to(x_data.sum(axis=(0, 1)), (4, 3)))
    np.testing.assert_allclose(b.grad.numpy(), np.full(4, 12.0))


def test_linear_computes_only_the_gradients_needed() -> None:
    x = sj.randn(5, 3)
    w = sj.randn(4, 3, requires_grad=True)
    b = sj.zeros(4)
    y = sj.linear(x, w, b)
    assert y.grad_fn.needs_input_grad == (False, True, False)
    y.sum().backward()
    assert x.grad is None and b.grad is None and w.grad is not None


def test_linear_keeps_float32_and_leaves_the_bias_alone() -> None:
    x, w, b = sj.randn(5, 3), sj.randn(4, 3), sj.ones(4)
    y = sj.linear(x, w, b)
    assert y.dtype == np.float32
    np.testing.assert_array_equal(b.numpy(), np.ones(4, np.float32))
    np.testing.assert_allclose(y.numpy(), x.numpy() @ w.numpy().T + 1.0, rtol=1e-5, atol=1e-6)


def test_linear_records_nothing_under_no_grad() -> None:
    w = sj.randn(4, 3, requires_grad=True)
    with sj.no_grad():
        y = sj.linear(sj.randn(2, 3), w)
    assert y.grad_fn is None and not y.requires_grad


@pytest.mark.parametrize(
    ("op", "shapes"),
    [("mm", ((3, 4), (4,))), ("bmm", ((2, 3, 4), (3, 4, 5))), ("bmm", ((3, 4), (4, 5))),
     ("dot", ((3,), (3, 1))), ("mv", ((3, 4), (4, 1))), ("outer", ((3, 1), (4,)))],
    ids=["mm-vector", "bmm-batch-sizes", "bmm-matrices", "dot-matrix", "mv-matrix",
         "outer-matrix"],
)
def test_fixed_rank_products_refuse_other_ranks_as_torch(op: str, shapes: tuple) -> None:
    with pytest.raises(ValueError, match=op):
        getattr(sj, op)(*(sj.zeros(*s) for s in shapes))
