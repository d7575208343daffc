"""Loss modules against PyTorch's: the same constructor arguments give the same loss and
input gradient, weights travel in the state_dict, and the deprecated flags are refused."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

import shenjing as sj
import shenjing.nn as nn

RNG = np.random.default_rng(0)
LOGITS = RNG.normal(size=(6, 4)).astype(np.float32)
LABELS = np.array([0, 3, 1, -100, 2, 1])
PROBS = RNG.uniform(0.05, 0.95, size=(6, 4)).astype(np.float32)
OTHER = RNG.normal(size=(6, 4)).astype(np.float32)
CLASS_W = np.array([0.5, 1.0, 2.0, 1.5], dtype=np.float32)

# name -> (build from the nn module namespace, input, target)
CASES: dict[str, tuple[Callable[[Any], Any], np.ndarray, np.ndarray]] = {
    "mse": (lambda m: m.MSELoss(), LOGITS, OTHER),
    "l1-sum": (lambda m: m.L1Loss(reduction="sum"), LOGITS, OTHER),
    "smooth_l1": (lambda m: m.SmoothL1Loss(beta=0.5), LOGITS, OTHER),
    "huber": (lambda m: m.HuberLoss(delta=0.7), LOGITS, OTHER),
    "kl-batchmean": (lambda m: m.KLDivLoss(reduction="batchmean"), -PROBS, PROBS),
    "kl-log-target": (lambda m: m.KLDivLoss(reduction="sum", log_target=True), -PROBS, -PROBS),
    "bce": (lambda m: m.BCELoss(), PROBS, PROBS.round()),
    "bce-logits-pos-weight": (
        lambda m: m.BCEWithLogitsLoss(pos_weight=_const(m, CLASS_W)), LOGITS, PROBS.round()),
    "nll-weight": (lambda m: m.NLLLoss(_const(m, CLASS_W)), LOGITS, LABELS),
    "ce": (lambda m: m.CrossEntropyLoss(), LOGITS, LABELS),
    "ce-weight-smoothing": (
        lambda m: m.CrossEntropyLoss(_const(m, CLASS_W), ignore_index=1, label_smoothing=0.1),
        LOGITS, np.where(LABELS < 0, 1, LABELS)),
    "ce-probabilities": (lambda m: m.CrossEntropyLoss(reduction="none"), LOGITS, PROBS),
}


def _const(m: Any, a: np.ndarray) -> Any:
    """A constant tensor in the library that ``m`` (an nn namespace) belongs to."""
    if m is nn:
        return sj.tensor(a)
    import torch

    return torch.tensor(a)


@pytest.mark.torch
@pytest.mark.parametrize("name", CASES)
def test_loss_module_matches_pytorch(name: str) -> None:
    torch = pytest.importorskip("torch")
    build, x_np, t_np = CASES[name]
    x = sj.tensor(x_np, requires_grad=True)
    tx = torch.tensor(x_np, requires_grad=True)
    loss = build(nn)(x, sj.tensor(t_np))
    their = build(torch.nn)(tx, torch.tensor(t_np))
    np.testing.assert_allclose(loss.numpy(), their.detach().numpy(), rtol=1e-5, atol=1e-6)
    loss.sum().backward()
    their.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), tx.grad.numpy(), rtol=1e-5, atol=1e-6)


@pytest.mark.torch
def test_weight_buffers_have_pytorchs_state_dict_keys() -> None:
    torch = pytest.importorskip("torch")
    ours = nn.BCEWithLogitsLoss(sj.tensor(CLASS_W), pos_weight=sj.tensor(CLASS_W))
    theirs = torch.nn.BCEWithLogitsLoss(torch.tensor(CLASS_W), pos_weight=torch.tensor(CLASS_W))
    assert list(ours.state_dict()) == list(theirs.state_dict()) == ["weight", "pos_weight"]
    assert list(nn.CrossEntropyLoss().state_dict()) == []


def test_deprecated_flags_are_refused() -> None:
    with pytest.raises(ValueError, match="CrossEntropyLoss: size_average and reduce are "
                                         "deprecated"):
        nn.CrossEntropyLoss(size_average=False)


def test_every_label_ignored_gives_nan_like_pytorch() -> None:
    loss = nn.CrossEntropyLoss()(sj.tensor(LOGITS[:2]), sj.tensor([-100, -100]))
    assert np.isnan(loss.item())


def test_kl_div_is_zero_where_the_target_is_zero() -> None:
    x = sj.tensor([[-1.0, -0.5]], requires_grad=True)
    loss = sj.kl_div(x, sj.tensor([[0.0, 1.0]]), reduction="sum")
    assert loss.item() == pytest.approx(0.5)
    loss.backward()
    np.testing.assert_array_equal(x.grad.numpy(), [[0.0, -1.0]])


def test_inplace_must_be_a_bool_and_names_the_op() -> None:
    # inplace=True itself is accepted (tests/nn/test_inplace_and_factory.py)
    with pytest.raises(TypeError, match="relu6: inplace must be a bool"):
        nn.ReLU6(inplace="yes")(sj.ones(2))
