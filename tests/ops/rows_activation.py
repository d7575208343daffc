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
