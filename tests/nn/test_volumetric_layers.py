"""The 3-D layers and the max-unpooling layers against PyTorch's, holding the same
state_dict: outputs, input gradients and parameter gradients."""

from __future__ import annotations

import numpy as np
import pytest

import shenjing as sj

torch = pytest.importorskip("torch")
rng = np.random.default_rng(0)
X = rng.normal(size=(2, 4, 5, 6, 7)).astype(np.float32)


def _same(layer, tlayer, x, args=(), targs=()):
    layer.load_state_dict({k: v.detach().numpy() for k, v in tlayer.state_dict().items()})
    xs, xt = sj.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    y, ty = layer(xs, *args), tlayer(xt, *targs)
    if isinstance(y, tuple):
        np.testing.assert_array_equal(y[1].numpy(), ty[1].numpy())
        y, ty = y[0], ty[0]
    np.testing.assert_allclose(y.numpy(), ty.detach().numpy(), atol=1e-5)
    w = rng.normal(size=y.shape).astype(np.float32)
    (y * sj.tensor(w)).sum().backward()
    (ty * torch.tensor(w)).sum().backward()
    np.testing.assert_allclose(xs.grad.numpy(), xt.grad.numpy(), atol=1e-5)
    for (name, p), (tname, tp) in zip(layer.named_parameters(), tlayer.named_parameters(),
                                      strict=True):
        assert name == tname
        np.testing.assert_allclose(p.grad.numpy(), tp.grad.numpy(), rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("make", [
    lambda nn: nn.Conv3d(4, 6, (2, 3, 3), stride=(1, 2, 1), padding=1, groups=2),
    lambda nn: nn.Conv3d(4, 6, 3, padding="same", dilation=(1, 2, 1), bias=False),
    lambda nn: nn.Conv3d(4, 2, 2, padding="valid", stride=2),
    lambda nn: nn.ConvTranspose3d(4, 6, 3, stride=2, padding=1, output_padding=1, groups=2),
    lambda nn: nn.ConvTranspose3d(4, 3, (2, 3, 2), stride=(1, 2, 2), dilation=(2, 1, 1)),
    lambda nn: nn.MaxPool3d(3, 2, 1, ceil_mode=True),
    lambda nn: nn.MaxPool3d(2, return_indices=True),
    lambda nn: nn.AvgPool3d(3, 2, 1, count_include_pad=False, ceil_mode=True),
    lambda nn: nn.AvgPool3d((1, 2, 2), divisor_override=3),
])
def test_3d_layer_matches_pytorch(make) -> None:
    _same(make(sj.nn), make(torch.nn), X)


def test_3d_layer_has_pytorch_parameter_shapes() -> None:
    assert sj.nn.Conv3d(4, 6, (2, 3, 1), groups=2).weight.shape == (6, 2, 2, 3, 1)
    assert sj.nn.ConvTranspose3d(4, 6, 2, groups=2).weight.shape == (4, 3, 2, 2, 2)


@pytest.mark.parametrize(("dims", "shape", "kwargs", "output_size"), [
    (1, (2, 3, 9), {"kernel_size": 3, "stride": 2, "padding": 1}, [2, 3, 9]),
    (2, (2, 3, 6, 8), {"kernel_size": 2}, None),
    (2, (2, 3, 6, 8), {"kernel_size": 2}, (7, 9)),
    (3, (2, 4, 5, 6, 7), {"kernel_size": 2}, (5, 6, 7)),
])
def test_max_unpool_layer_matches_pytorch(dims, shape, kwargs, output_size) -> None:
    x = rng.normal(size=shape).astype(np.float32)
    pool = getattr(sj.nn.functional, f"max_pool{dims}d")
    tpool = getattr(torch.nn.functional, f"max_pool{dims}d")
    y, i = pool(sj.tensor(x), return_indices=True, **kwargs)
    _, ti = tpool(torch.tensor(x), return_indices=True, **kwargs)
    layer = getattr(sj.nn, f"MaxUnpool{dims}d")(**kwargs)
    tlayer = getattr(torch.nn, f"MaxUnpool{dims}d")(**kwargs)
    _same(layer, tlayer, y.numpy(), (i, output_size), (ti, output_size))


def test_bad_arguments_raise_naming_the_op() -> None:
    with pytest.raises(ValueError, match="conv3d expects 5-D"):
        sj.nn.functional.conv3d(sj.ones(1, 2, 3, 3), sj.ones(1, 2, 1, 1, 1))
    with pytest.raises(ValueError, match="max_pool3d: padding must be at most half"):
        sj.nn.functional.max_pool3d(sj.ones(1, 1, 4, 4, 4), 2, padding=2)
    y, i = sj.nn.functional.max_pool2d(sj.ones(1, 1, 4, 4), 2, return_indices=True)
    with pytest.raises(ValueError, match="max_unpool2d: invalid output_size"):
        sj.nn.functional.max_unpool2d(y, i, 2, output_size=(9, 9))
    with pytest.raises(ValueError, match="conv_transpose3d: output_padding"):
        sj.nn.functional.conv_transpose3d(sj.ones(1, 1, 2, 2, 2), sj.ones(1, 1, 2, 2, 2),
                                          output_padding=1)
