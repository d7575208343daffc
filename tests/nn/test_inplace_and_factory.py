"""PyTorch's ``inplace=True`` on activations and dropout (accepted, same values and
gradients as PyTorch's), and ``device=``/``dtype=`` on every layer constructor that has
parameters or buffers (the same state-dict dtypes as PyTorch's)."""

from __future__ import annotations

import numpy as np
import pytest

import shenjing as sj
import shenjing.nn as nn

torch = pytest.importorskip("torch")

ACTIVATIONS = [("ReLU", {}), ("LeakyReLU", {"negative_slope": 0.2}), ("ELU", {}),
               ("CELU", {}), ("SELU", {}), ("SiLU", {}), ("Mish", {}), ("Hardtanh", {}),
               ("ReLU6", {}), ("Hardsigmoid", {}), ("Hardswish", {})]


@pytest.mark.parametrize(("name", "kwargs"), ACTIVATIONS, ids=[a for a, _ in ACTIVATIONS])
def test_inplace_activation_gives_pytorchs_values_and_gradients(name, kwargs) -> None:
    x = np.random.default_rng(0).uniform(-4, 4, size=(3, 5))
    x[np.abs(x) < 0.05] = 0.5  # away from kinks
    ours = sj.tensor(x, dtype="float64", requires_grad=True)
    theirs = torch.tensor(x, requires_grad=True)
    # PyTorch forbids an in-place op on a leaf that requires grad: both act on x * 2
    y = getattr(nn, name)(**kwargs, inplace=True)(ours * 2)
    ty = getattr(torch.nn, name)(**kwargs, inplace=True)(theirs * 2)
    np.testing.assert_allclose(y.numpy(), ty.detach().numpy(), rtol=1e-12, atol=1e-12)
    y.sum().backward()
    ty.sum().backward()
    # PyTorch's hardsigmoid backward uses a float32 1/6 even in float64: rtol 1e-7
    np.testing.assert_allclose(ours.grad.numpy(), theirs.grad.numpy(), rtol=1e-7, atol=1e-12)


def test_inplace_in_a_sequential_trains_as_without() -> None:
    sj.manual_seed(0)
    model = nn.Sequential(nn.Linear(4, 8), nn.ReLU(inplace=True), nn.Dropout(0.1, inplace=True),
                          nn.Linear(8, 1))
    model.eval()
    x = sj.randn(5, 4)
    plain = nn.Sequential(model[0], nn.ReLU(), nn.Dropout(0.1), model[3]).eval()
    np.testing.assert_array_equal(model(x).numpy(), plain(x).numpy())
    assert "inplace=True" in repr(model[2])
    with pytest.raises(TypeError, match="dropout: inplace must be a bool"):
        sj.nn.functional.dropout(x, 0.5, True, inplace=1)


LAYERS = [
    ("Linear", (3, 4), {}), ("Conv1d", (2, 3, 3), {}), ("Conv2d", (2, 3, 3), {}),
    ("ConvTranspose1d", (2, 3, 3), {}), ("ConvTranspose2d", (2, 3, 3), {}),
    ("BatchNorm1d", (3,), {}), ("BatchNorm2d", (3,), {}), ("LayerNorm", (4,), {}),
    ("GroupNorm", (2, 4), {}), ("Embedding", (5, 3), {}), ("PReLU", (3,), {}),
    ("MultiheadAttention", (4, 2), {}), ("RNN", (3, 4), {}), ("LSTM", (3, 4), {}),
    ("GRU", (3, 4), {}), ("RNNCell", (3, 4), {}), ("LSTMCell", (3, 4), {}),
    ("GRUCell", (3, 4), {}), ("TransformerEncoderLayer", (4, 2, 8), {}),
    ("TransformerDecoderLayer", (4, 2, 8), {}),
]


@pytest.mark.parametrize(("name", "args", "kwargs"), LAYERS, ids=[n for n, _, _ in LAYERS])
@pytest.mark.parametrize("dtype", ["float64", "float16"])
def test_layer_factory_kwargs_give_pytorchs_dtypes(name, args, kwargs, dtype) -> None:
    ours = getattr(nn, name)(*args, **kwargs, device="cpu", dtype=getattr(sj, dtype))
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        theirs = getattr(torch.nn, name)(*args, **kwargs, device="cpu",
                                         dtype=getattr(torch, dtype))
    ours_sd, theirs_sd = ours.state_dict(), theirs.state_dict()
    assert list(ours_sd) == list(theirs_sd)
    for key, value in ours_sd.items():
        assert str(value.dtype) == str(theirs_sd[key].dtype).replace("torch.", ""), key
        assert value.shape == tuple(theirs_sd[key].shape), key


def test_an_integer_dtype_is_refused_as_in_pytorch() -> None:
    with pytest.raises(TypeError, match="floating point"):
        nn.Linear(2, 3, dtype=sj.int64)


def test_a_float64_layer_computes_in_float64() -> None:
    layer = nn.Linear(3, 2, dtype=sj.float64)
    assert layer(sj.randn(4, 3, dtype="float64")).dtype == np.float64
