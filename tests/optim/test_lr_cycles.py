"""LambdaLR, OneCycleLR and CosineAnnealingWarmRestarts step by step
against torch.optim.lr_scheduler on the same problem (learning rates, momentum or β₁,
and the parameters) and their state_dict round trips."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import shenjing as sj

W = np.array([1.0, -2.0], np.float32)

CASES = [
    ("SGD", {"lr": 0.1}, "LambdaLR", {"lr_lambda": lambda e: 0.9**e + 0.1 * e}, None),
    ("SGD", {"lr": 0.1, "momentum": 0.9}, "OneCycleLR", {"max_lr": 0.5, "total_steps": 20},
     None),
    ("SGD", {"lr": 0.1, "momentum": 0.9}, "OneCycleLR",
     {"max_lr": 0.5, "epochs": 4, "steps_per_epoch": 5, "anneal_strategy": "linear",
      "three_phase": True, "pct_start": 0.25}, None),
    ("Adam", {"lr": 0.1}, "OneCycleLR",
     {"max_lr": 0.5, "total_steps": 20, "div_factor": 10, "final_div_factor": 100,
      "base_momentum": 0.8, "max_momentum": 0.9}, None),
    ("SGD", {"lr": 0.1}, "OneCycleLR", {"max_lr": 0.5, "total_steps": 20,
                                        "cycle_momentum": False}, None),
    ("SGD", {"lr": 0.1}, "CosineAnnealingWarmRestarts", {"T_0": 3}, None),
    ("SGD", {"lr": 0.1}, "CosineAnnealingWarmRestarts",
     {"T_0": 2, "T_mult": 2, "eta_min": 0.01}, None),
    ("SGD", {"lr": 0.1}, "CosineAnnealingWarmRestarts", {"T_0": 2, "T_mult": 3, "eta_min": 0.01},
     [0.13 * i for i in range(1, 21)]),  # fractional epochs, as within an epoch
    ("SGD", {"lr": 0.1}, "CosineAnnealingWarmRestarts", {"T_0": 3},
     [0.5 * i for i in range(1, 21)]),
]


def _make(lib, opt_name, opt_kwargs, sched_name, sched_kwargs):
    if lib == "torch":
        import torch

        params = [torch.tensor(W, requires_grad=True)]
        opt = getattr(torch.optim, opt_name)(params, **opt_kwargs)
        return params, opt, getattr(torch.optim.lr_scheduler, sched_name)(opt, **sched_kwargs)
    params = [sj.tensor(W, requires_grad=True)]
    opt = getattr(sj.optim, opt_name)(params, **opt_kwargs)
    return params, opt, getattr(sj.optim.lr_scheduler, sched_name)(opt, **sched_kwargs)


@pytest.mark.torch
@pytest.mark.parametrize(("opt_name", "opt_kwargs", "sched_name", "sched_kwargs", "epochs"),
                         CASES, ids=[f"{c[2]}-{i}" for i, c in enumerate(CASES)])
def test_matches_torch_step_by_step(opt_name, opt_kwargs, sched_name, sched_kwargs,
                                    epochs) -> None:
    torch = pytest.importorskip("torch")
    tp, topt, tsched = _make("torch", opt_name, opt_kwargs, sched_name, sched_kwargs)
    sp, sopt, ssched = _make("sj", opt_name, opt_kwargs, sched_name, sched_kwargs)
    lrs = []
    for i in range(20):
        tp[0].grad = 2 * tp[0].detach()
        sp[0].grad = sj.tensor(2 * sp[0].array)
        topt.step()
        sopt.step()
        with warnings.catch_warnings():  # torch's note on passing an epoch to step()
            warnings.simplefilter("ignore", UserWarning)
            tsched.step() if epochs is None else tsched.step(epochs[i])
        ssched.step() if epochs is None else ssched.step(epochs[i])
        np.testing.assert_allclose(ssched.get_last_lr(), tsched.get_last_lr(), rtol=1e-12)
        for key in ("momentum", "betas"):
            if key in topt.param_groups[0]:
                np.testing.assert_allclose(sopt.param_groups[0][key],
                                           topt.param_groups[0][key], rtol=1e-12)
        lrs.append(ssched.get_last_lr()[0])
    assert len(set(lrs)) > 2  # the schedule moves
    np.testing.assert_allclose(sp[0].numpy(), tp[0].detach().numpy(), rtol=1e-5, atol=1e-9)
    assert torch.is_tensor(tp[0])


@pytest.mark.parametrize(("opt_name", "opt_kwargs", "sched_name", "sched_kwargs", "epochs"),
                         [c for c in CASES if c[4] is None],
                         ids=[f"{c[2]}-{i}" for i, c in enumerate(CASES) if c[4] is None])
def test_state_dict_round_trip_resumes_the_schedule(opt_name, opt_kwargs, sched_name,
                                                    sched_kwargs, epochs) -> None:
    _, opt, sched = _make("sj", opt_name, opt_kwargs, sched_name, sched_kwargs)
    for _ in range(7):
        sched.step()
    saved_opt, saved = opt.state_dict(), sched.state_dict()
    expected = []
    for _ in range(5):
        sched.step()
        expected.append(sched.get_last_lr())
    _, opt2, sched2 = _make("sj", opt_name, opt_kwargs, sched_name, sched_kwargs)
    opt2.load_state_dict(saved_opt)
    sched2.load_state_dict(saved)
    got = []
    for _ in range(5):
        sched2.step()
        got.append(sched2.get_last_lr())
    assert got == expected


def test_one_cycle_needs_momentum_and_stops_at_total_steps() -> None:
    opt = sj.optim.Adagrad([sj.tensor([1.0], requires_grad=True)], lr=0.1)
    with pytest.raises(ValueError, match="must support momentum or beta1"):
        sj.optim.lr_scheduler.OneCycleLR(opt, max_lr=1.0, total_steps=3)
    sched = sj.optim.lr_scheduler.OneCycleLR(opt, max_lr=1.0, total_steps=3,
                                             cycle_momentum=False)
    for _ in range(3):
        sched.step()
    with pytest.raises(ValueError, match="Tried to step 4 times"):
        sched.step()
