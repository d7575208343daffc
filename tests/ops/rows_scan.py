"""Op-table rows for products, scans and order statistics: prod, cumsum, cumprod,
cummax/cummin, logcumsumexp, sort, topk, median and mode."""

from __future__ import annotations

import numpy as np

import shenjing as sj
from tests.ops.opinfo import OpInfo

SHAPES = [((3, 4),), ((2, 3, 4),)]


def _distinct(shapes, rng):
    """Values at least 0.1 apart, so orders have no ties, even under the gradcheck step."""
    (shape,) = shapes
    n = int(np.prod(shape))
    return [(rng.permutation(n).reshape(shape) - n / 2) * 0.1 + rng.uniform(0, 0.01, shape)]


def _with_a_zero(shapes, rng):
    x = rng.uniform(0.5, 1.5, size=shapes[0]) * rng.choice([-1, 1], size=shapes[0])
    x.reshape(-1)[1] = 0.0
    return [x]


def _repeats(shapes, rng):
    """Small integers as floats: values repeat, as a mode needs."""
    return [rng.integers(0, 3, size=shapes[0]).astype(float)]


def _cum_extreme_ref(x, dim, largest):
    return (np.maximum if largest else np.minimum).accumulate(x, axis=dim)


def _logcumsumexp_ref(x, dim):
    return np.log(np.cumsum(np.exp(x), axis=dim))


def _lower_median(x, dim=None):
    if dim is None:
        return np.sort(x.reshape(-1))[(x.size - 1) // 2]
    return np.take(np.sort(x, axis=dim), (x.shape[dim] - 1) // 2, axis=dim)


def _mode_ref(x, dim):
    def one(v):
        values, counts = np.unique(v, return_counts=True)
        return values[np.argmax(counts)]

    return np.apply_along_axis(one, dim, x)


ROWS = [
    OpInfo("prod_all", sj.prod, np.prod, [((3, 4),), ((),)], domain=(0.5, 1.5),
           torch_ref=lambda x: x.prod()),
    OpInfo("prod_dim", lambda x: sj.prod(x, 1, keepdim=True),
           lambda x: np.prod(x, 1, keepdims=True), SHAPES, domain=(-1.5, 1.5),
           torch_ref=lambda x: x.prod(1, keepdim=True)),
    OpInfo("prod_zero", lambda x: sj.prod(x, -1), lambda x: np.prod(x, -1), SHAPES,
           make_inputs=_with_a_zero, torch_ref=lambda x: x.prod(-1)),
    OpInfo("cumsum", lambda x: sj.cumsum(x, 1), lambda x: np.cumsum(x, 1), SHAPES,
           torch_ref=lambda x: x.cumsum(1)),
    OpInfo("cumsum_0d", lambda x: sj.cumsum(x, 0), lambda x: x, [((),)],
           torch_ref=lambda x: x.cumsum(0)),
    OpInfo("cumprod", lambda x: sj.cumprod(x, -1), lambda x: np.cumprod(x, -1), SHAPES,
           domain=(-1.5, 1.5), torch_ref=lambda x: x.cumprod(-1)),
    OpInfo("cumprod_zero", lambda x: sj.cumprod(x, -1), lambda x: np.cumprod(x, -1), SHAPES,
           make_inputs=_with_a_zero, torch_ref=lambda x: x.cumprod(-1)),
    OpInfo("cummax", lambda x: sj.cummax(x, 1).values,
           lambda x: _cum_extreme_ref(x, 1, True), SHAPES, make_inputs=_distinct,
           torch_ref=lambda x: x.cummax(1).values),
    OpInfo("cummin", lambda x: sj.cummin(x, 0).values,
           lambda x: _cum_extreme_ref(x, 0, False), SHAPES, make_inputs=_distinct,
           torch_ref=lambda x: x.cummin(0).values),
    OpInfo("logcumsumexp", lambda x: sj.logcumsumexp(x, -1),
           lambda x: _logcumsumexp_ref(x, -1), SHAPES, torch_ref=lambda x: x.logcumsumexp(-1)),
    OpInfo("sort", lambda x: sj.sort(x, 1).values, lambda x: np.sort(x, 1), SHAPES,
           make_inputs=_distinct, torch_ref=lambda x: x.sort(1).values),
    OpInfo("sort_descending", lambda x: sj.sort(x, descending=True).values,
           lambda x: -np.sort(-x, -1), SHAPES, make_inputs=_distinct,
           torch_ref=lambda x: x.sort(descending=True).values),
    OpInfo("argsort", lambda x: sj.argsort(x, 0), lambda x: np.argsort(x, 0), SHAPES,
           make_inputs=_distinct, grad=False),
    OpInfo("topk", lambda x: sj.topk(x, 2).values, lambda x: -np.sort(-x, -1)[..., :2],
           SHAPES, make_inputs=_distinct, torch_ref=lambda x: x.topk(2).values),
    OpInfo("topk_smallest", lambda x: sj.topk(x, 3, dim=0, largest=False).values,
           lambda x: np.sort(x, 0)[:3], [((4, 3),), ((3, 2, 2),)], make_inputs=_distinct,
           torch_ref=lambda x: x.topk(3, dim=0, largest=False).values),
    OpInfo("median_all", sj.median, _lower_median, SHAPES, make_inputs=_distinct,
           torch_ref=lambda x: x.median()),
    OpInfo("median_dim", lambda x: sj.median(x, 1).values, lambda x: _lower_median(x, 1),
           SHAPES, make_inputs=_distinct, torch_ref=lambda x: x.median(1).values),
    OpInfo("mode", lambda x: sj.mode(x, -1).values, lambda x: _mode_ref(x, -1),
           [((3, 7),), ((2, 3, 9),)], make_inputs=_repeats, grad=False,  # ties: no difference
           torch_ref=lambda x: x.mode(-1).values),
]
