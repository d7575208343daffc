"""``shenjing.cuda.amp``: PyTorch's deprecated GPU spelling of ``amp``."""

from __future__ import annotations

import numpy as np
import pytest

import shenjing as sj
import shenjing.nn as nn


def test_cuda_amp_imports_as_torch_cuda_amp_does() -> None:
    from shenjing.cuda.amp import GradScaler, autocast

    assert sj.cuda.amp.autocast is autocast
    assert issubclass(autocast, sj.amp.autocast)
    assert issubclass(GradScaler, sj.amp.GradScaler)


def test_cuda_amp_autocast_is_deprecated_and_means_amp_autocast_cuda() -> None:
    with pytest.warns(FutureWarning, match="amp.autocast\\('cuda'"):
        ctx = sj.cuda.amp.autocast()
    assert (ctx.device_type, ctx.fast_dtype, ctx.enabled) == ("cuda", np.float16, True)
    with pytest.warns(FutureWarning):
        off = sj.cuda.amp.autocast(enabled=False, dtype=sj.bfloat16)
    assert off.enabled is False


def test_cuda_amp_autocast_decorates_forward_and_leaves_cpu_ops_in_float32() -> None:
    # minGPT decorates forward with @autocast(); on CPU tensors nothing is autocast, so
    # the numbers are those without the decorator (PyTorch disables it without CUDA).
    sj.manual_seed(0)
    layer = nn.Linear(4, 3)
    with pytest.warns(FutureWarning):
        decorate = sj.cuda.amp.autocast()

    @decorate
    def forward(x: sj.Tensor) -> sj.Tensor:
        assert sj.is_autocast_enabled("cuda")
        return layer(x)

    x = sj.randn(2, 4)
    y = forward(x)
    assert y.dtype == sj.float32
    np.testing.assert_array_equal(y.detach().numpy(), layer(x).detach().numpy())
    assert not sj.is_autocast_enabled("cuda")


def test_cuda_amp_grad_scaler_is_deprecated_and_keeps_its_settings() -> None:
    with pytest.warns(FutureWarning, match="amp.GradScaler\\('cuda'"):
        scaler = sj.cuda.amp.GradScaler(init_scale=8.0, enabled=True)
    loss = sj.tensor(1.5)
    assert scaler.scale(loss).item() == 12.0
