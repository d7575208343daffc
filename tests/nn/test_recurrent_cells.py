"""RNNCell, LSTMCell and GRUCell against PyTorch's, holding the same state dict:
forward over a few steps (the cell unrolled by hand, as programs do) and gradients."""

from __future__ import annotations

import numpy as np
import pytest

import shenjing as sj
import shenjing.nn as nn

torch = pytest.importorskip("torch")

CASES = [
    ("RNNCell", {}), ("RNNCell", {"nonlinearity": "relu"}), ("RNNCell", {"bias": False}),
    ("LSTMCell", {}), ("LSTMCell", {"bias": False}), ("GRUCell", {}),
    ("GRUCell", {"bias": False}),
]


def _unroll(cell, xs, state, lstm):
    """Run the cell over xs step by step; the sum of every hidden state."""
    total = 0
    for x in xs:
        state = cell(x, state)
        total = total + (state[0] if lstm else state).sum() * 1.5
    return total + (state[1].sum() if lstm else 0)


@pytest.mark.parametrize(("name", "kwargs"), CASES,
                         ids=[f"{n}-{'-'.join(f'{k}{v}' for k, v in kw.items())}"
                              for n, kw in CASES])
def test_cell_matches_pytorch_forward_and_gradients(name, kwargs) -> None:
    sj.manual_seed(0)
    ours = getattr(nn, name)(3, 4, **kwargs, dtype=sj.float64)
    theirs = getattr(torch.nn, name)(3, 4, **kwargs, dtype=torch.float64)
    assert list(ours.state_dict()) == list(theirs.state_dict())
    theirs.load_state_dict({k: torch.tensor(v) for k, v in ours.state_dict().items()})
    rng = np.random.default_rng(1)
    xs = rng.normal(size=(5, 2, 3))
    lstm = name == "LSTMCell"
    h0 = rng.normal(size=(2, 4))
    state = (sj.tensor(h0, dtype="float64"), sj.tensor(h0 * 0.5, dtype="float64")) if lstm \
        else sj.tensor(h0, dtype="float64")
    tstate = (torch.tensor(h0), torch.tensor(h0 * 0.5)) if lstm else torch.tensor(h0)
    x_ours = [sj.tensor(x, dtype="float64", requires_grad=True) for x in xs]
    x_theirs = [torch.tensor(x, requires_grad=True) for x in xs]
    y = _unroll(ours, x_ours, state, lstm)
    ty = _unroll(theirs, x_theirs, tstate, lstm)
    np.testing.assert_allclose(y.item(), ty.item(), rtol=1e-10)
    y.backward()
    ty.backward()
    for (key, p), tp in zip(ours.named_parameters(), theirs.parameters(), strict=True):
        np.testing.assert_allclose(p.grad.numpy(), tp.grad.numpy(), rtol=1e-9, atol=1e-12,
                                   err_msg=key)
    for a, b in zip(x_ours, x_theirs, strict=True):
        np.testing.assert_allclose(a.grad.numpy(), b.grad.numpy(), rtol=1e-9, atol=1e-12)


def test_cells_take_unbatched_input_and_no_state_as_pytorch() -> None:
    ours, theirs = nn.LSTMCell(3, 4), torch.nn.LSTMCell(3, 4)
    theirs.load_state_dict({k: torch.tensor(v) for k, v in ours.state_dict().items()})
    x = np.random.default_rng(2).normal(size=3).astype(np.float32)
    h, c = ours(sj.tensor(x))
    th, tc = theirs(torch.tensor(x))
    assert h.shape == (4,) and c.shape == (4,)
    np.testing.assert_allclose(h.numpy(), th.detach().numpy(), rtol=1e-5, atol=1e-6)
    gru = nn.GRUCell(3, 4)
    assert gru(sj.tensor(x), sj.zeros(4)).shape == (4,)


def test_cell_errors_name_the_cell_and_shapes() -> None:
    with pytest.raises(ValueError, match=r"GRUCell: expected input of shape \(batch, 3\)"):
        nn.GRUCell(3, 4)(sj.zeros(2, 5))
    with pytest.raises(ValueError, match=r"RNNCell: expected a hidden state of shape \(2, 4\)"):
        nn.RNNCell(3, 4)(sj.zeros(2, 3), sj.zeros(2, 5))
    with pytest.raises(TypeError, match="pair"):
        nn.LSTMCell(3, 4)(sj.zeros(2, 3), sj.zeros(2, 4))
    with pytest.raises(ValueError, match="nonlinearity"):
        nn.RNNCell(3, 4, nonlinearity="sigmoid")


def test_a_cell_trains() -> None:
    sj.manual_seed(0)
    cell, head = nn.GRUCell(2, 8), nn.Linear(8, 1)
    opt = sj.optim.Adam([*cell.parameters(), *head.parameters()], lr=0.02)
    xs = sj.randn(6, 16, 2)
    target = xs.sum(dim=0)[:, :1]
    losses = []
    for _ in range(40):
        opt.zero_grad()
        h = None
        for x in xs:
            h = cell(x, h)
        loss = ((head(h) - target) ** 2).mean()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert losses[-1] < 0.3 * losses[0]
