"""The optimizer updates on the CPU kernel tier (``optim/_numba_kernels.py``) against
their NumPy reference: the same trajectory to float32 rounding (float64: to 1e-12),
through both the per-parameter and the flat-buffer paths, deterministic."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

import shenjing as sj
from shenjing import kernels

pytestmark = pytest.mark.skipif(not kernels.available(), reason="needs Numba (shenjing[fast])")

CONFIGS = [
    ("Adam", {"lr": 0.01}),
    ("Adam", {"lr": 0.01, "amsgrad": True, "weight_decay": 0.1, "maximize": True}),
    ("AdamW", {"lr": 0.01, "weight_decay": 0.1}),
    ("AdamW", {"lr": 0.01, "amsgrad": True}),
    ("SGD", {"lr": 0.05, "momentum": 0.9}),
    ("SGD", {"lr": 0.05, "momentum": 0.9, "nesterov": True, "weight_decay": 0.01}),
    ("SGD", {"lr": 0.05, "momentum": 0.8, "dampening": 0.3}),
    ("RMSprop", {"lr": 0.01}),
    ("RMSprop", {"lr": 0.01, "centered": True}),
    ("RMSprop", {"lr": 0.01, "momentum": 0.9}),
    ("RMSprop", {"lr": 0.01, "momentum": 0.9, "centered": True, "weight_decay": 0.01}),
]


def _trajectory(name: str, options: dict[str, Any], dtype: str) -> list[np.ndarray]:
    """Six steps on a small layout (flat-buffer path) and a large parameter (on its
    own), with gradients that change every step; the parameters and state after."""
    rng = np.random.default_rng(0)
    shapes = [(3, 4), (4,), (130, 130)]  # the last is above fused.FUSE_BELOW
    params = [sj.tensor(rng.standard_normal(s), dtype=dtype, requires_grad=True)
              for s in shapes]
    opt = getattr(sj.optim, name)(params, **options)
    for _ in range(6):
        for p in params:
            p.grad = sj.tensor(rng.standard_normal(p.shape), dtype=dtype)
        opt.step()
    state = [np.asarray(v) for p in params for v in opt.state[p].values()
             if isinstance(v, np.ndarray)]
    return [p.numpy() for p in params] + state


@pytest.mark.parametrize(("name", "options"), CONFIGS,
                         ids=[f"{n}-{'-'.join(map(str, o))}" for n, o in CONFIGS])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_kernel_update_matches_numpy(name: str, options: dict[str, Any], dtype: str) -> None:
    before = kernels.calls()
    with kernels.use(True):
        on = _trajectory(name, options, dtype)
        again = _trajectory(name, options, dtype)
    assert kernels.calls() > before, "the kernel tier was not used"
    with kernels.use(False):
        off = _trajectory(name, options, dtype)
    # Rounding differs by an FMA here and there: relative to each array's scale, since
    # an element near zero may come out of a cancellation of much larger terms.
    eps = 1e-6 if dtype == "float32" else 1e-13
    assert len(on) == len(off)
    for got, expected, repeat in zip(on, off, again, strict=True):
        assert got.dtype == np.dtype(dtype)
        np.testing.assert_allclose(got, expected, rtol=10 * eps,
                                   atol=4 * eps * np.abs(expected).max())
        np.testing.assert_array_equal(got, repeat)  # deterministic
