"""nn.Transformer and its encoder/decoder layers and stacks against PyTorch's, holding
the same state dict: forward and gradients in float64, with every kind of mask,
pre- and post-norm, both layouts, gelu, no bias; and a small model that trains."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import shenjing as sj
import shenjing.nn as nn

torch = pytest.importorskip("torch")

E, HEADS, FF = 8, 2, 16


def _torch(build):
    """Build a PyTorch module quietly: it warns that its fast path is off for
    batch_first=False, which pytest would turn into an error."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        return build()


def _pair(name, *args, **kwargs):
    """The same layer in both libraries, in float64, PyTorch's loaded from ours."""
    ours = getattr(nn, name)(*args, **kwargs, dtype=sj.float64)
    theirs = _torch(lambda: getattr(torch.nn, name)(*args, **kwargs, dtype=torch.float64))
    assert list(ours.state_dict()) == list(theirs.state_dict())
    assert [v.shape for v in ours.state_dict().values()] == \
        [tuple(v.shape) for v in theirs.state_dict().values()]
    theirs.load_state_dict({k: torch.tensor(v) for k, v in ours.state_dict().items()})
    return ours, theirs


def _compare(ours, theirs, arrays, kwargs_ours, kwargs_theirs, train=False):
    """Forward and every gradient (parameters and inputs) against PyTorch."""
    ours.train(train)
    theirs.train(train)
    xs = [sj.tensor(a, dtype="float64", requires_grad=True) for a in arrays]
    txs = [torch.tensor(a, requires_grad=True) for a in arrays]
    y = ours(*xs, **kwargs_ours)
    ty = theirs(*txs, **kwargs_theirs)
    np.testing.assert_allclose(y.numpy(), ty.detach().numpy(), rtol=1e-9, atol=1e-10)
    weights = np.random.default_rng(5).uniform(0.5, 1.5, size=y.shape)
    (y * sj.tensor(weights, dtype="float64")).sum().backward()
    (ty * torch.tensor(weights)).sum().backward()
    for (name, p), tp in zip(ours.named_parameters(), theirs.parameters(), strict=True):
        np.testing.assert_allclose(p.grad.numpy(), tp.grad.numpy(), rtol=1e-8, atol=1e-10,
                                   err_msg=name)
    for x, tx in zip(xs, txs, strict=True):
        np.testing.assert_allclose(x.grad.numpy(), tx.grad.numpy(), rtol=1e-8, atol=1e-10)


def _masks(kind, length, source, batch):
    """(attention mask, key padding mask) in both libraries: boolean (True blocks) or
    float (added); the padding blocks the last key of batch entry 1."""
    causal = np.triu(np.ones((length, source), dtype=bool), k=1)
    padding = np.zeros((batch, source), dtype=bool)
    padding[1, -1] = True
    if kind == "float":
        causal = np.where(causal, -np.inf, 0.0)
        padding = np.where(padding, -np.inf, 0.0)
    return (sj.tensor(causal, dtype=causal.dtype), sj.tensor(padding, dtype=padding.dtype)), \
        (torch.tensor(causal), torch.tensor(padding))


CONFIGS = [
    {}, {"norm_first": True}, {"activation": "gelu"}, {"batch_first": True},
    {"bias": False}, {"norm_first": True, "batch_first": True, "activation": "gelu"},
]
IDS = ["post-norm", "pre-norm", "gelu", "batch-first", "no-bias", "pre-norm-bf-gelu"]


# Every configuration once, and each mask kind under both norm placements and layouts.
ENCODER_CASES = [(c, "none") for c in CONFIGS] + [
    (CONFIGS[0], "bool"), (CONFIGS[1], "float"), (CONFIGS[3], "bool"), (CONFIGS[5], "float")]
ENCODER_IDS = [f"{i}-none" for i in IDS] + [
    "post-norm-bool", "pre-norm-float", "batch-first-bool", "pre-norm-bf-gelu-float"]


@pytest.mark.parametrize(("config", "mask_kind"), ENCODER_CASES, ids=ENCODER_IDS)
def test_encoder_layer_matches_pytorch(config, mask_kind) -> None:
    sj.manual_seed(0)
    ours, theirs = _pair("TransformerEncoderLayer", E, HEADS, FF, dropout=0.0, **config)
    batch, length = 3, 5
    shape = (batch, length, E) if config.get("batch_first") else (length, batch, E)
    x = np.random.default_rng(0).normal(size=shape)
    kw, tkw = {}, {}
    if mask_kind != "none":
        (mask, pad), (tmask, tpad) = _masks(mask_kind, length, length, batch)
        kw = {"src_mask": mask, "src_key_padding_mask": pad, "is_causal": True}
        tkw = {"src_mask": tmask, "src_key_padding_mask": tpad, "is_causal": True}
    _compare(ours, theirs, [x], kw, tkw)


@pytest.mark.parametrize("config", CONFIGS[:3] + CONFIGS[4:5], ids=IDS[:3] + IDS[4:5])
def test_decoder_layer_matches_pytorch(config) -> None:
    sj.manual_seed(1)
    ours, theirs = _pair("TransformerDecoderLayer", E, HEADS, FF, dropout=0.0, **config)
    rng = np.random.default_rng(1)
    tgt, memory = rng.normal(size=(4, 3, E)), rng.normal(size=(6, 3, E))
    (mask, pad), (tmask, tpad) = _masks("bool", 4, 4, 3)
    mpad = sj.tensor(np.eye(3, 6, k=3, dtype=bool))
    tmpad = torch.tensor(mpad.numpy())
    kw = {"tgt_mask": mask, "tgt_key_padding_mask": pad, "memory_key_padding_mask": mpad,
          "tgt_is_causal": True}
    tkw = {"tgt_mask": tmask, "tgt_key_padding_mask": tpad,
           "memory_key_padding_mask": tmpad, "tgt_is_causal": True}
    _compare(ours, theirs, [tgt, memory], kw, tkw)


def test_stacks_and_full_transformer_match_pytorch() -> None:
    sj.manual_seed(2)
    ours, theirs = _pair("Transformer", d_model=E, nhead=HEADS, num_encoder_layers=2,
                         num_decoder_layers=2, dim_feedforward=FF, dropout=0.0)
    assert len(ours.state_dict()) == len(theirs.state_dict())
    rng = np.random.default_rng(2)
    src, tgt = rng.normal(size=(6, 2, E)), rng.normal(size=(4, 2, E))
    mask = nn.Transformer.generate_square_subsequent_mask(4, dtype=sj.float64)
    tmask = torch.nn.Transformer.generate_square_subsequent_mask(4, dtype=torch.float64)
    np.testing.assert_array_equal(mask.numpy(), tmask.numpy())
    memory_mask = np.zeros((4, 6))
    memory_mask[0, 5] = -np.inf
    kw = {"tgt_mask": mask, "memory_mask": sj.tensor(memory_mask, dtype="float64")}
    tkw = {"tgt_mask": tmask, "memory_mask": torch.tensor(memory_mask)}
    _compare(ours, theirs, [src, tgt], kw, tkw)


def test_encoder_stack_with_norm_in_eval_mode_matches_pytorch() -> None:
    sj.manual_seed(3)
    layer = nn.TransformerEncoderLayer(E, HEADS, FF, dtype=sj.float64)
    ours = nn.TransformerEncoder(layer, 3, norm=nn.LayerNorm(E).double())
    theirs = _torch(lambda: torch.nn.TransformerEncoder(
        torch.nn.TransformerEncoderLayer(E, HEADS, FF, dtype=torch.float64), 3,
        norm=torch.nn.LayerNorm(E, dtype=torch.float64), enable_nested_tensor=False))
    assert list(ours.state_dict()) == list(theirs.state_dict())
    theirs.load_state_dict({k: torch.tensor(v) for k, v in ours.state_dict().items()})
    x = np.random.default_rng(3).normal(size=(5, 2, E))
    (mask, _), (tmask, _) = _masks("float", 5, 5, 2)
    _compare(ours, theirs, [x], {"mask": mask}, {"mask": tmask}, train=False)


def test_copies_in_a_stack_start_equal_and_train_apart() -> None:
    stack = nn.TransformerEncoder(nn.TransformerEncoderLayer(E, HEADS, FF), 2)
    first, second = stack.layers[0].linear1.weight, stack.layers[1].linear1.weight
    assert first is not second
    np.testing.assert_array_equal(first.numpy(), second.numpy())


def test_transformer_errors_name_the_problem() -> None:
    model = nn.Transformer(d_model=E, nhead=HEADS, num_encoder_layers=1,
                           num_decoder_layers=1, dim_feedforward=FF)
    with pytest.raises(RuntimeError, match="batch size of src and tgt"):
        model(sj.randn(5, 2, E), sj.randn(4, 3, E))
    with pytest.raises(RuntimeError, match="d_model=8"):
        model(sj.randn(5, 2, 6), sj.randn(4, 2, 6))
    with pytest.raises(ValueError, match="divisible by nhead"):
        nn.TransformerEncoderLayer(10, 3)
    with pytest.raises(ValueError, match="activation"):
        nn.TransformerDecoderLayer(8, 2, activation="swish")


def test_a_causal_encoder_learns_to_copy_the_previous_token() -> None:
    sj.manual_seed(0)
    vocab, length = 6, 8
    embed, pos = nn.Embedding(vocab, 16), nn.Parameter(sj.randn(length, 16) * 0.1)
    layer = nn.TransformerEncoderLayer(16, 2, 32, dropout=0.0, batch_first=True)
    head = nn.Linear(16, vocab)
    params = [*embed.parameters(), pos, *layer.parameters(), *head.parameters()]
    opt = sj.optim.Adam(params, lr=0.01)
    mask = nn.Transformer.generate_square_subsequent_mask(length)
    tokens = sj.randint(0, vocab, (32, length))
    losses = []
    for _ in range(60):
        opt.zero_grad()
        logits = head(layer(embed(tokens) + pos, src_mask=mask, is_causal=True))
        # predict token t-1 at position t: only the past is needed, so the mask allows it
        loss = sj.nn.functional.cross_entropy(logits[:, 1:].reshape(-1, vocab),
                                              tokens[:, :-1].reshape(-1))
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert losses[0] > 1.5 and losses[-1] < 0.3
