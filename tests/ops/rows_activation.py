"""Op-table rows for the activations, with NumPy references written from the formulas and
PyTorch's ``torch.nn.functional`` as the third opinion."""

from __future__ import annotations

import math

import numpy as np

import shenjing as sj
from tests.ops.opinfo import OpInfo

UNARY_SHAPES = [((3, 4),), ((2, 3, 4),), ((5,),), ((),)]
AXIS_SHAPES = [((3, 4),), ((2, 3, 4),), ((5,),)]
CHANNEL_SHAPES = [((3, 4), (4,)), ((2, 3, 4, 5), (3,)), ((3, 4), (1,)), ((5,), (1,))]

_erf = np.vectorize(math.erf)


def _tf(name: str):
    """torch.nn.functional.<name>, imported only when the PyTorch check runs."""

    def call(*args, **kwargs):
        import torch.nn.functional as tf

        return getattr(tf, name)(*args, **kwargs)

    return call


def _axis_to_dim(name: str):
    return lambda x, axis: _tf(name)(x, dim=axis)


def _away_from_zero(shapes, rng):
    """Inputs with |x| >= 0.1, so no finite difference straddles a kink at 0."""
    return [rng.uniform(0.1, 2.0, size=s) * rng.choice([-1.0, 1.0], size=s) for s in shapes]


def _prelu_inputs(shapes, rng):
    x_shape, w_shape = shapes
    x = rng.uniform(0.1, 2.0, size=x_shape) * rng.choice([-1.0, 1.0], size=x_shape)
    return [x, rng.uniform(0.05, 0.5, size=w_shape)]


def _around_threshold(shapes, rng):
    """Softplus inputs (β = 2, threshold = 1) on both sides of the switch at x = 0.5."""
    (shape,) = shapes
    centres = rng.choice([-1.5, -0.3, 0.2, 1.0, 1.8], size=shape)
    return [centres + rng.uniform(-0.15, 0.15, size=shape)]


def _softplus(x, beta=1.0, threshold=20.0):
    return np.where(beta * x > threshold, x, np.log1p(np.exp(beta * x)) / beta)


def _softmax(x, axis):
    e = np.exp(x - x.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


def _prelu(x, w):
    shape = [1] * x.ndim
    if x.ndim >= 2:
        shape[1] = w.size
    return np.where(x > 0, x, w.reshape(shape) * x)


def _gelu_tanh(x):
    return 0.5 * x * (1 + np.tanh(math.sqrt(2 / math.pi) * (x + 0.044715 * x**3)))


ROWS = [
    OpInfo("step", sj.step, lambda x: (x > 0).astype(np.float64), UNARY_SHAPES,
           make_inputs=_away_from_zero),
    OpInfo("sigmoid", sj.sigmoid, lambda x: 1 / (1 + np.exp(-x)), UNARY_SHAPES,
           domain=(-6.0, 6.0), torch_ref=_tf("sigmoid")),
    OpInfo("tanh", sj.tanh, np.tanh, UNARY_SHAPES, domain=(-3.0, 3.0), torch_ref=_tf("tanh")),
    OpInfo("relu", sj.relu, lambda x: np.maximum(x, 0), UNARY_SHAPES,
           make_inputs=_away_from_zero, torch_ref=_tf("relu")),
    OpInfo("leaky_relu", sj.leaky_relu, lambda x: np.where(x > 0, x, 0.01 * x), UNARY_SHAPES,
           make_inputs=_away_from_zero, torch_ref=_tf("leaky_relu")),
    OpInfo("leaky_relu_0.2", sj.leaky_relu, lambda x, negative_slope: np.where(
        x > 0, x, negative_slope * x), UNARY_SHAPES, kwargs={"negative_slope": 0.2},
        make_inputs=_away_from_zero, torch_ref=_tf("leaky_relu")),
    OpInfo("prelu", sj.prelu, _prelu, CHANNEL_SHAPES, make_inputs=_prelu_inputs,
           torch_ref=_tf("prelu")),
    OpInfo("elu", sj.elu, lambda x: np.where(x > 0, x, np.exp(x) - 1), UNARY_SHAPES,
           make_inputs=_away_from_zero, torch_ref=_tf("elu")),
    OpInfo("elu_0.5", sj.elu, lambda x, alpha: np.where(x > 0, x, alpha * (np.exp(x) - 1)),
           UNARY_SHAPES, kwargs={"alpha": 0.5}, make_inputs=_away_from_zero,
           torch_ref=_tf("elu")),
    OpInfo("gelu", sj.gelu, lambda x: 0.5 * x * (1 + _erf(x / math.sqrt(2))), UNARY_SHAPES,
           domain=(-4.0, 4.0), torch_ref=_tf("gelu")),
    OpInfo("gelu_tanh", sj.gelu, lambda x, approximate: _gelu_tanh(x), UNARY_SHAPES,
           domain=(-4.0, 4.0), kwargs={"approximate": "tanh"}, torch_ref=_tf("gelu")),
    OpInfo("softplus", sj.softplus, _softplus, UNARY_SHAPES, domain=(-5.0, 5.0),
           torch_ref=_tf("softplus")),
    OpInfo("softplus_beta2_threshold1", sj.softplus, _softplus, UNARY_SHAPES,
           kwargs={"beta": 2.0, "threshold": 1.0}, make_inputs=_around_threshold,
           torch_ref=_tf("softplus")),
    *[
        OpInfo(f"{name}_axis{axis}", fn, ref, AXIS_SHAPES if axis == -1 else AXIS_SHAPES[:2],
               domain=(-3.0, 3.0), kwargs={"axis": axis}, torch_ref=_axis_to_dim(name))
        for name, fn, ref in [
            ("softmax", sj.softmax, _softmax),
            ("log_softmax", sj.log_softmax, lambda x, axis: np.log(_softmax(x, axis))),
        ]
        for axis in (-1, 0, 1)
    ],
]


# ----------------------------------------------------------- activation_extra.py

def _sig(x):
    return 1 / (1 + np.exp(-x))


_SELU_A, _SELU_S = 1.6732632423543772848170429916717, 1.0507009873554804934193349852946


def _off_kinks(*kinks: float):
    """Inputs at least 0.1 away from each kink, so no central difference straddles one."""

    def make(shapes, rng):
        out = []
        for s in shapes:
            x = rng.uniform(-4.0, 4.0, size=s)
            for k in kinks:
                near = np.abs(x - k) < 0.1
                x = np.where(near, k + 0.2 * np.sign(x - k + 1e-12), x)
            out.append(x)
        return out

    return make


def _hardswish(x):
    return x * np.clip(x + 3, 0, 6) / 6


ROWS += [
    OpInfo("celu", sj.celu, lambda x, alpha: np.where(x > 0, x, alpha * np.expm1(x / alpha)),
           UNARY_SHAPES, kwargs={"alpha": 1.5}, make_inputs=_away_from_zero,
           torch_ref=_tf("celu")),
    OpInfo("selu", sj.selu, lambda x: _SELU_S * np.where(x > 0, x, _SELU_A * np.expm1(x)),
           UNARY_SHAPES, make_inputs=_away_from_zero, torch_ref=_tf("selu")),
    OpInfo("silu", sj.silu, lambda x: x * _sig(x), UNARY_SHAPES, domain=(-6.0, 6.0),
           torch_ref=_tf("silu")),
    OpInfo("mish", sj.mish, lambda x: x * np.tanh(np.log1p(np.exp(x))), UNARY_SHAPES,
           domain=(-5.0, 5.0), torch_ref=_tf("mish")),
    OpInfo("hardtanh", sj.hardtanh, lambda x, min_val, max_val: np.clip(x, min_val, max_val),
           UNARY_SHAPES, kwargs={"min_val": -0.5, "max_val": 2.0},
           make_inputs=_off_kinks(-0.5, 2.0), torch_ref=_tf("hardtanh")),
    OpInfo("relu6", sj.relu6, lambda x: np.clip(x, 0, 6), UNARY_SHAPES,
           make_inputs=lambda s, r: [a * 2 for a in _off_kinks(0.0, 3.0)(s, r)],
           torch_ref=_tf("relu6")),
    OpInfo("hardsigmoid", sj.hardsigmoid, lambda x: np.clip(x / 6 + 0.5, 0, 1), UNARY_SHAPES,
           make_inputs=_off_kinks(-3.0, 3.0), torch_ref=_tf("hardsigmoid")),
    OpInfo("hardswish", sj.hardswish, _hardswish, UNARY_SHAPES,
           make_inputs=_off_kinks(-3.0, 3.0), torch_ref=_tf("hardswish")),
    OpInfo("softsign", sj.softsign, lambda x: x / (1 + np.abs(x)), UNARY_SHAPES,
           make_inputs=_away_from_zero, torch_ref=_tf("softsign")),
    OpInfo("logsigmoid", sj.logsigmoid, lambda x: np.log(_sig(x)), UNARY_SHAPES,
           domain=(-8.0, 8.0), torch_ref=_tf("logsigmoid")),
    OpInfo("tanhshrink", sj.tanhshrink, lambda x: x - np.tanh(x), UNARY_SHAPES,
           torch_ref=_tf("tanhshrink")),
    OpInfo("softshrink", sj.softshrink, lambda x, lambd: np.where(
        np.abs(x) > lambd, x - np.sign(x) * lambd, 0.0), UNARY_SHAPES, kwargs={"lambd": 0.7},
        make_inputs=_off_kinks(-0.7, 0.7), torch_ref=_tf("softshrink")),
    OpInfo("hardshrink", sj.hardshrink, lambda x, lambd: np.where(np.abs(x) > lambd, x, 0.0),
           UNARY_SHAPES, kwargs={"lambd": 0.5}, make_inputs=_off_kinks(-0.5, 0.5),
           torch_ref=_tf("hardshrink")),
    *[
        OpInfo(f"softmin_dim{dim}", sj.softmin, lambda x, dim: _softmax(-x, dim),
               AXIS_SHAPES[:2], domain=(-3.0, 3.0), kwargs={"dim": dim},
               torch_ref=_tf("softmin"))
        for dim in (-1, 0)
    ],
]
