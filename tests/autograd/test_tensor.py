"""Tensor: construction rules, properties, repr, comparisons, seeding."""

from __future__ import annotations

import numpy as np
import pytest

import shenjing as sj


def test_floats_become_float32_and_integers_int64() -> None:
    assert sj.tensor([1.0, 2.0]).dtype == np.float32
    assert sj.tensor(np.zeros(3, dtype=np.float64)).dtype == np.float32
    assert sj.tensor([1, 2]).dtype == np.int64
    assert sj.tensor([1.0], dtype="float64").dtype == np.float64
    assert sj.tensor([1.0], dtype=np.float64).dtype == np.float64
    assert sj.tensor([True]).dtype == np.bool_


def test_from_numpy_shares_memory_and_keeps_dtype() -> None:
    a = np.arange(3.0)
    t = sj.from_numpy(a)
    a[0] = 7.0
    assert t.dtype == np.float64 and t.numpy()[0] == 7.0


def test_constructors_give_the_requested_shapes_and_dtypes() -> None:
    assert sj.zeros(2, 3).shape == (2, 3)
    assert sj.ones((2, 3)).numpy().sum() == 6
    assert sj.full((2,), 4.0).numpy().tolist() == [4.0, 4.0]
    assert sj.arange(5).dtype == np.int64
    assert sj.arange(0.0, 1.0, 0.25).numpy().tolist() == [0.0, 0.25, 0.5, 0.75]
    x = sj.randn(3, 4, dtype="float64")
    assert sj.zeros_like(x).dtype == np.float64 and sj.ones_like(x).shape == (3, 4)
    assert sj.rand(1000).numpy().min() >= 0.0
    with pytest.raises(ValueError, match="non-negative integers"):
        sj.zeros(-1)


def test_properties() -> None:
    x = sj.tensor(np.ones((2, 3)), requires_grad=True, name="x")
    assert (x.shape, x.ndim, x.size(), x.name, x.is_leaf) == ((2, 3), 2, (2, 3), "x", True)
    assert x.T.shape == (3, 2)
    assert sj.tensor([[2.5]]).item() == 2.5
    d = (x * 2.0).detach()
    assert d.grad_fn is None and not d.requires_grad


def test_repr_shows_name_shape_dtype_and_the_op() -> None:
    x = sj.tensor([[1.0, 2.0]], requires_grad=True, name="x")
    text = repr(x * 2.0)
    assert "shape=(1, 2)" in text and "dtype=float32" in text and "grad_fn=Mul" in text
    assert "name='x'" in repr(x) and "requires_grad=True" in repr(x)


def test_comparisons_give_boolean_tensors_without_gradient() -> None:
    x = sj.tensor([1.0, 2.0, 3.0], requires_grad=True)
    mask = x > 1.5
    assert mask.dtype == np.bool_ and mask.grad_fn is None
    assert (x == 2.0).numpy().tolist() == [False, True, False]
    assert (x <= 2.0).numpy().sum() == 2


def test_python_scalars_keep_the_tensor_dtype() -> None:
    x = sj.tensor([1.0, 2.0])
    assert (x * 2.5).dtype == np.float32
    assert (1.0 - x).dtype == np.float32
    assert (2.0**x).dtype == np.float32
    assert (x / 3).dtype == np.float32


def test_only_floating_tensors_can_require_grad() -> None:
    with pytest.raises(TypeError, match="floating-point.*int64"):
        sj.tensor([1, 2], requires_grad=True)


def test_item_on_many_elements_is_an_error() -> None:
    with pytest.raises(ValueError, match=r"one element.*shape=\(2,\)"):
        sj.tensor([1.0, 2.0]).item()


def test_manual_seed_makes_random_ops_repeat() -> None:
    sj.manual_seed(3)
    a = sj.randn(4).numpy()
    sj.manual_seed(3)
    b = sj.randn(4).numpy()
    c = sj.randn(4).numpy()
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(b, c)
    with pytest.raises(ValueError, match="non-negative integer"):
        sj.manual_seed(-1)


def test_numpy_interoperates() -> None:
    x = sj.tensor([1.0, 2.0])
    assert np.asarray(x).tolist() == [1.0, 2.0]
    y = np.array([1.0, 1.0], dtype=np.float32) + x
    assert isinstance(y, sj.Tensor)


@pytest.mark.parametrize(
    ("data", "dtype"),
    [(["a", "b"], "<U1"), (np.array([b"xy"]), "|S2"), ([object(), 1], "object"),
     (np.array(["2026-01-01"], dtype="datetime64[D]"), "datetime64")],
    ids=["str", "bytes", "object", "datetime"],
)
def test_a_tensor_of_non_numbers_is_refused_naming_the_dtype(data, dtype: str) -> None:
    with pytest.raises(TypeError, match=f"Cannot make a tensor of dtype {dtype}"):
        sj.tensor(data)


def test_data_is_a_tensor_sharing_memory_with_no_history():
    w = sj.tensor([1.0, 2.0], requires_grad=True)
    d = w.data
    assert isinstance(d, sj.Tensor) and d.grad_fn is None and not d.requires_grad
    d.array[0] = 5.0  # one array: writing through .data changes w
    assert w.tolist() == [5.0, 2.0]


def test_assigning_data_keeps_the_tensor_and_replaces_its_values():
    w = sj.tensor([1.0, 2.0], requires_grad=True)
    w.data = sj.tensor([3.0, 4.0, 5.0])
    assert w.shape == (3,) and w.requires_grad and w.tolist() == [3.0, 4.0, 5.0]


def test_np_array_copies_and_np_asarray_shares():
    t = sj.tensor([1.0, 2.0])
    copied = np.array(t)
    copied[0] = 9.0
    assert t.tolist() == [1.0, 2.0]
    shared = np.asarray(t)
    shared[0] = 9.0
    assert t.tolist() == [9.0, 2.0]


def test_python_number_conversions() -> None:
    assert int(sj.tensor(3)) == 3 and float(sj.tensor([2.5])) == 2.5
    assert list(range(sj.tensor(3))) == [0, 1, 2]
    with pytest.raises(TypeError, match="0-d integer"):
        range(sj.tensor(2.0))
    np.testing.assert_array_equal(np.arange(5)[sj.tensor([2])], [2])  # still fancy indexing
