"""GradScaler, step by step against torch.amp.GradScaler("cpu") on the same gradients."""

from __future__ import annotations

import numpy as np
import pytest

import shenjing as sj

torch = pytest.importorskip("torch")

# Per step, the coefficients c of the loss Σ p·c: the gradient is c·scale. 1e38 times the
# scale overflows float32, so that step's gradients hold inf and the step is skipped.
STEPS = [
    np.array([0.5, -1.0, 2.0], np.float32),
    np.array([1.0, 0.25, -0.5], np.float32),
    np.array([1e38, 1.0, 1.0], np.float32),  # inf gradient: skipped, scale backs off
    np.array([-0.5, 0.5, 1.5], np.float32),
    np.array([2.0, 1.0, -1.0], np.float32),  # second clean step in a row: scale grows
    np.array([0.1, 0.2, 0.3], np.float32),
]


def _pair(**kwargs):
    start = np.array([1.0, 2.0, -3.0], np.float32)
    p = sj.tensor(start, requires_grad=True)
    pt = torch.from_numpy(start.copy()).requires_grad_()
    opt = sj.optim.SGD([p], lr=0.1, momentum=0.9)
    opt_t = torch.optim.SGD([pt], lr=0.1, momentum=0.9)
    ours = sj.amp.GradScaler("cpu", **kwargs)
    theirs = torch.amp.GradScaler("cpu", **kwargs)
    return (p, opt, ours), (pt, opt_t, theirs)


def test_step_by_step_like_pytorch():
    (p, opt, ours), (pt, opt_t, theirs) = _pair(init_scale=4.0, growth_interval=2)
    for c in STEPS:
        opt.zero_grad()
        opt_t.zero_grad()
        with np.errstate(over="ignore"):
            ours.scale((p * sj.tensor(c)).sum()).backward()
        theirs.scale((pt * torch.from_numpy(c)).sum()).backward()
        np.testing.assert_array_equal(p.grad.numpy(), pt.grad.numpy())  # scaled grads
        r, rt = ours.step(opt), theirs.step(opt_t)
        assert (r is None) == (rt is None)
        ours.update()
        theirs.update()
        # the unscaled gradients are equal; SGD's own float32 rounding may differ by an ulp
        np.testing.assert_array_equal(p.grad.numpy(), pt.grad.numpy())
        np.testing.assert_allclose(p.detach().numpy(), pt.detach().numpy(), rtol=1e-6)
        assert ours.get_scale() == theirs.get_scale()
        assert ours.state_dict() == theirs.state_dict()
    # 4 → 8 (two clean) → 4 (inf) → 8 (two clean); the last step is one clean in a row.
    assert ours.get_scale() == 8.0 and ours.state_dict()["_growth_tracker"] == 1


def test_unscale_then_clip_and_misuse_errors_like_pytorch():
    (p, opt, ours), (pt, opt_t, theirs) = _pair(init_scale=1024.0)
    ours.scale((p * sj.tensor(STEPS[0])).sum()).backward()
    theirs.scale((pt * torch.from_numpy(STEPS[0])).sum()).backward()
    ours.unscale_(opt)
    theirs.unscale_(opt_t)
    np.testing.assert_array_equal(p.grad.numpy(), pt.grad.numpy())  # unscaled
    sj.nn.utils.clip_grad_norm_([p], 1.0)
    torch.nn.utils.clip_grad_norm_([pt], 1.0)
    with pytest.raises(RuntimeError, match="unscale_\\(\\) has already been called"):
        ours.unscale_(opt)
    ours.step(opt)
    theirs.step(opt_t)
    np.testing.assert_allclose(p.detach().numpy(), pt.detach().numpy(), rtol=1e-6)
    with pytest.raises(RuntimeError, match="step\\(\\) has already been called"):
        ours.step(opt)
    with pytest.raises(RuntimeError, match="unscale_\\(\\) is being called after step"):
        ours.unscale_(opt)
    ours.update()
    with pytest.raises(AssertionError, match="No inf checks"):
        ours.update()


def test_new_scale_state_dict_round_trip_and_disabled():
    (p, opt, ours), (pt, opt_t, theirs) = _pair()
    assert ours.get_scale() == theirs.get_scale() == 65536.0
    with pytest.raises(AssertionError, match="did not use scaler.scale"):
        ours.update()  # as PyTorch: scale() comes first
    ours.scale((p * 2).sum())
    theirs.scale((pt * 2).sum())
    ours.update(new_scale=128.0)
    assert ours.get_scale() == 128.0
    ours.update(new_scale=sj.tensor(32.0))
    assert ours.get_scale() == 32.0
    theirs.update(new_scale=32.0)
    fresh = sj.amp.GradScaler("cpu")
    fresh.load_state_dict(theirs.state_dict())  # PyTorch's state dict loads as is
    assert fresh.state_dict() == theirs.state_dict() == ours.state_dict()

    off = sj.amp.GradScaler("cpu", enabled=False)
    assert not off.is_enabled() and off.get_scale() == 1.0 and off.state_dict() == {}
    loss = (p * 2).sum()
    assert off.scale(loss) is loss
    loss.backward()
    off.step(opt)  # a plain step
    np.testing.assert_allclose(p.detach().numpy(), [0.8, 1.8, -3.2], rtol=1e-6)
    with pytest.raises(RuntimeError, match="disabled instance"):
        off.load_state_dict(ours.state_dict())
    with pytest.raises(RuntimeError, match="source state dict is empty"):
        fresh.load_state_dict({})


def test_nan_gradient_skips_the_step():
    p = sj.tensor([1.0, 2.0], requires_grad=True)
    opt = sj.optim.SGD([p], lr=0.1)
    scaler = sj.amp.GradScaler("cpu", init_scale=2.0)
    with np.errstate(invalid="ignore"):
        scaler.scale((p * sj.tensor([np.nan, 1.0])).sum()).backward()
    assert scaler.step(opt) is None
    scaler.update()
    np.testing.assert_array_equal(p.detach().numpy(), [1.0, 2.0])
    assert scaler.get_scale() == 1.0
