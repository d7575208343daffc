"""nn.init: fans and gains as PyTorch computes them, and the drawn values' statistics
against each formula, on tensors large enough for the sample statistics to be tight."""

from __future__ import annotations

import math

import numpy as np
import pytest

import shenjing as sj
import shenjing.nn as nn
from shenjing.nn.init import _calculate_fan_in_and_fan_out

FAN_SHAPES = [(5, 3), (8, 4, 3, 3), (6, 2, 5), (2, 3, 4, 5, 6), (1, 1)]


@pytest.mark.parametrize("shape", FAN_SHAPES, ids=str)
def test_fans_match_pytorch(shape: tuple[int, ...]) -> None:
    torch = pytest.importorskip("torch")
    expected = torch.nn.init._calculate_fan_in_and_fan_out(torch.empty(shape))
    assert _calculate_fan_in_and_fan_out(sj.zeros(shape)) == expected


def test_fans_of_linear_and_conv_weights() -> None:
    assert _calculate_fan_in_and_fan_out(nn.Linear(7, 4).weight) == (7, 4)
    conv_weight = sj.zeros(16, 3, 5, 5)  # (out, in, kh, kw)
    assert _calculate_fan_in_and_fan_out(conv_weight) == (3 * 25, 16 * 25)


@pytest.mark.parametrize(
    ("nonlinearity", "param"),
    [("linear", None), ("conv2d", None), ("sigmoid", None), ("tanh", None), ("relu", None),
     ("selu", None), ("leaky_relu", None), ("leaky_relu", 0.2), ("leaky_relu", math.sqrt(5))],
)
def test_calculate_gain_matches_pytorch(nonlinearity: str, param: float | None) -> None:
    torch = pytest.importorskip("torch")
    assert nn.init.calculate_gain(nonlinearity, param) == pytest.approx(
        torch.nn.init.calculate_gain(nonlinearity, param), rel=1e-12
    )


def U(bound: float) -> tuple[str, float]:
    """U(-bound, bound)."""
    return ("uniform", bound)


def N(std: float) -> tuple[str, float]:
    """N(0, std²)."""
    return ("normal", std)


# (initialiser call, shape, expected distribution) with the formula written out here.
INIT_CASES = [
    pytest.param(lambda t: nn.init.xavier_uniform_(t), (300, 200),
                 U(math.sqrt(6 / 500)), id="xavier_uniform"),
    pytest.param(lambda t: nn.init.xavier_uniform_(t, gain=2.0), (300, 200),
                 U(2 * math.sqrt(6 / 500)), id="xavier_uniform-gain2"),
    pytest.param(lambda t: nn.init.glorot_normal_(t), (300, 200),
                 N(math.sqrt(2 / 500)), id="glorot_normal"),
    pytest.param(lambda t: nn.init.xavier_normal_(t), (64, 32, 3, 3),
                 N(math.sqrt(2 / (32 * 9 + 64 * 9))), id="xavier_normal-conv"),
    pytest.param(lambda t: nn.init.kaiming_uniform_(t, nonlinearity="relu"), (300, 400),
                 U(math.sqrt(6 / 400)), id="kaiming_uniform-relu"),
    pytest.param(lambda t: nn.init.kaiming_uniform_(t, mode="fan_out", nonlinearity="relu"),
                 (64, 32, 3, 3), U(math.sqrt(6 / (64 * 9))),
                 id="kaiming_uniform-fan_out-conv"),
    pytest.param(lambda t: nn.init.kaiming_uniform_(t, a=math.sqrt(5)), (300, 400),
                 U(1 / math.sqrt(400)), id="kaiming_uniform-a_sqrt5"),
    pytest.param(lambda t: nn.init.kaiming_normal_(t, a=0.2), (300, 400),
                 N(math.sqrt(2 / 1.04) / math.sqrt(400)), id="kaiming_normal-leaky"),
    pytest.param(lambda t: nn.init.kaiming_normal_(t, mode="fan_out", nonlinearity="tanh"),
                 (300, 400), N((5 / 3) / math.sqrt(300)), id="kaiming_normal-fan_out"),
    pytest.param(lambda t: nn.init.he_uniform_(t), (300, 400),
                 U(math.sqrt(6 / 400)), id="he_uniform"),
    pytest.param(lambda t: nn.init.he_normal_(t), (300, 400),
                 N(math.sqrt(2 / 400)), id="he_normal"),
    pytest.param(lambda t: nn.init.glorot_uniform_(t), (300, 200),
                 U(math.sqrt(6 / 500)), id="glorot_uniform"),
]


@pytest.mark.parametrize(("initialise", "shape", "expected"), INIT_CASES)
def test_drawn_values_match_the_formula(initialise, shape, expected) -> None:
    sj.manual_seed(0)
    t = sj.zeros(shape)
    assert initialise(t) is t
    values = t.numpy().astype(np.float64)
    kind, scale = expected
    n = values.size
    if kind == "uniform":
        assert np.abs(values).max() <= scale * (1 + 1e-6)
        assert np.abs(values).max() >= scale * 0.99  # the whole interval is used
        std = scale / math.sqrt(3)
    else:
        std = scale
    assert abs(values.mean()) < 5 * std / math.sqrt(n)
    assert values.std() == pytest.approx(std, rel=0.02)


def test_uniform_and_normal_use_their_arguments() -> None:
    sj.manual_seed(1)
    u = nn.init.uniform_(sj.zeros(400, 300), -0.3, 0.7).numpy()
    assert u.min() >= -0.3 and u.max() < 0.7
    assert u.mean() == pytest.approx(0.2, abs=0.01)
    assert u.std() == pytest.approx(1.0 / math.sqrt(12), rel=0.02)
    g = nn.init.normal_(sj.zeros(400, 300), mean=1.5, std=0.2).numpy()
    assert g.mean() == pytest.approx(1.5, abs=0.005)
    assert g.std() == pytest.approx(0.2, rel=0.02)


def test_constant_fills() -> None:
    t = sj.ones(2, 3)
    assert not nn.init.zeros_(t).numpy().any()
    assert (nn.init.ones_(t).numpy() == 1).all()
    assert (nn.init.constant_(t, 0.25).numpy() == 0.25).all()


def test_initialisation_is_in_place_keeps_dtype_and_follows_the_seed() -> None:
    t = sj.zeros(20, 10, dtype="float64")
    array = t.array
    sj.manual_seed(3)
    nn.init.kaiming_normal_(t)
    assert t.array is array and t.dtype == np.float64
    first = t.numpy().copy()
    sj.manual_seed(3)
    nn.init.kaiming_normal_(t)
    np.testing.assert_array_equal(t.numpy(), first)
    assert nn.init.xavier_uniform_(sj.zeros(4, 4)).dtype == np.float32


def test_linear_uses_pytorch_default_bounds() -> None:
    sj.manual_seed(0)
    layer = nn.Linear(500, 400)
    bound = 1 / math.sqrt(500)
    weight, bias = layer.weight.numpy(), layer.bias.numpy()
    assert np.abs(weight).max() <= bound and np.abs(bias).max() <= bound
    assert weight.std() == pytest.approx(bound / math.sqrt(3), rel=0.02)


def test_errors_are_clear() -> None:
    with pytest.raises(ValueError, match="at least 2 dimensions. Received: shape=\\(5,\\)"):
        nn.init.xavier_uniform_(sj.zeros(5))
    with pytest.raises(ValueError, match="mode must be 'fan_in' or 'fan_out'"):
        nn.init.kaiming_uniform_(sj.zeros(3, 3), mode="fan_avg")
    with pytest.raises(ValueError, match="unsupported nonlinearity 'swish'"):
        nn.init.calculate_gain("swish")
    with pytest.raises(TypeError, match="expects a Tensor"):
        nn.init.normal_(np.zeros(3))
