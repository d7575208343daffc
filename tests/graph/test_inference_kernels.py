"""``sj.compile(module)``'s compiled small-batch layer kernels (the CPU kernel tier):
a convolution fused with its activation and pooling, and a linear layer with its
activation, equal to the NumPy replay (tier off) to float32 rounding, used where they
apply, and deterministic from call to call."""

from __future__ import annotations

import numpy as np
import pytest

import shenjing as sj
import shenjing.nn as nn
from shenjing import kernels
from shenjing.models import lenet5

pytestmark = pytest.mark.skipif(not kernels.available(), reason="needs Numba (shenjing[fast])")


def _both(model: nn.Module, x: np.ndarray) -> tuple[np.ndarray, np.ndarray, int]:
    """The compiled forward with the tier on and off, and how many kernel calls the
    tier-on call made."""
    with kernels.use(True):
        fast = sj.compile(model)
        fast(x)  # trace
        before = kernels.calls()
        on = fast(x).numpy()
        used = kernels.calls() - before
        np.testing.assert_array_equal(fast(x).numpy(), on)  # deterministic
    with kernels.use(False):
        off = sj.compile(model)(x).numpy()
    return on, off, used


CONVS = [
    pytest.param({"padding": 2}, "ReLU", ("max", 2, 2), id="lenet-block"),
    pytest.param({"padding": (1, 0), "dilation": 2}, "Tanh", ("avg", 2, 2), id="dilated-tanh-avg"),
    pytest.param({"padding": 0, "bias": False}, None, ("max", 3, 2), id="no-bias-overlapping-max"),
    pytest.param({"padding": 1}, "ReLU", None, id="no-pool"),
    pytest.param({"padding": 0}, None, ("avg", 3, 1), id="avg-stride-1"),
]


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("batch", [1, 3])
@pytest.mark.parametrize(("options", "activation", "pool"), CONVS)
def test_fused_convolution_equals_numpy(options: dict, activation: str | None,
                                        pool: tuple | None, batch: int, dtype: str) -> None:
    sj.manual_seed(0)
    layers = [nn.Conv2d(3, 5, (3, 4), **options)]
    if activation:
        layers.append(getattr(nn, activation)())
    if pool:
        kind, size, stride = pool
        layers.append({"max": nn.MaxPool2d, "avg": nn.AvgPool2d}[kind](size, stride))
    model = nn.Sequential(*layers, nn.Flatten()).eval().to(dtype)
    x = np.random.default_rng(batch).standard_normal((batch, 3, 11, 9)).astype(dtype)
    on, off, used = _both(model, x)
    assert used >= 1, "the fused kernel did not run"
    tolerance = 1e-5 if dtype == "float32" else 1e-12
    np.testing.assert_allclose(on, off, rtol=tolerance, atol=tolerance)


@pytest.mark.parametrize("batch", [1, 2])
def test_lenet5_and_linear_chains_equal_numpy(batch: int) -> None:
    sj.manual_seed(1)
    for model in (lenet5(), lenet5(activation="tanh"),
                  nn.Sequential(nn.Linear(7, 5), nn.Tanh(), nn.Linear(5, 3, bias=False),
                                nn.ReLU(), nn.Linear(3, 2))):
        model.eval()
        shape = (batch, 1, 28, 28) if isinstance(model[0], nn.Conv2d) else (batch, 7)
        x = np.random.default_rng(2).standard_normal(shape).astype(np.float32)
        on, off, used = _both(model, x)
        assert used >= 3
        np.testing.assert_allclose(on, off, rtol=1e-5, atol=1e-6)


def test_nan_propagates_through_relu_and_max_pool() -> None:
    sj.manual_seed(3)
    model = nn.Sequential(nn.Conv2d(1, 2, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2)).eval()
    x = np.zeros((1, 1, 6, 6), dtype=np.float32)
    x[0, 0, 2, 3] = np.nan
    on, off, _ = _both(model, x)
    np.testing.assert_array_equal(np.isnan(on), np.isnan(off))
    assert np.isnan(on).any()


def test_a_value_read_twice_is_not_fused_away() -> None:
    class Branch(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.conv, self.relu = nn.Conv2d(2, 3, 3), nn.ReLU()

        def forward(self, x: sj.Tensor) -> sj.Tensor:
            y = self.conv(x)
            return self.relu(y) + y  # the convolution's output has two readers

    sj.manual_seed(4)
    model = Branch().eval()
    x = np.random.default_rng(5).standard_normal((1, 2, 7, 7)).astype(np.float32)
    on, off, _ = _both(model, x)
    np.testing.assert_allclose(on, off, rtol=1e-5, atol=1e-6)


def test_large_batches_keep_the_gemm_path() -> None:
    from shenjing.graph.inference_kernels import SMALL_BATCH

    model = nn.Sequential(nn.Conv2d(1, 2, 3), nn.ReLU()).eval()
    x = np.zeros((SMALL_BATCH + 1, 1, 5, 5), dtype=np.float32)
    _, _, used = _both(model, x)
    assert used == 0
