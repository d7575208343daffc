"""Convolution beyond the op table: the fast kernel against the literal loops on larger
random inputs, memory layouts, gradients only where asked for, and the error messages."""

from __future__ import annotations

import gc
import weakref

import numpy as np
import pytest

import shenjing as sj
from shenjing.ops.reference import conv2d_reference

CONFIGS = [
    pytest.param((3, 4, 11, 9), (5, 4, 3, 3), {}, id="plain"),
    pytest.param((2, 1, 12, 12), (6, 1, 5, 5), {"padding": 2}, id="lenet_conv1"),
    pytest.param((2, 6, 8, 8), (16, 6, 5, 5), {}, id="lenet_conv2"),
    pytest.param((2, 3, 13, 10), (4, 3, 3, 4), {"stride": (3, 2), "padding": (2, 1)},
                 id="stride_padding_pairs"),
    pytest.param((2, 2, 12, 12), (3, 2, 3, 3), {"dilation": 3, "stride": 2}, id="dilated"),
    pytest.param((2, 6, 9, 9), (9, 2, 3, 3), {"groups": 3, "padding": 1}, id="groups3"),
    pytest.param((1, 4, 7, 7), (4, 1, 7, 7), {"groups": 4}, id="depthwise_full_kernel"),
]


def _random(shape, seed):
    return np.random.default_rng(seed).standard_normal(shape)


@pytest.mark.parametrize(("x_shape", "w_shape", "kwargs"), CONFIGS)
def test_fast_kernel_matches_the_literal_loops(x_shape, w_shape, kwargs):
    x, w, b = _random(x_shape, 0), _random(w_shape, 1), _random(w_shape[0], 2)
    expected = conv2d_reference(x, w, b, **kwargs)
    got = sj.conv2d(sj.tensor(x), sj.tensor(w), sj.tensor(b), **kwargs)
    assert got.dtype == np.float32
    np.testing.assert_allclose(got.numpy(), expected, rtol=1e-4, atol=1e-4)


def _conv_grads(x, w, b):
    xt, wt, bt = (sj.tensor(a, dtype="float64", requires_grad=True) for a in (x, w, b))
    y = sj.conv2d(xt, wt, bt, stride=2, padding=1)
    (y * y).sum().backward()
    return y.numpy(), xt.grad.numpy(), wt.grad.numpy(), bt.grad.numpy()


def test_any_input_memory_layout_gives_the_same_result():
    x, w, b = _random((3, 2, 7, 6), 0), _random((4, 2, 3, 3), 1), _random(4, 2)
    contiguous = _conv_grads(x, w, b)
    batch_inner = np.ascontiguousarray(x.transpose(1, 2, 3, 0)).transpose(3, 0, 1, 2)
    strided = np.ascontiguousarray(np.repeat(x, 2, axis=3))[..., ::2]
    for layout in (batch_inner, strided):
        assert np.array_equal(layout, x)
        for ours, reference in zip(_conv_grads(layout, w, b), contiguous, strict=True):
            np.testing.assert_allclose(ours, reference, rtol=1e-12, atol=1e-12)


def test_output_is_an_nchw_view_of_batch_innermost_memory():
    # The layout is what makes conv -> relu -> pool -> conv run without transposes;
    # losing it silently would cost several times the speed.
    y = sj.conv2d(sj.randn(4, 2, 6, 6), sj.randn(3, 2, 3, 3))
    assert y.shape == (4, 3, 4, 4)
    assert y.array.transpose(1, 2, 3, 0).flags.c_contiguous
    assert sj.relu(y).array.transpose(1, 2, 3, 0).flags.c_contiguous


@pytest.mark.parametrize("needs", ["x", "weight", "bias"])
def test_gradients_only_for_inputs_that_ask(needs):
    x, w, b = _random((2, 3, 6, 6), 0), _random((4, 3, 3, 3), 1), _random(4, 2)
    full = _conv_grads(x, w, b)[1:]
    tensors = [sj.tensor(a, dtype="float64", requires_grad=(name == needs))
               for a, name in zip((x, w, b), ("x", "weight", "bias"), strict=True)]
    y = sj.conv2d(*tensors, stride=2, padding=1)
    (y * y).sum().backward()
    for t, reference, name in zip(tensors, full, ("x", "weight", "bias"), strict=True):
        if name == needs:
            np.testing.assert_allclose(t.grad.numpy(), reference, rtol=1e-12)
        else:
            assert t.grad is None


def test_no_grad_records_nothing():
    w = sj.randn(3, 2, 3, 3, requires_grad=True)
    with sj.no_grad():
        y = sj.conv2d(sj.randn(2, 2, 5, 5), w)
    assert y.grad_fn is None and not y.requires_grad


def test_float32_gradients_stay_float32():
    x = sj.randn(2, 2, 5, 5, requires_grad=True)
    w = sj.randn(3, 2, 3, 3, requires_grad=True)
    b = sj.randn(3, requires_grad=True)
    sj.conv2d(x, w, b, padding=1).sum().backward()
    assert {t.grad.dtype for t in (x, w, b)} == {np.dtype(np.float32)}


def test_backward_frees_the_graph():
    x = sj.randn(2, 2, 6, 6, requires_grad=True)
    hidden = sj.conv2d(x, sj.randn(3, 2, 3, 3))
    alive = weakref.ref(hidden)
    sj.max_pool2d(hidden, 2).sum().backward()
    del hidden
    gc.collect()
    assert alive() is None


def test_conv1d_is_conv2d_on_unit_height():
    x, w, b = _random((2, 3, 11), 0), _random((4, 3, 3), 1), _random(4, 2)
    y1 = sj.conv1d(sj.tensor(x), sj.tensor(w), sj.tensor(b), stride=2, padding=1, dilation=2)
    y2 = sj.conv2d(sj.tensor(x[:, :, None]), sj.tensor(w[:, :, None]), sj.tensor(b),
                   stride=(1, 2), padding=(0, 1), dilation=(1, 2))
    np.testing.assert_allclose(y1.numpy(), y2.numpy()[:, :, 0], rtol=1e-6)


@pytest.mark.torch
def test_lenet_stack_matches_pytorch():
    """conv -> relu -> max pool -> conv -> relu -> avg pool, values and every gradient,
    through the batch-innermost layout that each op hands the next."""
    torch = pytest.importorskip("torch")
    tf = torch.nn.functional
    arrays = [_random((4, 1, 12, 12), 0), _random((6, 1, 5, 5), 1), _random(6, 2),
              _random((16, 6, 3, 3), 3), _random(16, 4)]
    ours = [sj.tensor(a, dtype="float64", requires_grad=True) for a in arrays]
    theirs = [torch.tensor(a, requires_grad=True) for a in arrays]

    def net(f, conv, max_pool, avg_pool, x, w1, b1, w2, b2):
        h = max_pool(f.relu(conv(x, w1, b1, padding=2)), 2)
        return avg_pool(f.relu(conv(h, w2, b2, padding=1)), 3, stride=2)

    y = net(sj, sj.conv2d, sj.max_pool2d, sj.avg_pool2d, *ours)
    ty = net(tf, tf.conv2d, tf.max_pool2d, tf.avg_pool2d, *theirs)
    np.testing.assert_allclose(y.numpy(), ty.detach().numpy(), rtol=1e-10, atol=1e-12)
    weights = _random(y.shape, 5)
    (y * sj.tensor(weights, dtype="float64")).sum().backward()
    (ty * torch.tensor(weights)).sum().backward()
    for a, b in zip(ours, theirs, strict=True):
        np.testing.assert_allclose(a.grad.numpy(), b.grad.numpy(), rtol=1e-10, atol=1e-12)


# ----------------------------------------------------------------- errors


def test_wrong_rank_names_the_expected_layout():
    with pytest.raises(ValueError, match=r"conv2d expects 4-D input \(N, C, H, W\)\. "
                                         r"Received: shape=\(28, 28\)"):
        sj.conv2d(sj.ones(28, 28), sj.ones(6, 1, 5, 5))
    with pytest.raises(ValueError, match=r"conv1d expects 3-D input \(N, C, L\)"):
        sj.conv1d(sj.ones(2, 3, 4, 4), sj.ones(2, 3, 3))
    with pytest.raises(ValueError, match=r"4-D weight.*Received: weight shape=\(6, 5, 5\)"):
        sj.conv2d(sj.ones(1, 1, 8, 8), sj.ones(6, 5, 5))


def test_channel_mismatch_names_both_counts():
    with pytest.raises(ValueError, match=r"expected input with 1 channels.*received 3 channels"):
        sj.conv2d(sj.ones(2, 3, 8, 8), sj.ones(6, 1, 5, 5))
    with pytest.raises(ValueError, match=r"expected input with 4 channels.*groups=2"):
        sj.conv2d(sj.ones(2, 3, 8, 8), sj.ones(6, 2, 3, 3), groups=2)


def test_kernel_larger_than_padded_input_names_kernel_padding_and_size():
    with pytest.raises(ValueError, match=r"kernel \(5, 5\).*padded input \(4, 4\).*"
                                         r"input size \(2, 2\), padding \(1, 1\)"):
        sj.conv2d(sj.ones(1, 1, 2, 2), sj.ones(1, 1, 5, 5), padding=1)
    with pytest.raises(ValueError, match=r"extent \(5, 5\) with dilation \(2, 2\)"):
        sj.conv2d(sj.ones(1, 1, 4, 4), sj.ones(1, 1, 3, 3), dilation=2)


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        ({"stride": 0}, ValueError, r"stride must be at least 1\. Received: 0"),
        ({"stride": 1.5}, TypeError, r"stride must be an int or a pair of ints"),
        ({"padding": -1}, ValueError, r"padding must be at least 0"),
        ({"padding": (1, 2, 3)}, TypeError, r"padding must be an int or a pair"),
        ({"dilation": 0}, ValueError, r"dilation must be at least 1"),
        ({"groups": 0}, ValueError, r"groups must be a positive int\. Received: 0"),
        ({"groups": 4}, ValueError, r"out channels must be divisible by groups"),
        ({"padding": "full"}, ValueError, r"padding must be 'valid', 'same' or ints"),
        ({"padding": "same", "stride": 2}, ValueError, r"padding='same' needs stride 1"),
    ],
    ids=["stride0", "stride_float", "padding_negative", "padding_triple", "dilation0",
         "groups0", "groups_not_dividing", "padding_string", "same_with_stride"],
)
def test_bad_arguments_are_rejected(kwargs, error, message):
    with pytest.raises(error, match=f"conv2d: {message}"):
        sj.conv2d(sj.ones(1, 2, 8, 8), sj.ones(6, 2, 3, 3), **kwargs)


def test_bias_shape_is_checked():
    with pytest.raises(ValueError, match=r"bias must have shape \(6,\)\. Received: .*\(3,\)"):
        sj.conv2d(sj.ones(1, 2, 8, 8), sj.ones(6, 2, 3, 3), sj.ones(3))


def test_padding_valid_and_same():
    x, w = sj.randn(2, 3, 7, 8), sj.randn(4, 3, 3, 3)
    np.testing.assert_array_equal(sj.conv2d(x, w, padding="valid").numpy(),
                                  sj.conv2d(x, w).numpy())
    same = sj.conv2d(x, w, padding="same", dilation=2)
    assert same.shape == (2, 4, 7, 8)
    np.testing.assert_allclose(same.numpy(), sj.conv2d(x, w, padding=2, dilation=2).numpy())
