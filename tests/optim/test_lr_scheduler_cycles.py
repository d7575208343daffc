"""LambdaLR, MultiplicativeLR, ConstantLR, PolynomialLR, SequentialLR,
CosineAnnealingWarmRestarts and OneCycleLR against PyTorch's, step by step: every group's
learning rate (and OneCycleLR's momentum or β₁) after every step; closed forms where
PyTorch is not installed."""

from __future__ import annotations

import numpy as np
import pytest

import shenjing as sj
from shenjing.optim import lr_scheduler


def _pair(torch, optimizer: str):
    """The same two parameter groups in both libraries."""
    ours = [sj.zeros(2, requires_grad=True), sj.zeros(3, requires_grad=True)]
    theirs = [torch.zeros(2, requires_grad=True), torch.zeros(3, requires_grad=True)]
    kwargs = {"momentum": 0.9} if optimizer == "SGD" else {}
    make = [{"params": [ours[0]], "lr": 0.1}, {"params": [ours[1]], "lr": 0.02}]
    make_t = [{"params": [theirs[0]], "lr": 0.1}, {"params": [theirs[1]], "lr": 0.02}]
    return (getattr(sj.optim, optimizer)(make, lr=0.1, **kwargs),
            getattr(torch.optim, optimizer)(make_t, lr=0.1, **kwargs))


def _trace(opt, sched, steps: int, epochs=None) -> list:
    rows = []
    for i in range(steps):
        opt.step()
        if epochs is None:
            sched.step()
        else:
            sched.step(epochs[i])
        rows.append([(g["lr"], g.get("momentum"), g.get("betas", (None,))[0])
                     for g in opt.param_groups])
    return rows


CASES = {
    "lambda": ("SGD", "LambdaLR", {"lr_lambda": lambda e: 0.95**e}, 12, None),
    "lambda-per-group": ("SGD", "LambdaLR",
                         {"lr_lambda": [lambda e: 1 / (e + 1), lambda e: 0.5 * e]}, 8, None),
    "multiplicative": ("SGD", "MultiplicativeLR", {"lr_lambda": lambda e: 0.9 + 0.01 * e},
                       10, None),
    "constant": ("SGD", "ConstantLR", {"factor": 0.5, "total_iters": 3}, 6, None),
    "polynomial": ("SGD", "PolynomialLR", {"total_iters": 6, "power": 2.0}, 9, None),
    "warm-restarts": ("SGD", "CosineAnnealingWarmRestarts", {"T_0": 3, "eta_min": 0.001},
                      14, None),
    "warm-restarts-mult": ("SGD", "CosineAnnealingWarmRestarts", {"T_0": 2, "T_mult": 2},
                           20, None),
    "warm-restarts-fractional": ("SGD", "CosineAnnealingWarmRestarts", {"T_0": 2, "T_mult": 3},
                                 24, [i / 4 for i in range(1, 25)]),
    "one-cycle-sgd": ("SGD", "OneCycleLR", {"max_lr": 0.5, "total_steps": 20}, 20, None),
    "one-cycle-adam-linear": ("Adam", "OneCycleLR",
                              {"max_lr": [0.3, 0.03], "epochs": 3, "steps_per_epoch": 5,
                               "anneal_strategy": "linear", "pct_start": 0.4}, 15, None),
    "one-cycle-three-phase": ("SGD", "OneCycleLR",
                              {"max_lr": 1.0, "total_steps": 17, "three_phase": True,
                               "div_factor": 10.0, "final_div_factor": 100.0}, 17, None),
}


def _compare(got: list, expected: list) -> None:
    for row, expected_row in zip(got, expected, strict=True):
        for values, expected_values in zip(row, expected_row, strict=True):
            for a, b in zip(values, expected_values, strict=True):
                assert (a is None) == (b is None)
                if a is not None:
                    assert a == pytest.approx(b, rel=1e-12, abs=1e-15)


@pytest.mark.torch
@pytest.mark.parametrize("case", CASES.values(), ids=CASES.keys())
def test_schedules_match_pytorch_step_by_step(case) -> None:
    torch = pytest.importorskip("torch")
    optimizer, name, kwargs, steps, epochs = case
    ours_opt, theirs_opt = _pair(torch, optimizer)
    ours = getattr(lr_scheduler, name)(ours_opt, **kwargs)
    theirs = getattr(torch.optim.lr_scheduler, name)(theirs_opt, **kwargs)
    np.testing.assert_allclose(ours.get_last_lr(), theirs.get_last_lr(), rtol=1e-12)
    _compare(_trace(ours_opt, ours, steps, epochs), _trace(theirs_opt, theirs, steps, epochs))


def _warmup_then_decay(library, opt) -> object:
    """Linear warm-up for 3 epochs, then cosine annealing, then a constant stretch."""
    schedules = library.optim.lr_scheduler
    return schedules.SequentialLR(
        opt,
        [schedules.LinearLR(opt, start_factor=0.1, total_iters=3),
         schedules.CosineAnnealingLR(opt, T_max=5, eta_min=0.001),
         schedules.ConstantLR(opt, factor=0.5, total_iters=2)],
        milestones=[3, 8],
    )


@pytest.mark.torch
@pytest.mark.parametrize("optimizer", ["SGD", "Adam"])
def test_sequential_matches_pytorch_step_by_step(optimizer: str) -> None:
    torch = pytest.importorskip("torch")
    ours_opt, theirs_opt = _pair(torch, optimizer)
    ours, theirs = _warmup_then_decay(sj, ours_opt), _warmup_then_decay(torch, theirs_opt)
    np.testing.assert_allclose(ours.get_last_lr(), theirs.get_last_lr(), rtol=1e-12)
    _compare(_trace(ours_opt, ours, 14), _trace(theirs_opt, theirs, 14))


def test_new_schedules_follow_their_closed_forms() -> None:
    w = sj.zeros(1, requires_grad=True)
    lrs = {}
    for name, kwargs in [("MultiplicativeLR", {"lr_lambda": lambda e: 0.5}),
                         ("ConstantLR", {"factor": 0.25, "total_iters": 2}),
                         ("PolynomialLR", {"total_iters": 4, "power": 2.0})]:
        opt = sj.optim.SGD([w], lr=1.0)
        sched = getattr(lr_scheduler, name)(opt, **kwargs)
        lrs[name] = [sched.get_last_lr()[0]]
        for _ in range(5):
            opt.step()
            sched.step()
            lrs[name].append(sched.get_last_lr()[0])
    assert lrs["MultiplicativeLR"] == [1.0, 0.5, 0.25, 0.125, 0.0625, 0.03125]
    assert lrs["ConstantLR"] == [0.25, 0.25, 1.0, 1.0, 1.0, 1.0]
    assert lrs["PolynomialLR"] == [1.0, 0.5625, 0.25, 0.0625, 0.0, 0.0]


def test_sequential_saves_and_resumes_its_inner_schedulers() -> None:
    def make():
        opt = sj.optim.SGD([sj.zeros(1, requires_grad=True)], lr=1.0)
        return opt, _warmup_then_decay(sj, opt)

    opt, sched = make()
    for _ in range(5):
        opt.step()
        sched.step()
    saved = sched.state_dict()
    expected = []
    for _ in range(6):
        opt.step()
        sched.step()
        expected.append(sched.get_last_lr()[0])
    opt2, resumed = make()
    resumed.load_state_dict(saved)
    got = []
    for _ in range(6):
        opt2.step()
        resumed.step()
        got.append(resumed.get_last_lr()[0])
    assert got == expected


def test_sequential_refuses_mismatched_milestones_and_foreign_schedulers() -> None:
    opt = sj.optim.SGD([sj.zeros(1, requires_grad=True)], lr=1.0)
    other = sj.optim.SGD([sj.zeros(1, requires_grad=True)], lr=1.0)
    a, b = lr_scheduler.StepLR(opt, 2), lr_scheduler.StepLR(other, 2)
    with pytest.raises(ValueError, match="1 milestones for 2 schedulers"):
        lr_scheduler.SequentialLR(opt, [a, lr_scheduler.StepLR(opt, 3)], milestones=[])
    with pytest.raises(ValueError, match=r"schedulers\[1\] must be a scheduler of the"):
        lr_scheduler.SequentialLR(opt, [a, b], milestones=[2])


def test_one_cycle_refuses_a_step_past_the_end_and_bad_arguments() -> None:
    w = sj.zeros(1, requires_grad=True)
    sched = lr_scheduler.OneCycleLR(sj.optim.SGD([w], lr=0.1, momentum=0.9), max_lr=1.0,
                                    total_steps=2)
    sched.step()
    sched.step()
    with pytest.raises(ValueError, match="Tried to step 3 times. The specified number of "
                                         "total steps is 2"):
        sched.step()
    with pytest.raises(ValueError, match="optimizer must support momentum or beta1"):
        lr_scheduler.OneCycleLR(sj.optim.Adagrad([w], lr=0.1), max_lr=1.0, total_steps=5)
    with pytest.raises(ValueError, match="give total_steps, or epochs and steps_per_epoch"):
        lr_scheduler.OneCycleLR(sj.optim.SGD([w], lr=0.1), max_lr=1.0)
    with pytest.raises(ValueError, match="LambdaLR: expected one function or 1 functions"):
        lr_scheduler.LambdaLR(sj.optim.SGD([w], lr=0.1), [lambda e: 1.0, lambda e: 2.0])
