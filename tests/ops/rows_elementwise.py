"""Op-table rows for elementwise arithmetic."""

from __future__ import annotations

import numpy as np

import shenjing as sj
from tests.ops.opinfo import OpInfo

BINARY_SHAPES = [((3, 4), (3, 4)), ((3, 1), (4,)), ((2, 3, 4), (1, 4)), ((), (2, 3))]
UNARY_SHAPES = [((3, 4),), ((2, 3, 4),), ((),)]


def _away_from_ties(shapes, rng):
    a = rng.uniform(-2, 2, size=shapes[0])
    b = rng.uniform(-2, 2, size=shapes[1])
    b = np.where(np.abs(a - b) < 0.1, b + 0.3, b)
    return [a, b]


def _where_inputs(shapes, rng):
    cond = rng.uniform(size=shapes[0]) > 0.5
    return [cond, rng.uniform(-2, 2, size=shapes[1]), rng.uniform(-2, 2, size=shapes[2])]


ROWS = [
    OpInfo("add", sj.add, np.add, BINARY_SHAPES, torch_ref=lambda a, b: a + b),
    OpInfo("sub", sj.sub, np.subtract, BINARY_SHAPES, torch_ref=lambda a, b: a - b),
    OpInfo("mul", sj.mul, np.multiply, BINARY_SHAPES, torch_ref=lambda a, b: a * b),
    OpInfo("div", sj.div, np.divide, BINARY_SHAPES, domain=(0.5, 2.0),
           torch_ref=lambda a, b: a / b),
    OpInfo("pow", sj.pow, np.power, BINARY_SHAPES, domain=(0.5, 2.0),
           torch_ref=lambda a, b: a**b),
    OpInfo("pow_scalar", lambda x: x**3, lambda x: x**3, UNARY_SHAPES),
    OpInfo("pow_half", lambda x: x**0.5, np.sqrt, UNARY_SHAPES, domain=(0.5, 2.0)),
    OpInfo("rpow", lambda x: 2.0**x, lambda x: 2.0**x, UNARY_SHAPES),
    OpInfo("rsub", lambda x: 1.0 - x, lambda x: 1.0 - x, UNARY_SHAPES),
    OpInfo("rdiv", lambda x: 1.0 / x, lambda x: 1.0 / x, UNARY_SHAPES, domain=(0.5, 2.0)),
    OpInfo("neg", sj.neg, np.negative, UNARY_SHAPES, torch_ref=lambda x: -x),
    OpInfo("exp", sj.exp, np.exp, UNARY_SHAPES, torch_ref=lambda x: x.exp()),
    OpInfo("log", sj.log, np.log, UNARY_SHAPES, domain=(0.5, 3.0),
           torch_ref=lambda x: x.log()),
    OpInfo("sqrt", sj.sqrt, np.sqrt, UNARY_SHAPES, domain=(0.5, 3.0),
           torch_ref=lambda x: x.sqrt()),
    OpInfo("abs", sj.abs, np.abs, UNARY_SHAPES, make_inputs=lambda s, rng: [
        rng.uniform(0.1, 2, size=s[0]) * rng.choice([-1, 1], size=s[0])]),
    OpInfo("clip", lambda x: sj.clip(x, -1.0, 0.5), lambda x: np.clip(x, -1.0, 0.5),
           UNARY_SHAPES, make_inputs=lambda s, rng: [
               rng.choice([-1.5, -0.7, 0.2, 1.3], size=s[0]) + rng.uniform(-0.1, 0.1, s[0])]),
    OpInfo("maximum", sj.maximum, np.maximum, BINARY_SHAPES, make_inputs=_away_from_ties,
           torch_ref=lambda a, b: a.maximum(b)),
    OpInfo("minimum", sj.minimum, np.minimum, BINARY_SHAPES, make_inputs=_away_from_ties),
    OpInfo("where", sj.where, np.where,
           [((3, 4), (3, 4), (3, 4)), ((3, 1), (1, 4), (4,))], make_inputs=_where_inputs),
]
