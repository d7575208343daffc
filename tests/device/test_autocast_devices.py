"""autocast and GradScaler on a device (the strict stand-in; CUDA when present): the same
dtypes and values as on the CPU, and a mixed-precision step that reads back to the host
only once (the GradScaler's inf check)."""

from __future__ import annotations

import numpy as np
import pytest

import shenjing as sj
import shenjing.nn as nn
import shenjing.nn.functional as F
from shenjing.testing import strict

rng = np.random.default_rng(0)
X = rng.normal(size=(6, 5)).astype(np.float32)
W = rng.normal(size=(3, 5)).astype(np.float32)
IMG = rng.normal(size=(2, 1, 6, 6)).astype(np.float32)
K = rng.normal(size=(2, 1, 3, 3)).astype(np.float32)
T = np.array([0, 1, 2, 1, 0, 2])


def _dtypes(low, on):
    """The output dtypes (and logits, grads) of a small forward/backward on ``on``."""
    x = sj.tensor(X, device=on)
    w = sj.tensor(W, device=on, requires_grad=True)
    img, k = sj.tensor(IMG, device=on), sj.tensor(K, device=on, requires_grad=True)
    t = sj.tensor(T, device=on)
    device_type = "cpu" if on == "cpu" else sj.device(on).type
    with sj.autocast(device_type, dtype=low):
        logits = F.linear(x, w)
        conv = F.conv2d(img, k)
        act = logits.relu()
        loss = F.cross_entropy(logits, t) + conv.float().mean()
    loss.backward()
    kinds = [str(a.dtype) for a in (logits, conv, act, loss, w.grad, k.grad)]
    return kinds, logits.float().cpu().numpy(), w.grad.cpu().numpy()


@pytest.mark.parametrize("low", ["float16", "bfloat16"])
def test_autocast_on_the_device_matches_the_cpu(device: str, low: str) -> None:
    if low == "bfloat16":
        if device.startswith("cuda"):
            pytest.skip("CuPy has no bfloat16")
        pytest.importorskip("ml_dtypes")
    kinds, logits, grad = _dtypes(low, device)
    cpu_kinds, cpu_logits, cpu_grad = _dtypes(low, "cpu")
    assert kinds == cpu_kinds == [low, low, low, "float32", "float32", "float32"]
    # The device computes float16 natively, the CPU in float32 then rounds: one step of
    # the low dtype apart at most.
    np.testing.assert_allclose(logits, cpu_logits, rtol=2**-7, atol=2e-2)
    np.testing.assert_allclose(grad, cpu_grad, rtol=2**-6, atol=2e-2)


def test_mixed_precision_step_reads_back_once() -> None:
    sj.manual_seed(0)
    model = nn.Sequential(nn.Linear(5, 8), nn.ReLU(), nn.Linear(8, 3)).to("strict")
    opt = sj.optim.Adam(model.parameters(), lr=1e-3)
    scaler = sj.amp.GradScaler("strict", init_scale=256.0)
    x, t = sj.tensor(X, device="strict"), sj.tensor(T, device="strict")
    before = strict.host_syncs
    for _ in range(2):
        with sj.autocast("strict", dtype=sj.float16):
            loss = F.cross_entropy(model(x), t)
        opt.zero_grad()
        scaler.scale(loss).backward()
        scaler.step(opt)
        scaler.update()
    assert strict.host_syncs == before + 2  # the inf check of each step, nothing else
    assert model[0].weight.dtype == np.float32


def test_fit_in_fp16_on_the_device_trains(device: str) -> None:
    x = rng.normal(size=(64, 4)).astype(np.float32)
    y = (x[:, 0] > 0).astype(np.int64)
    sj.manual_seed(0)
    model = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 2))
    model.compile(optimizer=sj.optim.Adam(lr=0.05), loss="cross_entropy",
                  metrics=["accuracy"])
    history = model.fit(x, y, epochs=6, batch_size=16, verbose=0, device=device,
                        precision="fp16")
    assert history.history["loss"][-1] < history.history["loss"][0]
    assert model.evaluate(x, y)["accuracy"] > 0.8
