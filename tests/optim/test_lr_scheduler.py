"""Learning-rate schedules against closed forms and torch.optim.lr_scheduler."""

from __future__ import annotations

import math

import numpy as np
import pytest

import shenjing as sj
from shenjing import optim
from shenjing.optim import lr_scheduler

BASE_LRS = (0.1, 0.05)
STEPS = 30

SCHEDULERS = [
    ("StepLR", {"step_size": 4, "gamma": 0.5}),
    ("StepLR", {"step_size": 1}),
    ("MultiStepLR", {"milestones": [15, 3, 7, 7], "gamma": 0.3}),
    ("ExponentialLR", {"gamma": 0.9}),
    ("CosineAnnealingLR", {"T_max": 10}),
    ("CosineAnnealingLR", {"T_max": 12, "eta_min": 0.01}),
    ("LinearLR", {}),
    ("LinearLR", {"start_factor": 0.25, "end_factor": 0.75, "total_iters": 8}),
]
SCHEDULER_PARAMS = [
    pytest.param(name, kwargs, id="-".join([name, *map(str, kwargs.values())]))
    for name, kwargs in SCHEDULERS
]


def _optimizer():
    """An SGD with two groups of different learning rates."""
    a, b = sj.tensor([1.0], requires_grad=True), sj.tensor([2.0], requires_grad=True)
    return optim.SGD([{"params": [a], "lr": BASE_LRS[0]}, {"params": [b], "lr": BASE_LRS[1]}])


def _shenjing_lrs(name, kwargs, steps=STEPS):
    opt = _optimizer()
    scheduler = getattr(lr_scheduler, name)(opt, **kwargs)
    lrs = []
    for _ in range(steps):
        lrs.append(scheduler.get_last_lr())
        assert [g["lr"] for g in opt.param_groups] == lrs[-1]
        opt.step()
        scheduler.step()
    return np.array(lrs)


def _closed_form(name, kwargs, base, t):
    if name == "StepLR":
        return base * kwargs.get("gamma", 0.1) ** (t // kwargs["step_size"])
    if name == "MultiStepLR":
        return base * kwargs["gamma"] ** sum(m <= t for m in kwargs["milestones"])
    if name == "ExponentialLR":
        return base * kwargs["gamma"] ** t
    if name == "CosineAnnealingLR":
        eta_min = kwargs.get("eta_min", 0)
        return eta_min + (base - eta_min) * (1 + math.cos(math.pi * t / kwargs["T_max"])) / 2
    start, end = kwargs.get("start_factor", 1 / 3), kwargs.get("end_factor", 1.0)
    total = kwargs.get("total_iters", 5)
    return base * (start + (end - start) * min(t, total) / total)


@pytest.mark.parametrize(("name", "kwargs"), SCHEDULER_PARAMS)
def test_schedule_matches_closed_form(name, kwargs):
    expected = [[_closed_form(name, kwargs, base, t) for base in BASE_LRS] for t in range(STEPS)]
    np.testing.assert_allclose(_shenjing_lrs(name, kwargs), expected, rtol=1e-12, atol=1e-15)


@pytest.mark.torch
@pytest.mark.parametrize(("name", "kwargs"), SCHEDULER_PARAMS)
def test_schedule_matches_torch(name, kwargs):
    torch = pytest.importorskip("torch")
    params = [torch.zeros(1, requires_grad=True), torch.zeros(1, requires_grad=True)]
    opt = torch.optim.SGD([{"params": [params[0]], "lr": BASE_LRS[0]},
                           {"params": [params[1]], "lr": BASE_LRS[1]}])
    scheduler = getattr(torch.optim.lr_scheduler, name)(opt, **kwargs)
    expected = []
    for _ in range(STEPS):
        expected.append(scheduler.get_last_lr())
        opt.step()
        scheduler.step()
    np.testing.assert_allclose(_shenjing_lrs(name, kwargs), expected, rtol=1e-10, atol=1e-15)


# A validation loss that falls, stalls, dips and stalls again (2 − it for mode="max").
METRICS = np.concatenate([
    np.linspace(1.0, 0.5, 6), np.full(7, 0.5), [0.49995, 0.45, 0.44], np.full(14, 0.44),
])
PLATEAU_OPTIONS = [
    {},
    {"patience": 2, "factor": 0.5},
    {"patience": 1, "factor": 0.5, "cooldown": 2, "min_lr": [0.02, 0.001]},
    {"patience": 0, "factor": 0.3, "threshold": 0.02, "threshold_mode": "abs", "min_lr": 0.004},
    {"mode": "max", "patience": 2, "factor": 0.5, "cooldown": 1},
    {"mode": "max", "patience": 1, "threshold_mode": "abs", "threshold": 0.01, "eps": 0.01},
]


def _plateau_ids(options):
    return "-".join(f"{k}={v}" for k, v in options.items()) or "defaults"


@pytest.mark.torch
@pytest.mark.parametrize("options", PLATEAU_OPTIONS, ids=_plateau_ids)
def test_reduce_on_plateau_matches_torch(options):
    torch = pytest.importorskip("torch")
    metrics = 2 - METRICS if options.get("mode") == "max" else METRICS
    params = [torch.zeros(1, requires_grad=True), torch.zeros(1, requires_grad=True)]
    torch_opt = torch.optim.SGD([{"params": [params[0]], "lr": BASE_LRS[0]},
                                 {"params": [params[1]], "lr": BASE_LRS[1]}])
    torch_scheduler = torch.optim.lr_scheduler.ReduceLROnPlateau(torch_opt, **options)
    opt = _optimizer()
    scheduler = lr_scheduler.ReduceLROnPlateau(opt, **options)
    for epoch, metric in enumerate(metrics):
        torch_opt.step()
        torch_scheduler.step(float(metric))
        scheduler.step(sj.tensor(metric) if epoch % 2 else float(metric))
        assert scheduler.get_last_lr() == pytest.approx(torch_scheduler.get_last_lr(),
                                                        rel=1e-12), f"epoch {epoch}"
    assert scheduler.last_epoch == len(metrics)


def test_reduce_on_plateau_closed_form():
    opt = _optimizer()
    scheduler = lr_scheduler.ReduceLROnPlateau(opt, patience=2, factor=0.5, min_lr=0.03)
    lrs = []
    for metric in [1.0, 1.0, 1.0, 1.0, 0.5, 0.6, 0.6, 0.6, 0.6, 0.6, 0.6]:
        scheduler.step(metric)
        lrs.append(scheduler.get_last_lr()[0])
    # The 3rd bad epoch (> patience 2) halves the rate; the floor stops the second cut at 0.03.
    assert lrs == [0.1, 0.1, 0.1, 0.05, 0.05, 0.05, 0.05, 0.03, 0.03, 0.03, 0.03]


@pytest.mark.parametrize(("name", "kwargs"), SCHEDULER_PARAMS)
def test_state_dict_resumes_schedule(name, kwargs):
    opt = _optimizer()
    scheduler = getattr(lr_scheduler, name)(opt, **kwargs)
    for _ in range(7):
        scheduler.step()
    opt_state, scheduler_state = opt.state_dict(), scheduler.state_dict()
    assert "optimizer" not in scheduler_state
    uninterrupted = []
    for _ in range(10):
        scheduler.step()
        uninterrupted.append(scheduler.get_last_lr())

    new_opt = _optimizer()
    new_opt.load_state_dict(opt_state)
    new_scheduler = getattr(lr_scheduler, name)(new_opt, **kwargs)
    new_scheduler.load_state_dict(scheduler_state)
    resumed = []
    for _ in range(10):
        new_scheduler.step()
        resumed.append(new_scheduler.get_last_lr())
    assert resumed == uninterrupted


def test_reduce_on_plateau_state_dict_round_trip():
    opt = _optimizer()
    scheduler = lr_scheduler.ReduceLROnPlateau(opt, patience=1)
    for metric in [1.0, 0.9, 0.95]:
        scheduler.step(metric)
    state = scheduler.state_dict()
    new_scheduler = lr_scheduler.ReduceLROnPlateau(_optimizer(), patience=1)
    new_scheduler.load_state_dict(state)
    assert (new_scheduler.best, new_scheduler.num_bad_epochs) == (0.9, 1)
    with pytest.raises(ValueError, match="unknown keys"):
        lr_scheduler.StepLR(_optimizer(), step_size=2).load_state_dict(state)


def test_resuming_with_last_epoch():
    opt = _optimizer()
    with pytest.raises(KeyError, match=r"param_groups\[0\] has no 'initial_lr'"):
        lr_scheduler.StepLR(opt, step_size=2, last_epoch=3)
    lr_scheduler.StepLR(opt, step_size=2)  # records initial_lr in each group
    resumed = lr_scheduler.StepLR(opt, step_size=2, gamma=0.5, last_epoch=3)
    assert resumed.last_epoch == 4 and resumed.get_last_lr() == [0.025, 0.0125]


@pytest.mark.parametrize(
    ("make", "error", "message"),
    [
        pytest.param(lambda o: lr_scheduler.StepLR(o, step_size=0), ValueError,
                     "StepLR: step_size must be a positive integer. Received: 0", id="step_size"),
        pytest.param(lambda o: lr_scheduler.MultiStepLR(o, milestones=[2, -1]), ValueError,
                     "milestones must be a positive integer. Received: -1", id="milestones"),
        pytest.param(lambda o: lr_scheduler.CosineAnnealingLR(o, T_max=2.5), ValueError,
                     "T_max must be a positive integer", id="T_max"),
        pytest.param(lambda o: lr_scheduler.LinearLR(o, start_factor=0), ValueError,
                     r"start_factor must be in \(0, 1\]", id="start_factor"),
        pytest.param(lambda o: lr_scheduler.LinearLR(o, end_factor=1.5), ValueError,
                     r"end_factor must be in \[0, 1\]", id="end_factor"),
        pytest.param(lambda o: lr_scheduler.ExponentialLR(o, gamma="0.9"), TypeError,
                     "Invalid gamma: '0.9'", id="gamma"),
        pytest.param(lambda o: lr_scheduler.ExponentialLR(object(), gamma=0.9), TypeError,
                     "expected an Optimizer", id="not-an-optimizer"),
        pytest.param(lambda o: lr_scheduler.ReduceLROnPlateau(o, factor=1.0), ValueError,
                     "factor should be < 1.0", id="factor"),
        pytest.param(lambda o: lr_scheduler.ReduceLROnPlateau(o, mode="up"), ValueError,
                     "mode must be 'min' or 'max'. Received: 'up'", id="mode"),
        pytest.param(lambda o: lr_scheduler.ReduceLROnPlateau(o, threshold_mode="x"), ValueError,
                     "threshold_mode must be 'rel' or 'abs'", id="threshold_mode"),
        pytest.param(lambda o: lr_scheduler.ReduceLROnPlateau(o, min_lr=[0.1]), ValueError,
                     "expected 2 min_lrs, one per parameter group. Received: 1", id="min_lr"),
        pytest.param(lambda o: lr_scheduler.ReduceLROnPlateau(o, patience=-1), ValueError,
                     "patience must be an integer >= 0", id="patience"),
    ],
)
def test_rejects_bad_arguments(make, error, message):
    with pytest.raises(error, match=message):
        make(_optimizer())
