"""clip_grad_norm_ / clip_grad_value_ against closed forms and torch.nn.utils."""

from __future__ import annotations

import math

import numpy as np
import pytest

import shenjing as sj
from shenjing.nn.clip_grad import clip_grad_norm_, clip_grad_value_

_rng = np.random.default_rng(3)
GRADS = [_rng.standard_normal((4, 3)), _rng.standard_normal(3) * 5, _rng.standard_normal(())]


def _params(dtype="float32", with_missing_grad=True):
    params = []
    for g in GRADS:
        p = sj.tensor(np.zeros_like(g), dtype=dtype, requires_grad=True)
        p.grad = sj.tensor(g, dtype=dtype)
        params.append(p)
    if with_missing_grad:
        params.append(sj.tensor([1.0, 2.0], requires_grad=True))  # no gradient: skipped
    return params


def _joint_norm(p):
    flat = np.concatenate([g.ravel() for g in GRADS])
    return np.abs(flat).max() if p == math.inf else (np.abs(flat) ** p).sum() ** (1 / p)


NORM_TYPES = [pytest.param(p, id=f"p={p}") for p in (2.0, 1.0, 3.0, math.inf)]


@pytest.mark.parametrize("max_norm", [0.5, 1e6], ids=["clips", "leaves"])
@pytest.mark.parametrize("norm_type", NORM_TYPES)
def test_clip_grad_norm_matches_closed_form(norm_type, max_norm):
    params = _params("float64")
    total = clip_grad_norm_(params, max_norm, norm_type=norm_type)
    expected_total = _joint_norm(norm_type)
    assert isinstance(total, sj.Tensor) and total.shape == ()
    np.testing.assert_allclose(total.item(), expected_total, rtol=1e-12)
    scale = min(1.0, max_norm / (expected_total + 1e-6))
    for p, g in zip(params, GRADS, strict=False):
        np.testing.assert_allclose(p.grad.array, g * scale, rtol=1e-12)
    assert params[-1].grad is None


@pytest.mark.torch
@pytest.mark.parametrize("max_norm", [0.5, 1e6], ids=["clips", "leaves"])
@pytest.mark.parametrize("norm_type", NORM_TYPES)
def test_clip_grad_norm_matches_torch(norm_type, max_norm):
    torch = pytest.importorskip("torch")
    params = _params("float32")
    torch_params = [torch.zeros(g.shape, requires_grad=True) for g in GRADS]
    for p, g in zip(torch_params, GRADS, strict=True):
        p.grad = torch.tensor(g, dtype=torch.float32)
    expected = torch.nn.utils.clip_grad_norm_(torch_params, max_norm, norm_type=norm_type)
    total = clip_grad_norm_(params, max_norm, norm_type=norm_type)
    assert total.dtype == np.float32
    np.testing.assert_allclose(total.item(), expected.item(), rtol=1e-6)
    for p, t in zip(params, torch_params, strict=False):
        np.testing.assert_allclose(p.grad.array, t.grad.numpy(), rtol=1e-6)


@pytest.mark.torch
@pytest.mark.parametrize("clip_value", [0.0, 0.7, 100.0])
def test_clip_grad_value_matches_torch(clip_value):
    torch = pytest.importorskip("torch")
    params = _params("float32")
    torch_params = [torch.zeros(g.shape, requires_grad=True) for g in GRADS]
    for p, g in zip(torch_params, GRADS, strict=True):
        p.grad = torch.tensor(g, dtype=torch.float32)
    torch.nn.utils.clip_grad_value_(torch_params, clip_value)
    grad_arrays = [p.grad.array for p in params[:-1]]
    assert clip_grad_value_(params, clip_value) is None
    for p, t, array in zip(params, torch_params, grad_arrays, strict=False):
        assert p.grad.array is array  # in place
        np.testing.assert_array_equal(p.grad.array, t.grad.numpy())


def test_clip_grad_value_closed_form():
    w = sj.tensor(np.zeros(4), requires_grad=True)
    w.grad = sj.tensor([-3.0, -0.2, 0.4, 9.0])
    clip_grad_value_(w, 0.5)  # a lone tensor works too
    assert w.grad.tolist() == [-0.5, pytest.approx(-0.2), pytest.approx(0.4), 0.5]


def test_clip_grad_norm_edge_cases():
    assert clip_grad_norm_([sj.tensor([1.0], requires_grad=True)], 1.0).item() == 0.0
    w = sj.tensor([0.0, 0.0], requires_grad=True)
    w.grad = sj.tensor([np.inf, 1.0])
    with pytest.raises(RuntimeError, match="joint 2.0-norm of the gradients is inf"):
        clip_grad_norm_(w, 1.0, error_if_nonfinite=True)
    with pytest.raises(ValueError, match="norm_type must be positive or inf. Received: 0"):
        clip_grad_norm_(w, 1.0, norm_type=0)
    with pytest.raises(ValueError, match="clip_value must be >= 0. Received: -1"):
        clip_grad_value_(w, -1)
    with pytest.raises(TypeError, match="parameter 0 is a ndarray, not a Tensor"):
        clip_grad_norm_([np.zeros(2)], 1.0)
