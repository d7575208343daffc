"""The fused recurrent ops and embedding beyond the op table: the paths the table does
not take (initial states without gradients, states left to default), stability at
extreme inputs, long sequences, dtypes, and the errors."""

from __future__ import annotations

import numpy as np
import pytest

import shenjing as sj
from tests.ops.rows_recurrent import gru_ref, lstm_ref, rnn_ref

GATES = {"rnn": 1, "lstm": 4, "gru": 3}
REFS = {"rnn": rnn_ref, "lstm": lstm_ref, "gru": gru_ref}


def _inputs(op: str, steps: int = 5, batch: int = 3, features: int = 2, hidden: int = 4,
            dtype: str = "float64", seed: int = 0, scale: float = 0.5) -> dict:
    rng = np.random.default_rng(seed)
    rows = GATES[op] * hidden

    def make(*shape: int) -> sj.Tensor:
        return sj.tensor(rng.uniform(-scale, scale, size=shape), dtype=dtype,
                         requires_grad=True)

    states = [make(batch, hidden) for _ in range(2 if op == "lstm" else 1)]
    return {"x": make(batch, steps, features), "states": states,
            "weights": [make(rows, features), make(rows, hidden), make(rows), make(rows)]}


def _run(op: str, x: sj.Tensor, states: list, weights: list, **kwargs) -> sj.Tensor:
    return getattr(sj, op)(x, *states, *weights, **kwargs)


@pytest.mark.parametrize("op", ["rnn", "lstm", "gru"])
def test_weight_gradients_do_not_depend_on_whether_states_need_one(op: str) -> None:
    # Without a state gradient the backward skips its last recurrent GEMM.
    a = _inputs(op)
    b = _inputs(op)
    for s in b["states"]:
        s.requires_grad_(False)
    weights_y = np.random.default_rng(1).uniform(0.5, 1.5, size=_run(op, **a).shape)
    for inputs in (a, b):
        (_run(op, **inputs) * sj.tensor(weights_y, dtype="float64")).sum().backward()
    for wa, wb in zip([a["x"], *a["weights"]], [b["x"], *b["weights"]], strict=True):
        np.testing.assert_allclose(wa.grad.numpy(), wb.grad.numpy(), rtol=1e-12, atol=1e-14)
    assert all(s.grad is None for s in b["states"])


@pytest.mark.parametrize("op", ["rnn", "lstm", "gru"])
@pytest.mark.parametrize("frozen", [(0,), (1,), (2, 3), (0, 1, 2, 3)])
def test_frozen_weights_get_no_gradient_and_leave_the_others_unchanged(
        op: str, frozen: tuple[int, ...]) -> None:
    # The weight gradients come out of one GEMM together; each goes only where wanted.
    a, b = _inputs(op), _inputs(op)
    for k in frozen:
        b["weights"][k].requires_grad_(False)
    for inputs in (a, b):
        _run(op, **inputs).sum().backward()
    for k, (wa, wb) in enumerate(zip(a["weights"], b["weights"], strict=True)):
        if k in frozen:
            assert wb.grad is None
        else:
            np.testing.assert_allclose(wb.grad.numpy(), wa.grad.numpy(), rtol=1e-12)
    np.testing.assert_allclose(b["x"].grad.numpy(), a["x"].grad.numpy(), rtol=1e-12)


@pytest.mark.parametrize("op", ["rnn", "lstm", "gru"])
def test_missing_states_are_zeros(op: str) -> None:
    inputs = _inputs(op)
    zeros = [sj.zeros(*s.shape, dtype="float64") for s in inputs["states"]]
    given = _run(op, inputs["x"], zeros, inputs["weights"])
    default = _run(op, inputs["x"], [None] * len(zeros), inputs["weights"])
    np.testing.assert_array_equal(given.numpy(), default.numpy())


@pytest.mark.parametrize("op", ["rnn", "lstm", "gru"])
def test_float32_in_float32_out_and_close_to_float64(op: str) -> None:
    single = _inputs(op, dtype="float32")
    double = _inputs(op, dtype="float64")
    y32 = _run(op, **single)
    assert y32.dtype == np.float32
    np.testing.assert_allclose(y32.numpy(), _run(op, **double).numpy(), atol=1e-6)


@pytest.mark.parametrize("op", ["rnn", "lstm", "gru"])
def test_saturated_gates_give_finite_values_and_no_warnings(op: str) -> None:
    # Pre-activations of ±10⁴ overflow a naive exp in float32; filterwarnings=error would
    # turn any overflow warning into a failure.
    inputs = _inputs(op, dtype="float32", scale=1e4)
    y = _run(op, **inputs)
    y.backward(np.ones(y.shape, dtype=np.float32))
    arrays = [y.numpy(), inputs["x"].grad.numpy()] + [w.grad.numpy() for w in inputs["weights"]]
    assert all(np.isfinite(a).all() for a in arrays)
    expected = REFS[op](*[t.numpy().astype(np.float64) for t in
                          [inputs["x"], *inputs["states"], *inputs["weights"]]])
    np.testing.assert_allclose(y.numpy(), expected, atol=1e-5)


@pytest.mark.parametrize("op", ["rnn", "lstm", "gru"])
def test_a_thousand_steps_back_propagate_without_recursion(op: str) -> None:
    inputs = _inputs(op, steps=1000, batch=2, hidden=3, dtype="float32")
    y = _run(op, **inputs)
    out = y[0] if op == "lstm" else y
    out[:, -1].sum().backward()
    assert inputs["x"].grad.shape == (2, 1000, 2)
    assert all(np.isfinite(w.grad.numpy()).all() for w in inputs["weights"])
    assert inputs["x"].grad.numpy()[:, -1].any()


@pytest.mark.parametrize("op", ["rnn", "lstm", "gru"])
def test_reverse_is_the_flipped_sequence(op: str) -> None:
    inputs = _inputs(op)
    reversed_y = _run(op, **inputs, reverse=True).numpy()
    flipped = sj.tensor(inputs["x"].numpy()[:, ::-1], dtype="float64")
    expected = _run(op, flipped, inputs["states"], inputs["weights"]).numpy()
    np.testing.assert_allclose(reversed_y, expected[..., ::-1, :], rtol=1e-12, atol=1e-14)


# ---------------------------------------------------------------------- errors


def test_rnn_errors_name_the_op_and_the_shapes() -> None:
    inputs = _inputs("rnn")
    x, (h0,), (w_ih, w_hh, b_ih, b_hh) = inputs["x"], inputs["states"], inputs["weights"]
    with pytest.raises(ValueError, match=r"rnn: expects a 3-D input .*Received: shape=\(3, 2\)"):
        sj.rnn(x[:, 0], h0, w_ih, w_hh)
    with pytest.raises(ValueError, match=r"expected w_ih of shape \(4, 2\).*\(4, 3\)"):
        sj.rnn(x, h0, sj.zeros(4, 3, dtype="float64"), w_hh)
    with pytest.raises(ValueError, match=r"w_hh must have shape .*Received: shape=\(4, 5\)"):
        sj.rnn(x, h0, w_ih, sj.zeros(4, 5, dtype="float64"))
    with pytest.raises(ValueError, match=r"expected h0 of shape \(3, 4\).*\(2, 4\)"):
        sj.rnn(x, h0[:2], w_ih, w_hh)
    with pytest.raises(ValueError, match=r"expected b_hh of shape \(4,\).*\(3,\)"):
        sj.rnn(x, h0, w_ih, w_hh, b_ih, b_hh[:3])
    with pytest.raises(ValueError, match="both b_ih and b_hh"):
        sj.rnn(x, h0, w_ih, w_hh, b_ih)
    with pytest.raises(ValueError, match="nonlinearity must be 'tanh' or 'relu'"):
        sj.rnn(x, h0, w_ih, w_hh, nonlinearity="sigmoid")
    with pytest.raises(ValueError, match="sequence is empty"):
        sj.rnn(x[:, :0], h0, w_ih, w_hh)
    with pytest.raises(TypeError, match="one floating dtype.*float32"):
        sj.rnn(x.float(), h0, w_ih, w_hh)


def test_lstm_and_gru_check_their_gate_blocks() -> None:
    x = sj.zeros(2, 3, 5)
    with pytest.raises(ValueError, match=r"lstm: w_hh must have shape \(4·hidden_size"):
        sj.lstm(x, None, None, sj.zeros(12, 5), sj.zeros(12, 4))
    with pytest.raises(ValueError, match=r"lstm: expected c0 of shape \(2, 4\)"):
        sj.lstm(x, None, sj.zeros(2, 3), sj.zeros(16, 5), sj.zeros(16, 4))
    with pytest.raises(ValueError, match=r"gru: expected w_ih of shape \(12, 5\)"):
        sj.gru(x, None, sj.zeros(12, 4), sj.zeros(12, 4))


# ------------------------------------------------------------------- embedding


def test_embedding_gradient_sums_repeats_and_skips_the_padding_row() -> None:
    rng = np.random.default_rng(0)
    indices = np.array([[1, 2, 2, 0], [4, 2, 1, 1]])
    weight = sj.tensor(rng.normal(size=(6, 3)), dtype="float64", requires_grad=True)
    gy = rng.normal(size=(2, 4, 3))
    y = sj.embedding(indices, weight, padding_idx=1)
    np.testing.assert_array_equal(y.numpy(), weight.numpy()[indices])
    y.backward(gy)
    expected = np.zeros((6, 3))
    for position in np.ndindex(*indices.shape):  # the scatter-add, written out
        expected[indices[position]] += gy[position]
    expected[1] = 0.0
    np.testing.assert_allclose(weight.grad.numpy(), expected, rtol=1e-12)


def test_embedding_gradcheck_with_a_padding_index_that_does_not_occur() -> None:
    weight = sj.tensor(np.random.default_rng(0).normal(size=(5, 2)), dtype="float64",
                       requires_grad=True)
    assert sj.gradcheck(lambda w: sj.embedding([[0, 3, 3], [2, 0, 0]], w, padding_idx=4),
                        [weight])


@pytest.mark.torch
def test_embedding_matches_pytorch_with_padding_idx() -> None:
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(0)
    indices = rng.integers(0, 7, size=(4, 5))
    table = rng.normal(size=(7, 3))
    gy = rng.normal(size=(4, 5, 3))
    ours = sj.tensor(table, dtype="float64", requires_grad=True)
    sj.embedding(indices, ours, padding_idx=-2).backward(gy)
    theirs = torch.tensor(table, requires_grad=True)
    torch.nn.functional.embedding(torch.tensor(indices), theirs, padding_idx=5).backward(
        torch.tensor(gy))
    np.testing.assert_allclose(ours.grad.numpy(), theirs.grad.numpy(), rtol=1e-12)


def test_embedding_errors() -> None:
    weight = sj.zeros(4, 2)
    with pytest.raises(IndexError, match="index 4 is out of range for 4 embeddings"):
        sj.embedding([0, 4], weight)
    with pytest.raises(IndexError, match="index -1 is out of range"):
        sj.embedding([-1, 2], weight)
    with pytest.raises(TypeError, match="indices must be integers. Received: dtype=float32"):
        sj.embedding(sj.tensor([0.0, 1.0]), weight)
    with pytest.raises(ValueError, match=r"weight must be 2-D .*Received: shape=\(4,\)"):
        sj.embedding([0], sj.zeros(4))
    with pytest.raises(ValueError, match=r"padding_idx must be within \[-4, 4\). Received: 4"):
        sj.embedding([0], weight, padding_idx=4)
