"""Pooling beyond the op table: ties, overlapping windows, what padding contributes, the
fast kernels against the literal loops on larger inputs, and the error messages."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

import shenjing as sj
from shenjing.ops.reference import avg_pool2d_reference, max_pool2d_reference

CONFIGS = [
    pytest.param((4, 6, 28, 28), {"kernel_size": 2}, id="lenet_pool1"),
    pytest.param((3, 4, 11, 9), {"kernel_size": 3}, id="k3_remainder"),
    pytest.param((2, 3, 13, 12), {"kernel_size": 3, "stride": 2, "padding": 1}, id="overlap_pad"),
    pytest.param((2, 3, 9, 10), {"kernel_size": (2, 4), "stride": (1, 3), "padding": (1, 2)},
                 id="rect_pairs"),
]


@pytest.mark.parametrize(("shape", "kwargs"), CONFIGS)
@pytest.mark.parametrize(
    ("pool", "reference"),
    [(sj.max_pool2d, max_pool2d_reference), (sj.avg_pool2d, avg_pool2d_reference)],
    ids=["max", "avg"],
)
def test_fast_kernel_matches_the_literal_loops(pool, reference, shape, kwargs):
    x = np.random.default_rng(0).standard_normal(shape)
    got = pool(sj.tensor(x), **kwargs)
    assert got.dtype == np.float32
    np.testing.assert_allclose(got.numpy(), reference(x, **kwargs), rtol=1e-5, atol=1e-6)


def test_max_pool_gradient_goes_to_the_first_of_tied_maxima():
    # Every window of a constant input is one big tie: its top-left pixel takes it all.
    x = sj.ones(2, 3, 6, 6, requires_grad=True)
    sj.max_pool2d(x, 3, stride=3).sum().backward()
    expected = np.zeros((2, 3, 6, 6), dtype=np.float32)
    expected[:, :, ::3, ::3] = 1.0
    np.testing.assert_array_equal(x.grad.numpy(), expected)


@pytest.mark.torch
@pytest.mark.parametrize("kwargs", [{"kernel_size": 2}, {"kernel_size": 3, "stride": 1,
                                                          "padding": 1}], ids=["tiled", "overlap"])
def test_ties_after_relu_match_pytorch(kwargs):
    """ReLU outputs are full of exact zeros, so real networks hit ties all the time."""
    torch = pytest.importorskip("torch")
    data = np.maximum(np.random.default_rng(0).standard_normal((2, 3, 8, 8)), 0)
    data[:, :, :4, :4] = 0.0
    x = sj.tensor(data, dtype="float64", requires_grad=True)
    tx = torch.tensor(data, requires_grad=True)
    weights = np.random.default_rng(1).uniform(0.5, 1.5, size=sj.max_pool2d(x, **kwargs).shape)
    (sj.max_pool2d(x, **kwargs) * sj.tensor(weights, dtype="float64")).sum().backward()
    (torch.nn.functional.max_pool2d(tx, **kwargs) * torch.tensor(weights)).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), tx.grad.numpy(), rtol=1e-12, atol=0)


def test_overlapping_windows_add_their_gradients():
    # One hot pixel is the maximum of all nine 3x3 windows that contain it.
    data = np.zeros((1, 1, 5, 5))
    data[0, 0, 2, 2] = 1.0
    x = sj.tensor(data, requires_grad=True)
    sj.max_pool2d(x, 3, stride=1, padding=1).sum().backward()
    assert x.grad.numpy()[0, 0, 2, 2] == 9.0
    assert x.grad.numpy().sum() == 25.0  # one unit per output, 25 outputs

    y = sj.tensor(np.ones((1, 1, 4, 4)), requires_grad=True)
    sj.avg_pool2d(y, 3, stride=1).sum().backward()
    windows_covering = np.array([1, 2, 2, 1])  # per row/column, for 2 windows in 4
    expected = np.outer(windows_covering, windows_covering) / 9.0
    np.testing.assert_allclose(y.grad.numpy()[0, 0], expected, rtol=1e-6)


def test_max_pool_padding_never_wins():
    x = sj.tensor(-np.arange(1.0, 17.0).reshape(1, 1, 4, 4), requires_grad=True)
    y = sj.max_pool2d(x, 2, padding=1)
    # Padded windows pick the real corner/edge pixels: all values stay negative.
    np.testing.assert_array_equal(
        y.numpy()[0, 0], [[-1, -2, -4], [-5, -6, -8], [-13, -14, -16]])
    y.sum().backward()
    assert x.grad.numpy().sum() == 9.0


def test_avg_pool_counts_padding_in_the_divisor():
    # PyTorch's default count_include_pad=True: each padded 2x2 window holds one real 1.
    y = sj.avg_pool2d(sj.ones(1, 1, 2, 2), 2, padding=1)
    np.testing.assert_array_equal(y.numpy(), np.full((1, 1, 2, 2), 0.25))


def test_stride_defaults_to_the_kernel_size():
    x = sj.randn(2, 3, 9, 9)
    np.testing.assert_array_equal(sj.max_pool2d(x, 3).numpy(),
                                  sj.max_pool2d(x, 3, stride=3).numpy())
    assert sj.avg_pool2d(x, (3, 1)).shape == (2, 3, 3, 9)
    assert sj.max_pool1d(sj.randn(2, 3, 10), 4).shape == (2, 3, 2)


def test_inference_without_a_graph():
    x = sj.randn(2, 3, 6, 6)
    with sj.no_grad():
        y = sj.max_pool2d(x, 2)
    assert y.grad_fn is None
    np.testing.assert_array_equal(y.numpy(), max_pool2d_reference(x.numpy(), 2))


@pytest.mark.parametrize("pool", [sj.max_pool2d, sj.avg_pool2d], ids=["max", "avg"])
def test_1x1_windows_copy_rather_than_alias_the_input(pool):
    x = sj.tensor(np.random.default_rng(0).standard_normal((2, 3, 4, 4)))
    y = pool(x, 1)
    np.testing.assert_array_equal(y.numpy(), x.numpy())
    assert not np.shares_memory(y.numpy(), x.numpy())


def test_float32_gradients_stay_float32():
    x = sj.randn(2, 3, 6, 6, requires_grad=True)
    (sj.max_pool2d(x, 2).sum() + sj.avg_pool2d(x, 3, stride=1).sum()).backward()
    assert x.grad.dtype == np.float32


# ----------------------------------------------------------------- errors


@pytest.mark.parametrize("op", ["max_pool2d", "avg_pool2d"])
def test_wrong_rank_names_the_expected_layout(op):
    with pytest.raises(ValueError, match=rf"{op} expects 4-D input \(N, C, H, W\)\. "
                                         r"Received: shape=\(28, 28\)"):
        getattr(sj, op)(sj.ones(28, 28), 2)


def test_1d_wrong_rank():
    with pytest.raises(ValueError, match=r"max_pool1d expects 3-D input \(N, C, L\)"):
        sj.max_pool1d(sj.ones(2, 3, 4, 4), 2)


def test_padding_at_most_half_the_kernel():
    with pytest.raises(ValueError, match=r"max_pool2d: padding must be at most half the kernel "
                                         r"size\. Received: padding=\(2, 2\), kernel_size=\(3, 3\)"):
        sj.max_pool2d(sj.ones(1, 1, 8, 8), 3, padding=2)
    with pytest.raises(ValueError, match=r"padding=2, kernel_size=3"):
        sj.avg_pool1d(sj.ones(1, 1, 8), 3, padding=2)


def test_kernel_larger_than_input():
    with pytest.raises(ValueError, match=r"avg_pool2d: the kernel \(5, 5\).*padded input "
                                         r"\(4, 4\).*input size \(4, 4\), padding \(0, 0\)"):
        sj.avg_pool2d(sj.ones(1, 1, 4, 4), 5)


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        ({"kernel_size": 0}, ValueError, r"kernel_size must be at least 1"),
        ({"kernel_size": 2, "stride": 0}, ValueError, r"stride must be at least 1"),
        ({"kernel_size": 2.0}, TypeError, r"kernel_size must be an int or a pair"),
        ({"kernel_size": 2, "padding": -1}, ValueError, r"padding must be at least 0"),
    ],
    ids=["kernel0", "stride0", "kernel_float", "padding_negative"],
)
def test_bad_arguments_are_rejected(kwargs, error, message):
    with pytest.raises(error, match=f"max_pool2d: {message}"):
        sj.max_pool2d(sj.ones(1, 1, 6, 6), **kwargs)


@pytest.mark.torch
@pytest.mark.parametrize(
    ("fn", "shape", "kwargs"),
    [
        ("max_pool2d", (2, 3, 7, 8), {"kernel_size": 3, "stride": 2, "padding": 1}),
        ("max_pool2d", (2, 3, 7, 8), {"kernel_size": 2, "dilation": 2, "ceil_mode": True}),
        ("max_pool1d", (2, 3, 9), {"kernel_size": 3, "stride": 2, "ceil_mode": True}),
    ],
    ids=["2d-pad", "2d-dilation-ceil", "1d-ceil"],
)
def test_return_indices_match_pytorch(fn: str, shape: tuple, kwargs: dict) -> None:
    torch = pytest.importorskip("torch")
    x = np.random.default_rng(0).permutation(int(np.prod(shape))).reshape(shape)
    x = x.astype(np.float32)
    y, indices = getattr(sj.nn.functional, fn)(sj.tensor(x), return_indices=True, **kwargs)
    ty, tindices = getattr(torch.nn.functional, fn)(torch.tensor(x), return_indices=True,
                                                    **kwargs)
    np.testing.assert_array_equal(y.numpy(), ty.numpy())
    assert indices.dtype == np.int64
    np.testing.assert_array_equal(indices.numpy(), tindices.numpy())


@pytest.mark.torch
@pytest.mark.parametrize(("fn", "shape", "size"),
                         [("adaptive_max_pool2d", (2, 3, 7, 5), (3, 2)),
                          ("adaptive_max_pool1d", (2, 3, 10), 4)])
def test_adaptive_max_indices_match_pytorch(fn: str, shape: tuple, size: Any) -> None:
    torch = pytest.importorskip("torch")
    x = np.random.default_rng(1).permutation(int(np.prod(shape))).reshape(shape)
    x = x.astype(np.float32)
    y, indices = getattr(sj.nn.functional, fn)(sj.tensor(x), size, return_indices=True)
    ty, tindices = getattr(torch.nn.functional, fn)(torch.tensor(x), size, return_indices=True)
    np.testing.assert_array_equal(y.numpy(), ty.numpy())
    np.testing.assert_array_equal(indices.numpy(), tindices.numpy())
