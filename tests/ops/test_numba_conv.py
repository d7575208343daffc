"""The direct first-layer convolution (shenjing/ops/_numba_conv.py) equals Convolution."""

from __future__ import annotations

import numpy as np
import pytest

from shenjing import kernels
from shenjing.ops._numba_conv import DirectConvolution, direct_fits
from shenjing.ops.conv import Convolution

pytestmark = pytest.mark.skipif(not kernels.available(), reason="the kernel tier needs Numba")


@pytest.mark.parametrize(("channels", "padding", "kernel"), [(1, 2, 5), (2, 0, 3), (1, 1, 4)])
def test_direct_convolution_equals_convolution(channels: int, padding: int, kernel: int):
    rng = np.random.default_rng(0)
    x = rng.standard_normal((16, channels, 11, 9), dtype=np.float32)
    w = rng.standard_normal((3, channels, kernel, kernel), dtype=np.float32)
    params = {"stride": (1, 1), "padding": ((padding, padding), (padding, padding)),
              "dilation": (1, 1), "groups": 1}
    assert direct_fits(x.shape, w.shape, params)
    reference = Convolution()
    reference.needs_input_grad = (False, True)
    want = reference.forward(x, w, **params)
    direct = DirectConvolution()
    direct.needs_input_grad = (False, True)
    for _ in range(2):  # the second call reuses the padded buffer
        got = direct.forward(x, w, **params)
        assert direct.fallback is None
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5)
    gy = rng.standard_normal(want.shape, dtype=np.float32)
    (_, gw_want), (gx, gw) = reference.backward(gy), direct.backward(gy)
    assert gx is None and gw.dtype == np.float32
    np.testing.assert_allclose(gw, gw_want, rtol=1e-4, atol=1e-4)


def test_an_input_gradient_or_another_dtype_runs_convolution():
    rng = np.random.default_rng(1)
    params = {"stride": (1, 1), "padding": ((0, 0), (0, 0)), "dilation": (1, 1), "groups": 1}
    for dtype, needs in ((np.float32, (True, True)), (np.float64, (False, True))):
        x = rng.standard_normal((16, 1, 6, 6)).astype(dtype)
        w = rng.standard_normal((2, 1, 3, 3)).astype(dtype)
        direct = DirectConvolution()
        direct.needs_input_grad = needs
        reference = Convolution()
        reference.needs_input_grad = needs
        np.testing.assert_array_equal(direct.forward(x, w, **params),
                                      reference.forward(x, w, **params))
        assert direct.fallback is not None
        gy = rng.standard_normal((16, 2, 4, 4)).astype(dtype)
        for got, want in zip(direct.backward(gy), reference.backward(gy), strict=True):
            np.testing.assert_array_equal(got, want)


def test_shapes_where_im2col_is_faster_are_not_taken():
    params = {"stride": (1, 1), "padding": ((0, 0), (0, 0)), "dilation": (1, 1), "groups": 1}
    assert not direct_fits((64, 6, 14, 14), (16, 6, 5, 5), params)  # LeNet-5's conv2
    assert not direct_fits((1, 1, 28, 28), (6, 1, 5, 5), params)  # a batch of one
    assert not direct_fits((64, 1, 28, 28), (6, 1, 5, 5), {**params, "stride": (2, 2)})
