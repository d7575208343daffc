"""Shape ops beyond the op table: indexing gradients, split sizes, and error messages."""

from __future__ import annotations

import numpy as np
import pytest

import shenjing as sj


def _grad_of_getitem(shape, index, weights=None):
    """x.grad after backward of Σ w · x[index], with w given or all ones."""
    x = sj.zeros(*shape, dtype="float64", requires_grad=True)
    y = x[index]
    w = np.ones(y.shape) if weights is None else weights
    (y * sj.tensor(w, dtype="float64")).sum().backward()
    return x.grad.numpy()


@pytest.mark.parametrize(
    "index",
    [[0, 0, 3, 0], np.array([0, 0, 3, 0]), sj.tensor([0, 0, 3, 0])],
    ids=["list", "ndarray", "tensor"],
)
def test_repeated_integer_indices_accumulate(index) -> None:
    weights = np.array([1.0, 2.0, 3.0, 4.0])
    grad = _grad_of_getitem((5,), index, weights)
    # Each position collects the weights of every pick of it.
    np.testing.assert_allclose(grad, np.bincount([0, 0, 3, 0], weights, minlength=5))


def test_repeated_rows_accumulate_like_an_embedding() -> None:
    ids = np.array([[1, 1], [3, 1]])
    weights = np.arange(2 * 2 * 3, dtype=np.float64).reshape(2, 2, 3)
    grad = _grad_of_getitem((4, 3), ids, weights)
    expected = np.zeros((4, 3))
    for pick, row in zip(ids.ravel(), weights.reshape(-1, 3), strict=True):
        expected[pick] += row
    np.testing.assert_allclose(grad, expected)


def test_repeated_pairs_of_index_arrays_accumulate() -> None:
    grad = _grad_of_getitem((2, 3), (np.array([1, 1, 0]), np.array([2, 2, 2])))
    np.testing.assert_allclose(grad, [[0, 0, 1], [0, 0, 2]])


@pytest.mark.parametrize(
    "index",
    [
        (slice(None, None, -1), slice(4, None, -2)),
        (None, 1, Ellipsis, None),
        (Ellipsis, slice(1, 3)),
        (slice(-2, None), -1),
        np.array([[True, False, True, False, True]] * 3),
    ],
    ids=["negative-steps", "none-ellipsis", "ellipsis", "negative-int", "bool-mask"],
)
def test_basic_index_gradient_marks_exactly_the_selected_elements(index) -> None:
    grad = _grad_of_getitem((3, 5), index)
    selected = np.zeros((3, 5))
    selected[index] = 1.0
    np.testing.assert_array_equal(grad, selected)


def test_bool_mask_given_as_a_tensor() -> None:
    x = sj.tensor([1.0, -2.0, 3.0], requires_grad=True)
    y = x[x > 0]
    y.sum().backward()
    assert y.tolist() == [1.0, 3.0]
    assert x.grad.tolist() == [1.0, 0.0, 1.0]


@pytest.mark.parametrize(
    ("size_or_sections", "sizes"),
    [(2, [2, 2, 1]), (5, [5]), (7, [5]), ([1, 0, 4], [1, 0, 4]), ([5], [5])],
)
def test_split_sizes(size_or_sections, sizes) -> None:
    x = sj.arange(10).reshape(2, 5).astype("float32")
    pieces = sj.split(x, size_or_sections, axis=1)
    assert [p.shape for p in pieces] == [(2, n) for n in sizes]
    np.testing.assert_array_equal(np.concatenate([p.numpy() for p in pieces], axis=1),
                                  x.numpy())


def test_split_gradient_reaches_only_the_pieces_used() -> None:
    x = sj.randn(6, 2, requires_grad=True)
    first, _, third = sj.split(x, 2)
    (first.sum() + 3.0 * third.sum()).backward()
    np.testing.assert_array_equal(x.grad.numpy()[:, 0], [1, 1, 0, 0, 3, 3])


def test_split_rejects_sizes_that_do_not_add_up() -> None:
    with pytest.raises(ValueError, match=r"split: sizes \[2, 2\] .*add up to 5.*\(3, 5\)"):
        sj.split(sj.zeros(3, 5), [2, 2], axis=1)
    with pytest.raises(ValueError, match=r"split: the piece size must be positive"):
        sj.split(sj.zeros(3, 5), 0)


def test_reshape_error_names_both_shapes() -> None:
    with pytest.raises(ValueError, match=r"reshape: .*shape \(2, 3\).* shape \(4, 2\)"):
        sj.zeros(2, 3).reshape(4, 2)
    with pytest.raises(ValueError, match=r"reshape: only one dimension can be -1"):
        sj.zeros(2, 3).reshape(-1, -1)


def test_concat_and_stack_errors_name_every_shape() -> None:
    a, b, c = sj.zeros(2, 3), sj.zeros(2, 3), sj.zeros(4, 2)
    with pytest.raises(ValueError, match=r"concat: shapes \(2, 3\), \(2, 3\), \(4, 2\)"):
        sj.concat([a, b, c], axis=1)
    with pytest.raises(ValueError, match=r"concat: .*same rank.*\(2, 3\), \(3,\)"):
        sj.concat([a, sj.zeros(3)])
    with pytest.raises(ValueError, match=r"stack: .*\(2, 3\), \(2, 3\), \(4, 2\)"):
        sj.stack([a, b, c])
    with pytest.raises(ValueError, match=r"concat: expects a non-empty list"):
        sj.concat([])


def test_transpose_broadcast_pad_flatten_unsqueeze_errors() -> None:
    x = sj.zeros(2, 3)
    with pytest.raises(ValueError, match=r"permute: dims \(0, 0\) .*shape \(2, 3\)"):
        x.permute(0, 0)
    with pytest.raises(ValueError, match=r"transpose: axis 2 is out of range .*rank 2"):
        x.transpose(0, 2)
    with pytest.raises(ValueError, match=r"broadcast_to: .*shape \(2, 3\) to shape \(4, 3\)"):
        x.broadcast_to((4, 3))
    with pytest.raises(ValueError, match=r"pad: .*pad_width=\(1, 2, 3\).*shape \(2, 3\)"):
        sj.pad(x, (1, 2, 3))
    with pytest.raises(ValueError, match=r"pad: .*pad_width=-1"):
        sj.pad(x, -1)
    with pytest.raises(ValueError, match=r"flatten: start_dim .*start_dim=1, end_dim=0"):
        x.flatten(1, 0)
    with pytest.raises(ValueError, match=r"unsqueeze: axis 3 is out of range .*rank 3"):
        x.unsqueeze(3)


def test_permute_method_forms_and_inverse_gradient() -> None:
    x = sj.randn(2, 3, 4, requires_grad=True)
    y = x.permute(2, 0, 1)
    assert y.shape == (4, 2, 3)
    assert x.permute((2, 0, 1)).shape == (4, 2, 3)
    assert x.T.shape == (4, 3, 2)
    with pytest.raises(TypeError):  # PyTorch's transpose swaps exactly two dims
        x.transpose(2, 0, 1)
    weights = np.random.default_rng(0).normal(size=y.shape).astype(np.float32)
    (y * sj.tensor(weights)).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), weights.transpose(1, 2, 0))


def test_flatten_of_a_scalar_and_squeeze_of_a_wide_axis() -> None:
    assert sj.tensor(3.0).flatten().shape == (1,)
    # PyTorch leaves an axis of size > 1 in place rather than raising.
    assert sj.zeros(1, 3, 1).squeeze((0, 1)).shape == (3, 1)


def test_pad_constant_value_and_gradient() -> None:
    x = sj.ones(2, 2, requires_grad=True)
    y = sj.pad(x, ((1, 0), (0, 2)), value=7.0)
    np.testing.assert_array_equal(y.numpy(), np.pad(np.ones((2, 2)), ((1, 0), (0, 2)),
                                                    constant_values=7.0))
    (y * y).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), np.full((2, 2), 2.0))
