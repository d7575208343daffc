"""RNN, LSTM, GRU and Embedding layers: PyTorch's outputs, states and gradients with the
same weights (stacked, bidirectional, both layouts, given initial states), state dicts
that move between the libraries, initialisation, dropout between layers, and errors."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

import shenjing as sj
import shenjing.nn as nn
import shenjing.nn.functional as F

CELLS = {"rnn": nn.RNN, "rnn-relu": nn.RNN, "lstm": nn.LSTM, "gru": nn.GRU}
TORCH_NAMES = {"rnn": "RNN", "rnn-relu": "RNN", "lstm": "LSTM", "gru": "GRU"}
CONFIGS = {
    "one-layer": {},
    "two-layers": {"num_layers": 2},
    "seq-first": {"batch_first": False},
    "seq-first-two-layers": {"batch_first": False, "num_layers": 2},
    "bidirectional-two-layers": {"bidirectional": True, "num_layers": 2},
    "no-bias": {"bias": False},
}
BATCH, STEPS, FEATURES, HIDDEN = 3, 5, 4, 6


def _make(cell: str, **config: Any) -> nn.Module:
    extra = {"nonlinearity": "relu"} if cell == "rnn-relu" else {}
    config = {"batch_first": True, **config}
    return CELLS[cell](FEATURES, HIDDEN, **extra, **config)


def _to_float64(module: nn.Module) -> nn.Module:
    for p in module.parameters():
        p.array = p.array.astype(np.float64)
    return module


def _torch_copy(torch: Any, cell: str, ours: nn.Module, **config: Any) -> Any:
    extra = {"nonlinearity": "relu"} if cell == "rnn-relu" else {}
    config = {"batch_first": True, **config}
    theirs = getattr(torch.nn, TORCH_NAMES[cell])(FEATURES, HIDDEN, **extra, **config).double()
    theirs.load_state_dict({k: torch.tensor(v) for k, v in ours.state_dict().items()})
    return theirs


def _states_shape(config: dict) -> tuple[int, int, int]:
    directions = 2 if config.get("bidirectional") else 1
    return (config.get("num_layers", 1) * directions, BATCH, HIDDEN)


@pytest.mark.torch
@pytest.mark.parametrize("with_state", [False, True], ids=["zero-state", "given-state"])
@pytest.mark.parametrize("config", CONFIGS.values(), ids=CONFIGS.keys())
@pytest.mark.parametrize("cell", CELLS)
def test_outputs_states_and_every_gradient_match_pytorch(cell: str, config: dict,
                                                         with_state: bool) -> None:
    torch = pytest.importorskip("torch")
    sj.manual_seed(0)
    ours = _to_float64(_make(cell, **config))
    theirs = _torch_copy(torch, cell, ours, **config)
    rng = np.random.default_rng(1)
    batch_first = config.get("batch_first", True)
    x_shape = (BATCH, STEPS, FEATURES) if batch_first else (STEPS, BATCH, FEATURES)
    x = rng.normal(size=x_shape)
    n_states = 2 if cell == "lstm" else 1
    states = [rng.normal(size=_states_shape(config)) * 0.5 for _ in range(n_states)]

    x_ours = sj.tensor(x, dtype="float64", requires_grad=True)
    x_theirs = torch.tensor(x, requires_grad=True)
    s_ours = [sj.tensor(s, dtype="float64", requires_grad=True) for s in states]
    s_theirs = [torch.tensor(s, requires_grad=True) for s in states]
    hx_ours = hx_theirs = None
    if with_state:
        hx_ours = tuple(s_ours) if cell == "lstm" else s_ours[0]
        hx_theirs = tuple(s_theirs) if cell == "lstm" else s_theirs[0]
    out_ours, final_ours = ours(x_ours, hx_ours)
    out_theirs, final_theirs = theirs(x_theirs, hx_theirs)
    finals_ours = list(final_ours) if cell == "lstm" else [final_ours]
    finals_theirs = list(final_theirs) if cell == "lstm" else [final_theirs]

    np.testing.assert_allclose(out_ours.numpy(), out_theirs.detach().numpy(), atol=1e-12)
    for a, b in zip(finals_ours, finals_theirs, strict=True):
        assert a.shape == tuple(b.shape)
        np.testing.assert_allclose(a.numpy(), b.detach().numpy(), atol=1e-12)

    # One loss that reaches every output: the sequence and each final state.
    weights = [rng.uniform(0.5, 1.5, size=t.shape) for t in [out_ours, *finals_ours]]
    loss_ours = sum((t * sj.tensor(w, dtype="float64")).sum()
                    for t, w in zip([out_ours, *finals_ours], weights, strict=True))
    loss_theirs = sum((t * torch.tensor(w)).sum()
                      for t, w in zip([out_theirs, *finals_theirs], weights, strict=True))
    loss_ours.backward()
    loss_theirs.backward()
    np.testing.assert_allclose(x_ours.grad.numpy(), x_theirs.grad.numpy(), atol=1e-10)
    if with_state:
        for a, b in zip(s_ours, s_theirs, strict=True):
            np.testing.assert_allclose(a.grad.numpy(), b.grad.numpy(), atol=1e-10)
    theirs_params = dict(theirs.named_parameters())
    for name, p in ours.named_parameters():
        np.testing.assert_allclose(p.grad.numpy(), theirs_params[name].grad.numpy(),
                                   atol=1e-10, err_msg=name)


@pytest.mark.parametrize("cell", CELLS)
def test_state_dict_has_pytorchs_names_and_shapes(cell: str) -> None:
    torch = pytest.importorskip("torch")
    config = {"num_layers": 2, "bidirectional": True}
    ours = _make(cell, **config)
    extra = {"nonlinearity": "relu"} if cell == "rnn-relu" else {}
    theirs = getattr(torch.nn, TORCH_NAMES[cell])(FEATURES, HIDDEN, **extra, **config)
    expected = {k: tuple(v.shape) for k, v in theirs.state_dict().items()}
    assert {k: v.shape for k, v in ours.state_dict().items()} == expected
    assert list(ours.state_dict()) == list(expected)  # the same order too
    # And PyTorch's weights load into ours unchanged.
    ours.load_state_dict({k: v.numpy() for k, v in theirs.state_dict().items()})
    np.testing.assert_array_equal(ours.weight_hh_l1_reverse.numpy(),
                                  theirs.weight_hh_l1_reverse.detach().numpy())


@pytest.mark.parametrize("cell", CELLS)
def test_parameters_start_uniform_within_one_over_sqrt_hidden(cell: str) -> None:
    sj.manual_seed(0)
    layer = CELLS[cell](20, 64)
    bound = 1 / np.sqrt(64)
    values = np.concatenate([p.numpy().ravel() for p in layer.parameters()])
    assert values.dtype == np.float32
    assert np.abs(values).max() <= bound
    # Uniform on [−b, b]: mean 0, variance b²/3, and both ends reached.
    assert abs(values.mean()) < 0.02 * bound
    np.testing.assert_allclose(values.var(), bound**2 / 3, rtol=0.05)
    assert values.min() < -0.99 * bound and values.max() > 0.99 * bound


@pytest.mark.torch
@pytest.mark.parametrize("cell", ["rnn", "lstm", "gru"])
def test_default_layout_is_pytorchs_seq_first(cell: str) -> None:
    """Called PyTorch's way, (seq, batch, features) with the same weights and no
    batch_first argument on either side, the outputs are PyTorch's."""
    torch = pytest.importorskip("torch")
    sj.manual_seed(0)
    ours = CELLS[cell](FEATURES, HIDDEN, num_layers=2)
    assert ours.batch_first is False
    theirs = getattr(torch.nn, TORCH_NAMES[cell])(FEATURES, HIDDEN, num_layers=2)
    theirs.load_state_dict({k: torch.tensor(v) for k, v in ours.state_dict().items()})
    x = np.random.default_rng(3).normal(size=(STEPS, BATCH, FEATURES)).astype(np.float32)
    output, states = ours(sj.tensor(x))
    expected, expected_states = theirs(torch.tensor(x))
    assert output.shape == (STEPS, BATCH, HIDDEN)
    np.testing.assert_allclose(output.numpy(), expected.detach().numpy(), atol=2e-6)
    h_n = states[0] if cell == "lstm" else states
    expected_h = expected_states[0] if cell == "lstm" else expected_states
    np.testing.assert_allclose(h_n.numpy(), expected_h.detach().numpy(), atol=2e-6)
    output, _ = CELLS[cell](FEATURES, HIDDEN, batch_first=True)(sj.randn(BATCH, STEPS, FEATURES))
    assert output.shape == (BATCH, STEPS, HIDDEN)


@pytest.mark.parametrize("cell", CELLS)
def test_dropout_acts_between_layers_in_training_only(cell: str) -> None:
    sj.manual_seed(0)
    layer = _make(cell, num_layers=2, dropout=0.5)
    x = sj.randn(BATCH, STEPS, FEATURES)
    train_a, _ = layer(x)
    train_b, _ = layer(x)
    assert not np.allclose(train_a.numpy(), train_b.numpy())  # fresh masks each call
    layer.eval()
    eval_a, _ = layer(x)
    eval_b, _ = layer(x)
    np.testing.assert_array_equal(eval_a.numpy(), eval_b.numpy())
    # In eval the layer is the same stack without dropout.
    plain = _make(cell, num_layers=2)
    plain.load_state_dict(layer.state_dict())
    np.testing.assert_allclose(plain(x)[0].numpy(), eval_a.numpy(), rtol=1e-6)


@pytest.mark.parametrize("cell", CELLS)
def test_one_sgd_step_lowers_the_loss(cell: str) -> None:
    sj.manual_seed(0)
    layer = _make(cell)
    head = nn.Linear(HIDDEN, 3)
    x = sj.randn(8, STEPS, FEATURES)
    y = sj.tensor(np.random.default_rng(0).integers(0, 3, size=8))
    optimizer = sj.optim.SGD([*layer.parameters(), *head.parameters()], lr=0.5)

    def loss() -> sj.Tensor:
        return F.cross_entropy(head(layer(x)[0][:, -1]), y)

    before = loss()
    before.backward()
    optimizer.step()
    assert loss().item() < before.item()


@pytest.mark.parametrize("cell", ["rnn", "lstm", "gru"])
def test_a_thousand_steps_train_without_recursion_error(cell: str) -> None:
    layer = _make(cell, num_layers=2)
    x = sj.randn(2, 1000, FEATURES, requires_grad=True)
    output, _ = layer(x)
    output[:, -1].sum().backward()
    assert x.grad.shape == (2, 1000, FEATURES)
    assert all(np.isfinite(p.grad.numpy()).all() for p in layer.parameters())


# ----------------------------------------------------------------------- errors


def test_wrong_rank_names_the_expected_layout_and_the_shape() -> None:
    with pytest.raises(ValueError, match=r"LSTM expects a 3-D input \(batch, seq, input_size\)"
                                         r".*Received: shape=\(5, 4\)"):
        nn.LSTM(FEATURES, HIDDEN, batch_first=True)(sj.zeros(5, 4))
    with pytest.raises(ValueError, match=r"\(seq, batch, input_size\)"):
        nn.GRU(FEATURES, HIDDEN)(sj.zeros(1, 2, 5, 4))


def test_input_size_mismatch_names_both_sizes() -> None:
    with pytest.raises(ValueError, match=r"RNN: expected input with 4 features \(input_size\)."
                                         r" Received: shape=\(3, 5, 7\)"):
        nn.RNN(FEATURES, HIDDEN)(sj.zeros(3, 5, 7))


def test_state_shape_mismatch_names_expected_and_received() -> None:
    x = sj.zeros(BATCH, STEPS, FEATURES)
    with pytest.raises(ValueError, match=r"GRU: expected hx of shape \(2, 3, 6\).*"
                                         r"Received: shape=\(1, 3, 6\)"):
        nn.GRU(FEATURES, HIDDEN, num_layers=2, batch_first=True)(x, sj.zeros(1, BATCH, HIDDEN))
    with pytest.raises(ValueError, match=r"LSTM: expected c0 of shape \(2, 3, 6\).*"
                                         r"Received: shape=\(2, 4, 6\)"):
        nn.LSTM(FEATURES, HIDDEN, bidirectional=True, batch_first=True)(
            x, (sj.zeros(2, BATCH, HIDDEN), sj.zeros(2, 4, HIDDEN)))
    with pytest.raises(TypeError, match=r"LSTM: hx must be a pair \(h0, c0\)"):
        nn.LSTM(FEATURES, HIDDEN, batch_first=True)(x, sj.zeros(1, BATCH, HIDDEN))


def test_bad_constructor_arguments() -> None:
    with pytest.raises(ValueError, match="RNN: nonlinearity must be 'tanh' or 'relu'"):
        nn.RNN(FEATURES, HIDDEN, nonlinearity="sigmoid")
    with pytest.raises(ValueError, match="LSTM: hidden_size must be a positive integer"):
        nn.LSTM(FEATURES, 0)
    with pytest.raises(ValueError, match=r"GRU: dropout must be a probability in \[0, 1\]"):
        nn.GRU(FEATURES, HIDDEN, dropout=1.5)


def test_repr_shows_the_settings() -> None:
    assert repr(nn.LSTM(4, 6, num_layers=2, bidirectional=True)) == (
        "LSTM(4, 6, num_layers=2, bidirectional=True)")
    assert repr(nn.RNN(4, 6, nonlinearity="relu", batch_first=True)) == (
        "RNN(4, 6, batch_first=True, nonlinearity=relu)")


# -------------------------------------------------------------------- Embedding


def test_embedding_starts_standard_normal_with_a_zero_padding_row() -> None:
    sj.manual_seed(0)
    table = nn.Embedding(1000, 64, padding_idx=-1)
    assert table.padding_idx == 999
    weight = table.weight.numpy()
    assert weight.shape == (1000, 64) and weight.dtype == np.float32
    assert not weight[999].any()
    assert abs(weight[:999].mean()) < 0.01
    np.testing.assert_allclose(weight[:999].std(), 1.0, rtol=0.02)


def test_embedding_padding_row_stays_put_in_training() -> None:
    sj.manual_seed(0)
    table = nn.Embedding(10, 3, padding_idx=0)
    optimizer = sj.optim.SGD(table.parameters(), lr=0.1)
    indices = sj.tensor([[0, 2, 2], [5, 0, 9]])
    (table(indices) ** 2).sum().backward()
    grad = table.weight.grad.numpy()
    assert not grad[0].any()
    np.testing.assert_allclose(grad[2], 4 * table.weight.numpy()[2], rtol=1e-6)  # twice
    optimizer.step()
    assert not table.weight.numpy()[0].any()


def test_embedding_state_dict_matches_pytorch() -> None:
    torch = pytest.importorskip("torch")
    ours = nn.Embedding(7, 3, padding_idx=2)
    theirs = torch.nn.Embedding(7, 3, padding_idx=2)
    theirs.load_state_dict({k: torch.tensor(v) for k, v in ours.state_dict().items()})
    indices = np.array([[1, 2, 6]])
    np.testing.assert_array_equal(ours(indices).numpy(),
                                  theirs(torch.tensor(indices)).detach().numpy())
    assert repr(ours) == "Embedding(7, 3, padding_idx=2)"


def test_embedding_rejects_bad_sizes() -> None:
    with pytest.raises(ValueError, match="Embedding: embedding_dim must be a positive integer"):
        nn.Embedding(5, 0)
    with pytest.raises(ValueError, match=r"padding_idx must be within \[-5, 5\). Received: 5"):
        nn.Embedding(5, 2, padding_idx=5)
