"""What the op table cannot say about layer/group norm, normalize, F.pad and one_hot:
edge inputs, PyTorch's results on them, and the errors."""

from __future__ import annotations

import numpy as np
import pytest

import shenjing as sj
import shenjing.nn.functional as F


def test_one_hot_is_int64_and_infers_the_class_count() -> None:
    y = F.one_hot(sj.tensor([[0, 2], [1, 2]]))
    assert y.dtype == np.int64
    assert y.shape == (2, 2, 3)
    np.testing.assert_array_equal(y.numpy()[0], [[1, 0, 0], [0, 0, 1]])
    assert F.one_hot(sj.tensor([1]), num_classes=4).tolist() == [[0, 1, 0, 0]]


@pytest.mark.torch
def test_one_hot_matches_pytorch() -> None:
    torch = pytest.importorskip("torch")
    labels = np.random.default_rng(0).integers(0, 5, size=(3, 4))
    np.testing.assert_array_equal(
        F.one_hot(sj.tensor(labels), 6).numpy(),
        torch.nn.functional.one_hot(torch.tensor(labels), 6).numpy(),
    )


def test_one_hot_errors_name_the_op() -> None:
    with pytest.raises(ValueError, match="one_hot: label 3 is out of range for 3 classes"):
        F.one_hot(sj.tensor([0, 3]), 3)
    with pytest.raises(TypeError, match="one_hot: tensor must hold integer labels"):
        F.one_hot(sj.tensor([0.0]))


def test_normalize_leaves_a_zero_vector_zero_with_zero_gradient() -> None:
    x = sj.tensor([[0.0, 0.0], [3.0, 4.0]], requires_grad=True)
    y = F.normalize(x)
    np.testing.assert_allclose(y.numpy(), [[0, 0], [0.6, 0.8]], rtol=1e-6)
    y.sum().backward()
    assert np.all(np.isfinite(x.grad.numpy()))


def test_pad_errors_name_the_op_and_what_was_received() -> None:
    x = sj.ones(1, 2, 3)
    with pytest.raises(ValueError, match=r"pad: reflect padding of \(3, 0\) needs a dimension "
                                         r"larger than 3. Received: size 3"):
        F.pad(x, (3, 0), mode="reflect")
    with pytest.raises(ValueError, match="pad: pad must hold an even number"):
        F.pad(x, (1, 2, 3))
    with pytest.raises(ValueError, match="pad: mode must be one of"):
        F.pad(x, (1, 1), mode="mirror")


def test_layer_and_group_norm_reject_bad_shapes() -> None:
    with pytest.raises(ValueError, match=r"layer_norm: normalized_shape \(4,\) must be the "
                                         r"trailing dimensions"):
        F.layer_norm(sj.ones(2, 3), 4)
    with pytest.raises(ValueError, match="group_norm: input must be .* divisible by num_groups"):
        F.group_norm(sj.ones(2, 3, 4), 2)


def test_layer_norm_of_a_constant_row_is_zero_not_nan() -> None:
    x = sj.ones(2, 4, requires_grad=True)
    y = F.layer_norm(x, 4)
    np.testing.assert_array_equal(y.numpy(), np.zeros((2, 4)))
    y.sum().backward()
    assert np.all(np.isfinite(x.grad.numpy()))


@pytest.mark.parametrize("p", [0, -1.0, -2.5, 0.5, float("inf"), float("-inf")])
@pytest.mark.parametrize("dim", [0, 1])
def test_normalize_any_p_matches_pytorch_with_zeros_and_ties(p: float, dim: int) -> None:
    """torch.norm's meaning for every p, on rows with zeros (|0|^p = ∞ for p < 0, the
    norm is then 0 and eps takes over) and ties at the max (the gradient is shared)."""
    torch = pytest.importorskip("torch")
    x = np.array([[3.0, 0.0, -4.0, 2.0], [0.0, 0.0, 0.0, 0.0], [1.0, -1.0, 1.0, 0.5],
                  [0.3, -2.0, 0.7, 1.1]])
    w = np.array([[1.0, 2.0, 3.0, 4.0], [1.0, 1.0, 1.0, 1.0], [0.5, -1.0, 2.0, 1.0],
                  [1.0, 2.0, -1.0, 0.5]])
    t = torch.tensor(x, requires_grad=True)
    (torch.nn.functional.normalize(t, p=p, dim=dim) * torch.tensor(w)).sum().backward()
    a = sj.tensor(x, dtype="float64", requires_grad=True)
    y = sj.nn.functional.normalize(a, p=p, dim=dim)
    (y * sj.tensor(w, dtype="float64")).sum().backward()
    np.testing.assert_allclose(y.numpy(), torch.nn.functional.normalize(
        torch.tensor(x), p=p, dim=dim).numpy(), rtol=1e-12)
    np.testing.assert_allclose(a.grad.numpy(), t.grad.numpy(), rtol=1e-10)
