"""Op-table rows for the elementwise math added for PyTorch users: trigonometric and
hyperbolic functions, the exp/log family, rounding and the divisions that round,
clamp and lerp."""

from __future__ import annotations

import math

import numpy as np

import shenjing as sj
from tests.ops.opinfo import OpInfo
from tests.ops.rows_elementwise import BINARY_SHAPES, UNARY_SHAPES

_erf = np.vectorize(math.erf)


def _erfinv_ref(x):
    # Newton on erf from a rough start: exact to float64 rounding in a few steps.
    y = np.arctanh(x) * 0.9
    for _ in range(40):
        y = y - (_erf(y) - x) / (2 / math.sqrt(math.pi) * np.exp(-y * y))
    return y


def _unary(name, ref, domain=(-2.0, 2.0), **kwargs):
    op = getattr(sj, name)
    return OpInfo(name, op, ref, UNARY_SHAPES, domain=domain,
                  torch_ref=lambda x, name=name: getattr(x, name)(), **kwargs)


def _away_from_integers(shapes, rng):
    """Values at least 0.1 from an integer (and from a half), so rounding is locally
    flat under the gradcheck step."""
    return [rng.integers(-3, 3, size=s) + rng.choice([0.2, 0.35, 0.65, 0.8], size=s)
            for s in shapes]


def _divisions(shapes, rng):
    """a, b with every a/b at least 0.02 from an integer (so trunc and floor are flat
    under the gradcheck step) and |b| ≥ 0.5: redrawn until so."""
    while True:
        a = rng.uniform(-3, 3, size=shapes[0])
        b = rng.uniform(0.5, 2.0, size=shapes[1]) * rng.choice([-1, 1], size=shapes[1])
        q = a / b
        if np.all(np.abs(q - np.round(q)) > 0.02):
            return [a, b]


def _clamp_inputs(shapes, rng):
    x = rng.choice([-1.5, 0.0, 1.5], size=shapes[0]) + rng.uniform(-0.2, 0.2, shapes[0])
    lo = rng.uniform(-1.0, -0.5, size=shapes[1])
    hi = rng.uniform(0.5, 1.0, size=shapes[2])
    return [x, lo, hi]


def _copysign_inputs(shapes, rng):
    a = rng.uniform(0.2, 2, size=shapes[0]) * rng.choice([-1, 1], size=shapes[0])
    return [a, rng.uniform(-2, 2, size=shapes[1])]


ROWS = [
    _unary("sin", np.sin),
    _unary("cos", np.cos),
    _unary("tan", np.tan, domain=(-1.2, 1.2)),
    _unary("asin", np.arcsin, domain=(-0.9, 0.9)),
    _unary("acos", np.arccos, domain=(-0.9, 0.9)),
    _unary("atan", np.arctan),
    _unary("sinh", np.sinh),
    _unary("cosh", np.cosh),
    _unary("asinh", np.arcsinh),
    _unary("acosh", np.arccosh, domain=(1.2, 3.0)),
    _unary("atanh", np.arctanh, domain=(-0.9, 0.9)),
    _unary("exp2", np.exp2),
    _unary("expm1", np.expm1),
    _unary("log2", np.log2, domain=(0.5, 3.0)),
    _unary("log10", np.log10, domain=(0.5, 3.0)),
    _unary("log1p", np.log1p, domain=(-0.5, 3.0)),
    _unary("square", np.square),
    _unary("reciprocal", np.reciprocal, domain=(0.5, 2.0)),
    _unary("rsqrt", lambda x: 1 / np.sqrt(x), domain=(0.5, 3.0)),
    _unary("erf", _erf),
    _unary("erfinv", _erfinv_ref, domain=(-0.95, 0.95)),
    _unary("floor", np.floor, make_inputs=_away_from_integers),
    _unary("ceil", np.ceil, make_inputs=_away_from_integers),
    _unary("trunc", np.trunc, make_inputs=_away_from_integers),
    _unary("frac", lambda x: x - np.trunc(x), make_inputs=_away_from_integers),
    _unary("sign", np.sign, make_inputs=lambda s, rng: [
        rng.uniform(0.2, 2, size=s[0]) * rng.choice([-1, 1], size=s[0])]),
    _unary("round", np.round, make_inputs=_away_from_integers),
    OpInfo("round_decimals", lambda x: sj.round(x, decimals=1),
           lambda x: np.round(x, 1), UNARY_SHAPES,
           make_inputs=lambda s, rng: [rng.integers(-30, 30, size=s[0]) / 10 + 0.03],
           torch_ref=lambda x: x.round(decimals=1)),
    OpInfo("atan2", sj.atan2, np.arctan2, BINARY_SHAPES, domain=(0.3, 2.0),
           torch_ref=lambda a, b: a.atan2(b)),
    OpInfo("logaddexp", sj.logaddexp, np.logaddexp, BINARY_SHAPES,
           torch_ref=lambda a, b: a.logaddexp(b)),
    OpInfo("fmod", sj.fmod, np.fmod, BINARY_SHAPES, make_inputs=_divisions,
           torch_ref=lambda a, b: a.fmod(b)),
    OpInfo("remainder", sj.remainder, np.remainder, BINARY_SHAPES, make_inputs=_divisions,
           torch_ref=lambda a, b: a.remainder(b)),
    OpInfo("mod_operator", lambda a, b: a % b, np.remainder, BINARY_SHAPES[:2],
           make_inputs=_divisions),
    OpInfo("div_trunc", lambda a, b: sj.div(a, b, rounding_mode="trunc"),
           lambda a, b: np.trunc(a / b), BINARY_SHAPES, make_inputs=_divisions,
           torch_ref=lambda a, b: a.div(b, rounding_mode="trunc")),
    OpInfo("div_floor", lambda a, b: sj.div(a, b, rounding_mode="floor"),
           lambda a, b: np.floor(a / b), BINARY_SHAPES, make_inputs=_divisions,
           torch_ref=lambda a, b: a.div(b, rounding_mode="floor")),
    OpInfo("copysign", sj.copysign, np.copysign, BINARY_SHAPES, make_inputs=_copysign_inputs,
           torch_ref=lambda a, b: a.copysign(b)),
    OpInfo("add_alpha", lambda a, b: sj.add(a, b, alpha=2.5), lambda a, b: a + 2.5 * b,
           BINARY_SHAPES, torch_ref=lambda a, b: a.add(b, alpha=2.5)),
    OpInfo("sub_alpha", lambda a, b: sj.sub(a, b, alpha=-0.5), lambda a, b: a + 0.5 * b,
           BINARY_SHAPES, torch_ref=lambda a, b: a.sub(b, alpha=-0.5)),
    OpInfo("lerp", sj.lerp, lambda a, b, w: a + w * (b - a),
           [((3, 4), (3, 4), (3, 4)), ((3, 1), (4,), (1, 4)), ((2, 3), (2, 3), ())],
           torch_ref=lambda a, b, w: a.lerp(b, w)),
    OpInfo("lerp_scalar_weight", lambda a, b: sj.lerp(a, b, 0.3),
           lambda a, b: a + 0.3 * (b - a), [((3, 4), (3, 4)), ((2, 1), (2, 3))],
           torch_ref=lambda a, b: a.lerp(b, 0.3)),
    OpInfo("clamp_tensors", sj.clamp, lambda x, lo, hi: np.minimum(np.maximum(x, lo), hi),
           [((3, 4), (3, 4), (3, 4)), ((3, 4), (4,), (3, 1)), ((), (2, 3), (2, 3))],
           make_inputs=_clamp_inputs, torch_ref=lambda x, lo, hi: x.clamp(lo, hi)),
    OpInfo("clamp_numbers", lambda x: sj.clamp(x, min=-0.5), lambda x: np.maximum(x, -0.5),
           UNARY_SHAPES, make_inputs=lambda s, rng: [
               rng.choice([-1.5, 1.5], size=s[0]) + rng.uniform(-0.2, 0.2, s[0])],
           torch_ref=lambda x: x.clamp(min=-0.5)),
]
