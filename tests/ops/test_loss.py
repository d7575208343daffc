"""Loss tests beyond the op table: stability at extreme inputs, label smoothing, the
fused cross-entropy's closed-form gradient, targets, and the error messages."""

from __future__ import annotations

import math

import numpy as np
import pytest

import shenjing as sj

PAIRED_LOSSES = [
    sj.mse_loss, sj.l1_loss, sj.huber_loss, sj.binary_cross_entropy,
    sj.binary_cross_entropy_with_logits,
]
ALL_LOSSES = [*PAIRED_LOSSES, sj.cross_entropy, sj.nll_loss]


def _valid_inputs(loss) -> tuple[sj.Tensor, sj.Tensor]:
    if loss in (sj.cross_entropy, sj.nll_loss):
        return sj.zeros(2, 3), sj.tensor([0, 2])
    return sj.full((2, 3), 0.5), sj.full((2, 3), 0.25)


@pytest.mark.parametrize("loss", ALL_LOSSES, ids=lambda f: f.__name__)
def test_unknown_reduction_is_named(loss) -> None:
    with pytest.raises(ValueError, match=f"{loss.__name__}: reduction must be .*'average'"):
        loss(*_valid_inputs(loss), reduction="average")


@pytest.mark.parametrize("loss", PAIRED_LOSSES, ids=lambda f: f.__name__)
def test_shape_mismatch_names_both_shapes(loss) -> None:
    with pytest.raises(ValueError, match=rf"{loss.__name__}: .*same shape.*"
                                         r"input shape \(2, 3\), target shape \(3,\)"):
        loss(sj.full((2, 3), 0.5), sj.full((3,), 0.5))


@pytest.mark.parametrize("loss", [sj.cross_entropy, sj.nll_loss], ids=lambda f: f.__name__)
@pytest.mark.parametrize("bad_label", [5, 7, -1])
def test_label_out_of_range_names_label_and_class_count(loss, bad_label: int) -> None:
    target = sj.tensor([0, bad_label, 4])
    with pytest.raises(ValueError,
                       match=f"{loss.__name__}: label {bad_label} is out of range for 5 classes"):
        loss(sj.zeros(3, 5), target)


def test_cross_entropy_wants_integer_labels_or_probabilities() -> None:
    with pytest.raises(ValueError, match=r"cross_entropy: probability targets must have the "
                                         r"input's shape. Received: input shape \(2, 3\)"):
        sj.cross_entropy(sj.zeros(2, 3), sj.tensor([0.0, 1.0, 0.0]))
    # Float class indices: the dtype and the fix, not a message about probabilities.
    for dtype in ("float32", "float64"):
        with pytest.raises(TypeError, match=rf"cross_entropy: target has the shape of class "
                                            rf"indices \(2,\) but dtype {dtype}; class indices "
                                            r"must be integers: convert with target.long\(\)"):
            sj.cross_entropy(sj.zeros(2, 3), sj.tensor([0.0, 1.0], dtype=dtype))
    with pytest.raises(TypeError, match=r"cross_entropy: target has the shape of class indices "
                                        r"\(2, 4\) but dtype float32"):
        sj.cross_entropy(sj.zeros(2, 3, 4), sj.zeros(2, 4))
    with pytest.raises(TypeError, match=r"nll_loss: target must hold integer class labels .* "
                                        r"Received: dtype=float32; for class indices convert "
                                        r"with target.long\(\)"):
        sj.nll_loss(sj.zeros(2, 3), sj.tensor([0.0, 1.0]))
    with pytest.raises(ValueError, match=r"cross_entropy: target shape \(3,\) does not match "
                                         r"input shape \(2, 3\); expected target shape \(2,\)"):
        sj.cross_entropy(sj.zeros(2, 3), sj.tensor([0, 1, 2]))
    with pytest.raises(ValueError, match="cross_entropy: label_smoothing must be in"):
        sj.cross_entropy(sj.zeros(2, 3), sj.tensor([0, 1]), label_smoothing=1.5)


def test_binary_cross_entropy_input_checks() -> None:
    with pytest.raises(ValueError, match=r"binary_cross_entropy: input must hold probabilities"
                                         r" in \[0, 1\]. Received: values from -0.5 to 2.0"):
        sj.binary_cross_entropy(sj.tensor([-0.5, 2.0]), sj.tensor([0.0, 1.0]))
    with pytest.raises(ValueError, match=r"weight must broadcast.*weight shape \(3,\), "
                                         r"input shape \(2,\)"):
        sj.binary_cross_entropy(sj.tensor([0.5, 0.5]), sj.tensor([0.0, 1.0]), sj.ones(3))
    learnable = sj.ones(2, requires_grad=True)
    with pytest.raises(ValueError, match="pos_weight is a constant"):
        sj.binary_cross_entropy_with_logits(sj.zeros(2), sj.zeros(2), pos_weight=learnable)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_bce_with_logits_is_stable_at_100(dtype: str) -> None:
    x = sj.tensor([100.0, -100.0, 100.0, -100.0], dtype=dtype, requires_grad=True)
    t = sj.tensor([0.0, 1.0, 1.0, 0.0], dtype=dtype)
    losses = sj.binary_cross_entropy_with_logits(x, t, reduction="none")
    # Confidently wrong costs |x|; confidently right costs log(1 + e^-100) ≈ e^-100.
    np.testing.assert_allclose(losses.numpy(), [100.0, 100.0, 0.0, 0.0], atol=1e-30)
    losses.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [1.0, -1.0, 0.0, 0.0], atol=1e-30)
    assert np.isfinite(x.grad.numpy()).all()


def test_binary_cross_entropy_clamps_the_log_at_minus_100() -> None:
    p = sj.tensor([0.0, 1.0, 0.0, 1.0], requires_grad=True)
    t = sj.tensor([1.0, 0.0, 0.0, 1.0])
    losses = sj.binary_cross_entropy(p, t, reduction="none")
    np.testing.assert_array_equal(losses.numpy(), [100.0, 100.0, 0.0, 0.0])
    losses.sum().backward()
    assert np.isfinite(p.grad.numpy()).all()


def test_cross_entropy_is_stable_at_1000() -> None:
    logits = sj.tensor([[1000.0, -1000.0, 0.0], [-1000.0, -1000.0, 1000.0]], requires_grad=True)
    loss = sj.cross_entropy(logits, sj.tensor([1, 2]), reduction="none")
    np.testing.assert_allclose(loss.numpy(), [2000.0, 0.0])
    loss.sum().backward()
    np.testing.assert_allclose(logits.grad.numpy(), [[1, -1, 0], [0, 0, 0]], atol=1e-30)


def test_cross_entropy_gradient_is_softmax_minus_onehot_over_n() -> None:
    rng = np.random.default_rng(3)
    z = rng.normal(size=(6, 4))
    labels = rng.integers(0, 4, size=6)
    logits = sj.tensor(z, dtype="float64", requires_grad=True)
    sj.cross_entropy(logits, sj.tensor(labels)).backward()
    softmax = np.exp(z) / np.exp(z).sum(axis=1, keepdims=True)
    expected = (softmax - np.eye(4)[labels]) / 6
    np.testing.assert_allclose(logits.grad.numpy(), expected, rtol=1e-12)


def test_label_smoothing_matches_pytorchs_formula() -> None:
    # PyTorch's definition: (1 - ε)·(-log p_y) + ε·Σ_c (-log p_c)/C, averaged over N.
    rng = np.random.default_rng(4)
    z = rng.normal(size=(5, 3, 2))  # (N, C, d1): classes on axis 1
    labels = rng.integers(0, 3, size=(5, 2))
    eps = 0.3
    log_p = z - np.log(np.exp(z).sum(axis=1, keepdims=True))
    picked = np.take_along_axis(log_p, labels[:, None, :], axis=1)[:, 0, :]
    expected = np.mean((1 - eps) * -picked + eps * -log_p.mean(axis=1))
    got = sj.cross_entropy(sj.tensor(z, dtype="float64"), sj.tensor(labels),
                           label_smoothing=eps)
    np.testing.assert_allclose(got.item(), expected, rtol=1e-12)


@pytest.mark.torch
def test_label_smoothing_matches_pytorch() -> None:
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(5)
    z = rng.normal(size=(7, 5))
    labels = rng.integers(0, 5, size=7)
    for eps in (0.0, 0.1, 0.5, 1.0):
        ours = sj.tensor(z, dtype="float64", requires_grad=True)
        theirs = torch.tensor(z, requires_grad=True)
        loss = sj.cross_entropy(ours, sj.tensor(labels), label_smoothing=eps)
        torch_loss = torch.nn.functional.cross_entropy(
            theirs, torch.tensor(labels), label_smoothing=eps
        )
        np.testing.assert_allclose(loss.item(), torch_loss.item(), rtol=1e-12)
        loss.backward()
        torch_loss.backward()
        np.testing.assert_allclose(ours.grad.numpy(), theirs.grad.numpy(), rtol=1e-10)


def test_cross_entropy_equals_nll_of_log_softmax() -> None:
    rng = np.random.default_rng(6)
    z = rng.normal(size=(4, 3, 5))
    labels = sj.tensor(rng.integers(0, 3, size=(4, 5)))
    fused_in = sj.tensor(z, dtype="float64", requires_grad=True)
    composed_in = sj.tensor(z, dtype="float64", requires_grad=True)
    fused = sj.cross_entropy(fused_in, labels, reduction="sum")
    composed = sj.nll_loss(sj.log_softmax(composed_in, axis=1), labels, reduction="sum")
    np.testing.assert_allclose(fused.item(), composed.item(), rtol=1e-12)
    fused.backward()
    composed.backward()
    np.testing.assert_allclose(fused_in.grad.numpy(), composed_in.grad.numpy(), rtol=1e-10)


def test_float_targets_get_the_opposite_gradient() -> None:
    x = sj.tensor([1.0, -2.0, 0.5], requires_grad=True)
    t = sj.tensor([0.0, 1.0, 3.0], requires_grad=True)
    sj.mse_loss(x, t, reduction="sum").backward()
    np.testing.assert_allclose(x.grad.numpy(), [2.0, -6.0, -5.0])
    np.testing.assert_allclose(t.grad.numpy(), -x.grad.numpy())


def test_integer_targets_are_converted_to_the_input_dtype() -> None:
    logits = sj.tensor([2.0, -1.0], requires_grad=True)
    loss = sj.binary_cross_entropy_with_logits(logits, sj.tensor([1, 0]), reduction="none")
    assert loss.dtype == np.float32
    np.testing.assert_allclose(loss.numpy(), np.log1p(np.exp([-2.0, -1.0])), rtol=1e-6)


def test_reductions_relate_as_mean_sum_and_elements() -> None:
    rng = np.random.default_rng(7)
    x, t = sj.tensor(rng.normal(size=(3, 4))), sj.tensor(rng.normal(size=(3, 4)))
    for loss in (sj.mse_loss, sj.l1_loss, sj.huber_loss, sj.binary_cross_entropy_with_logits):
        elements = loss(x, t, reduction="none").numpy()
        assert elements.shape == (3, 4)
        np.testing.assert_allclose(loss(x, t, reduction="sum").item(), elements.sum(), rtol=1e-5)
        np.testing.assert_allclose(loss(x, t).item(), elements.mean(), rtol=1e-5)
    assert math.isclose(sj.huber_loss(sj.tensor([3.0]), sj.tensor([0.0]), delta=2.0).item(), 4.0)
