"""nn.MultiheadAttention against PyTorch's, after loading its state_dict: outputs,
attention weights and gradients, over the layouts and masks PyTorch users pass."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

import shenjing as sj
import shenjing.nn as nn

E, H, N, L, S = 8, 2, 3, 4, 5


def _pair(torch: Any, **kwargs: Any) -> tuple[nn.MultiheadAttention, Any]:
    torch.manual_seed(0)
    theirs = torch.nn.MultiheadAttention(E, H, **kwargs)
    if theirs.in_proj_bias is not None:  # PyTorch starts the biases at zero
        with torch.no_grad():
            theirs.in_proj_bias.normal_()
            theirs.out_proj.bias.normal_()
    ours = nn.MultiheadAttention(E, H, **kwargs)
    ours.load_state_dict({k: v.detach().numpy() for k, v in theirs.state_dict().items()})
    return ours, theirs


CASES = {
    "seq-first": ({}, {}),
    "batch-first": ({"batch_first": True}, {}),
    "no-bias": ({"bias": False, "batch_first": True}, {}),
    "per-head-weights": ({"batch_first": True}, {"average_attn_weights": False}),
    "no-weights": ({"batch_first": True}, {"need_weights": False}),
    "causal-bool": ({"batch_first": True}, {"attn_mask": "causal", "is_causal": True}),
    "float-mask": ({"batch_first": True}, {"attn_mask": "float"}),
    "key-padding": ({"batch_first": True}, {"key_padding_mask": "padding"}),
    "key-padding-no-weights": ({}, {"key_padding_mask": "padding", "need_weights": False}),
    "unbatched": ({}, {"unbatched": True}),
}


def _mask(name: str, rng: np.random.Generator) -> np.ndarray:
    if name == "causal":
        return ~np.tril(np.ones((L, L), dtype=bool))
    if name == "float":
        return rng.normal(size=(N * H, L, L))
    padding = np.zeros((N, L), dtype=bool)
    padding[:, -1] = True
    padding[0, 1] = True
    return padding


@pytest.mark.torch
@pytest.mark.parametrize("case", CASES)
def test_matches_pytorch_with_its_state_dict(case: str) -> None:
    torch = pytest.importorskip("torch")
    init_kwargs, call_kwargs = CASES[case]
    call_kwargs = dict(call_kwargs)
    ours, theirs = _pair(torch, **init_kwargs)
    rng = np.random.default_rng(1)
    unbatched = call_kwargs.pop("unbatched", False)
    shape = (L, E) if unbatched else (N, L, E) if init_kwargs.get("batch_first") else (L, N, E)
    x_np = rng.normal(size=shape).astype(np.float32)
    ours_kwargs, theirs_kwargs = dict(call_kwargs), dict(call_kwargs)
    for name in ("attn_mask", "key_padding_mask"):
        if name in call_kwargs:
            m = _mask(call_kwargs[name], rng)
            m = m.astype(np.float32) if m.dtype != bool else m
            ours_kwargs[name], theirs_kwargs[name] = sj.tensor(m), torch.tensor(m)
    x = sj.tensor(x_np, requires_grad=True)
    tx = torch.tensor(x_np, requires_grad=True)
    out, weights = ours(x, x, x, **ours_kwargs)
    tout, tweights = theirs(tx, tx, tx, **theirs_kwargs)
    np.testing.assert_allclose(out.numpy(), tout.detach().numpy(), rtol=1e-4, atol=1e-5)
    if tweights is None:
        assert weights is None
    else:
        np.testing.assert_allclose(weights.numpy(), tweights.detach().numpy(), rtol=1e-4,
                                   atol=1e-5)
    g = rng.uniform(0.5, 1.5, size=out.shape).astype(np.float32)
    (out * sj.tensor(g)).sum().backward()
    (tout * torch.tensor(g)).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), tx.grad.numpy(), rtol=1e-4, atol=1e-5)
    their_params = dict(theirs.named_parameters())
    for name, p in ours.named_parameters():
        np.testing.assert_allclose(p.grad.numpy(), their_params[name].grad.numpy(),
                                   rtol=1e-4, atol=1e-5, err_msg=name)


@pytest.mark.torch
def test_state_dict_keys_and_shapes_are_pytorchs() -> None:
    torch = pytest.importorskip("torch")
    ours = {k: v.shape for k, v in nn.MultiheadAttention(E, H).state_dict().items()}
    theirs = {k: tuple(v.shape)
              for k, v in torch.nn.MultiheadAttention(E, H).state_dict().items()}
    assert ours == theirs
    assert list(ours) == list(theirs)


def test_dropout_acts_in_training_only() -> None:
    sj.manual_seed(0)
    mha = nn.MultiheadAttention(E, H, dropout=0.5, batch_first=True)
    x = sj.randn(N, L, E)
    a, _ = mha(x, x, x)
    b, _ = mha(x, x, x)
    assert not np.allclose(a.numpy(), b.numpy())
    mha.eval()
    np.testing.assert_array_equal(mha(x, x, x)[0].numpy(), mha(x, x, x)[0].numpy())


def test_errors_name_the_layer() -> None:
    with pytest.raises(ValueError, match="MultiheadAttention: embed_dim must be divisible"):
        nn.MultiheadAttention(7, 2)
    mha = nn.MultiheadAttention(E, H)
    with pytest.raises(ValueError, match="MultiheadAttention: is_causal needs attn_mask"):
        x = sj.randn(L, N, E)
        mha(x, x, x, is_causal=True)
