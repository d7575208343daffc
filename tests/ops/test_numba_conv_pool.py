"""The kernel tier's col2im (ops/_numba_col2im.py), max pooling (ops/_numba_pool.py) and
direct stride-1 convolution (ops/_numba_direct.py) against their NumPy ops, forward and
backward, over strides, padding, dilation, odd sizes, float32 and float64, and batches
on both sides of the direct path's MIN_BATCH (the op table runs conv2d and max_pool2d
both ways too); the direct convolution is gradchecked in float64."""

from __future__ import annotations

import numpy as np
import pytest

from shenjing import kernels
from shenjing.ops import _numba_pool
from shenjing.ops.conv import Convolution
from shenjing.ops.pool import MaxPool

pytestmark = pytest.mark.skipif(not kernels.available(), reason="the kernel tier needs Numba")

CONVS = [  # x shape, w shape, stride, padding, dilation, groups
    ((4, 6, 14, 14), (16, 6, 5, 5), (1, 1), 0, (1, 1), 1),
    ((1, 3, 9, 7), (4, 3, 3, 3), (2, 1), 1, (1, 1), 1),
    ((3, 4, 11, 10), (6, 2, 3, 2), (1, 2), 2, (2, 1), 2),
    ((2, 2, 8, 9), (3, 2, 4, 3), (3, 3), 1, (1, 2), 1),
]


def _batch_inner(a: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(a.transpose(1, 2, 3, 0)).transpose(3, 0, 1, 2)


def _conv(dtype: type, case: tuple, on: bool) -> list[np.ndarray]:
    xs, ws, stride, pad, dilation, groups = case
    ph, pw = (pad, pad) if isinstance(pad, int) else pad
    rng = np.random.default_rng(0)
    x = rng.standard_normal(xs).astype(dtype)
    w = rng.standard_normal(ws).astype(dtype)
    b = rng.standard_normal(ws[0]).astype(dtype)
    with kernels.use(on):
        op = Convolution()
        op.needs_input_grad = (True, True, True)
        y = op.forward(x, w, b, stride=stride, padding=((ph, ph), (pw, pw)),
                       dilation=dilation, groups=groups)
        gy = _batch_inner(rng.standard_normal(y.shape).astype(dtype))
        return [y, *op.backward(gy)]


@pytest.mark.parametrize("case", CONVS)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_convolution_with_col2im_kernel_equals_numpy(case: tuple, dtype: type) -> None:
    before = kernels.calls()
    on = _conv(dtype, case, True)
    assert kernels.calls() > before, "the col2im kernel did not run"
    off = _conv(dtype, case, False)
    for got, want in zip(on, off, strict=True):
        assert got.dtype == dtype
        np.testing.assert_array_equal(got, want)  # the same sums in the same order


POOLS = [  # x shape, kernel, stride, padding, dilation
    ((64, 6, 28, 28), (2, 2), (2, 2), (0, 0), (1, 1)),  # _max2_forward
    ((3, 2, 7, 9), (2, 2), (2, 2), (1, 0), (1, 1)),  # _max2_forward, padded, odd sizes
    ((1, 3, 7, 9), (3, 3), (2, 2), (1, 1), (1, 1)),
    ((3, 2, 11, 10), (3, 2), (1, 2), (1, 0), (1, 2)),
    ((2, 4, 9, 9), (2, 3), (3, 4), (0, 1), (2, 1)),
]


def _pool(x: np.ndarray, case: tuple, gy: np.ndarray | None, on: bool) -> list[np.ndarray]:
    _, kernel, stride, pad, dilation = case
    with kernels.use(on):
        op = MaxPool()
        op.needs_input_grad = (True,)
        y = op.forward(x, kernel=kernel, stride=stride,
                       padding=((pad[0], pad[0]), (pad[1], pad[1])), dilation=dilation)
        if gy is None:
            return [y]
        return [y, op.backward(gy)]


@pytest.mark.parametrize("case", POOLS)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_max_pool_kernel_equals_numpy(case: tuple, dtype: type) -> None:
    rng = np.random.default_rng(1)
    # Ties (values rounded to halves) test the first-maximum rule.
    x = _batch_inner(np.round(2 * rng.standard_normal(case[0])).astype(dtype) / 2)
    (y,) = _pool(x, case, None, False)
    gy = _batch_inner(rng.standard_normal(y.shape).astype(dtype))
    before, before_2x2 = kernels.calls(), _numba_pool._max2_forward.calls
    on = _pool(x, case, gy, True)
    assert kernels.calls() > before, "the pooling kernels did not run"
    two_by_two = case[1] == case[2] == (2, 2) and case[4] == (1, 1)
    assert (_numba_pool._max2_forward.calls > before_2x2) == two_by_two
    off = _pool(x, case, gy, False)
    for got, want in zip(on, off, strict=True):
        assert got.dtype == dtype
        np.testing.assert_array_equal(got, want)


def test_max_pool_kernel_passes_nan_like_numpy() -> None:
    x = np.arange(2 * 1 * 4 * 4, dtype=np.float32).reshape(2, 1, 4, 4)
    x[0, 0, 1, 1] = np.nan
    x[1, 0, 2, 3] = -np.inf
    case = (x.shape, (2, 2), (2, 2), (0, 0), (1, 1))
    gy = np.ones((2, 1, 2, 2), np.float32)
    on, off = _pool(x, case, gy, True), _pool(x, case, gy, False)
    for got, want in zip(on, off, strict=True):
        np.testing.assert_array_equal(got, want)
    assert np.isnan(on[0][0, 0, 0, 0]) and on[1][0, 0, :2, :2].sum() == 0


DIRECT = [  # x shape, w shape, padding: stride 1, batch >= MIN_BATCH
    ((16, 6, 14, 14), (16, 6, 5, 5), 0),
    ((17, 1, 9, 11), (6, 1, 5, 5), 2),
    ((16, 3, 7, 6), (5, 3, 3, 4), 1),  # an odd number of output channels, kW % 4 != 0
    ((16, 2, 1, 13), (3, 2, 1, 7), (0, 3)),  # a conv1d's image of height 1
]


@pytest.mark.parametrize("case", DIRECT)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_direct_convolution_equals_im2col(case: tuple, dtype: type) -> None:
    xs, ws, pad = case
    full = (xs, ws, (1, 1), pad, (1, 1), 1)
    before = kernels.calls()
    on = _conv(dtype, full, True)
    assert kernels.calls() > before, "the direct kernels did not run"
    off = _conv(dtype, full, False)
    tol = 1e-4 if dtype == np.float32 else 1e-12
    for got, want in zip(on, off, strict=True):
        assert got.dtype == dtype
        np.testing.assert_allclose(got, want, rtol=tol, atol=tol * np.abs(want).max())


GRADCHECKS = [  # x shape, w shape, padding, with a bias: stride 1, batch >= MIN_BATCH
    pytest.param((16, 2, 5, 6), (3, 2, 3, 3), 1, True, id="odd-channels-padded"),
    pytest.param((16, 3, 4, 5), (4, 3, 2, 3), 0, False, id="even-channels-no-bias"),
    pytest.param((17, 2, 7), (3, 2, 3), 2, True, id="conv1d"),
]


@pytest.mark.parametrize(("xs", "ws", "pad", "with_bias"), GRADCHECKS)
def test_direct_convolution_gradcheck_in_float64(xs: tuple, ws: tuple, pad: int,
                                                  with_bias: bool) -> None:
    import shenjing as sj
    from shenjing.ops import _numba_direct

    rng = np.random.default_rng(3)
    conv = sj.conv1d if len(xs) == 3 else sj.conv2d
    x = sj.tensor(rng.standard_normal(xs), requires_grad=True)
    w = sj.tensor(rng.standard_normal(ws), requires_grad=True)
    b = sj.tensor(rng.standard_normal(ws[0]), requires_grad=True) if with_bias else None
    counts = _numba_direct._correlate.calls, _numba_direct._weight_grad.calls
    with kernels.use(True):
        assert sj.gradcheck(lambda x, w, b: conv(x, w, b, padding=pad), [x, w, b])
    after = _numba_direct._correlate.calls, _numba_direct._weight_grad.calls
    assert all(b > a for a, b in zip(counts, after, strict=True)), "a kernel did not run"


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_direct_conv1d_equals_im2col(dtype: type) -> None:
    import shenjing as sj
    from shenjing.ops import _numba_direct

    rng = np.random.default_rng(4)
    x = rng.standard_normal((20, 3, 30)).astype(dtype)
    w = rng.standard_normal((5, 3, 4)).astype(dtype)
    b = rng.standard_normal(5).astype(dtype)
    gy = rng.standard_normal((20, 5, 29)).astype(dtype)

    def run(on: bool) -> list[np.ndarray]:
        with kernels.use(on):
            xt, wt, bt = (sj.from_numpy(a.copy()).requires_grad_() for a in (x, w, b))
            y = sj.conv1d(xt, wt, bt, padding=1)
            y.backward(sj.from_numpy(gy))
            return [np.array(t) for t in (y, xt.grad, wt.grad, bt.grad)]

    before = _numba_direct._correlate.calls
    on = run(True)
    assert _numba_direct._correlate.calls > before, "the direct kernels did not run"
    tol = 1e-4 if dtype == np.float32 else 1e-12
    for got, want in zip(on, run(False), strict=True):
        assert got.dtype == dtype
        np.testing.assert_allclose(got, want, rtol=tol, atol=tol * np.abs(want).max())


def test_a_batch_under_min_batch_keeps_im2col() -> None:
    from shenjing.ops import _numba_direct

    case = ((_numba_direct.MIN_BATCH - 1, 3, 8, 8), (4, 3, 3, 3), (1, 1), 1, (1, 1), 1)
    before = _numba_direct._correlate.calls, _numba_direct._weight_grad.calls
    on = _conv(np.float32, case, True)
    assert (_numba_direct._correlate.calls, _numba_direct._weight_grad.calls) == before
    for got, want in zip(on, _conv(np.float32, case, False), strict=True):
        np.testing.assert_array_equal(got, want)  # im2col both ways (col2im: same sums)


def test_direct_convolution_is_deterministic() -> None:
    case = (*DIRECT[0][:2], (1, 1), 0, (1, 1), 1)
    first, second = _conv(np.float32, case, True), _conv(np.float32, case, True)
    for a, b in zip(first, second, strict=True):
        np.testing.assert_array_equal(a, b)


def test_compiled_lenet5_trains_the_same_with_the_conv_and_pool_kernels() -> None:
    import shenjing as sj
    import shenjing.nn.functional as F
    from shenjing.models import lenet5
    from shenjing.ops import _numba_direct, _numba_pool

    rng = np.random.default_rng(7)
    data = [(rng.standard_normal((16, 1, 28, 28)).astype(np.float32),
             rng.integers(0, 10, 16))] * 5  # one batch, five steps

    def train(on: bool) -> list[float]:
        with kernels.use(on):
            sj.manual_seed(0)
            model = lenet5()
            opt = sj.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)

            @sj.compile
            def step(x: sj.Tensor, y: sj.Tensor) -> sj.Tensor:
                loss = F.cross_entropy(model(x), y)
                opt.zero_grad()
                loss.backward()
                opt.step()
                return loss

            return [step(sj.tensor(x), sj.tensor(y)).item() for x, y in data]

    kernels_used = (_numba_direct._correlate, _numba_direct._weight_grad,
                    _numba_pool._bias_relu_max2_forward, _numba_pool._relu_max2_backward)
    counts = [k.calls for k in kernels_used]
    on = train(True)
    after = [k.calls for k in kernels_used]
    assert all(b > a for a, b in zip(counts, after, strict=True)), "a kernel did not run"
    off = train(False)
    np.testing.assert_allclose(on, off, rtol=1e-5)
    assert on[-1] < on[0]  # it fits the batch, slowly at first
