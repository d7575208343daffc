"""Op-table rows for reductions: every op over several axes, with and without keepdims."""

from __future__ import annotations

import numpy as np

import shenjing as sj
from tests.ops.opinfo import OpInfo

# (axis, shapes it is valid for): scalars only reduce over every axis.
AXES = [
    (None, [((3, 4),), ((2, 3, 4),), ((),)]),
    (0, [((3, 4),), ((2, 3, 4),), ((5,),)]),
    (-1, [((3, 4),), ((2, 3, 4),)]),
    ((0, 2), [((2, 3, 4),), ((2, 1, 3),)]),
    ((-1, 1), [((2, 3, 4),)]),
]


def _dims(axis, ndim):
    """PyTorch's ``dim`` for our ``axis``: None means every axis."""
    return tuple(range(ndim)) if axis is None else axis


def _distinct(shapes, rng):
    """Values at least 0.1 apart, so max/min have no ties, even under the gradcheck step."""
    (shape,) = shapes
    n = int(np.prod(shape))
    return [(rng.permutation(n).reshape(shape) - n / 2) * 0.1 + rng.uniform(0, 0.01, shape)]


def _var_ref(x, axis, keepdims, correction):
    return np.var(x, axis=axis, keepdims=keepdims, ddof=correction)


def _logsumexp_ref(x, axis, keepdims):
    return np.log(np.sum(np.exp(x), axis=axis, keepdims=keepdims))


def _rows():
    rows = []
    for axis, shapes in AXES:
        for keepdims in (False, True):
            kw = {"axis": axis, "keepdims": keepdims}
            tag = f"axis{axis}{'-keep' if keepdims else ''}".replace(" ", "")
            rows += [
                OpInfo(f"sum-{tag}", sj.sum, np.sum, shapes, kwargs=kw,
                       torch_ref=lambda x, axis, keepdims: x.sum(
                           dim=_dims(axis, x.ndim), keepdim=keepdims)),
                OpInfo(f"mean-{tag}", sj.mean, np.mean, shapes, kwargs=kw,
                       torch_ref=lambda x, axis, keepdims: x.mean(
                           dim=_dims(axis, x.ndim), keepdim=keepdims)),
                OpInfo(f"max-{tag}", sj.max, np.max, shapes, kwargs=kw, make_inputs=_distinct,
                       torch_ref=lambda x, axis, keepdims: x.amax(
                           dim=_dims(axis, x.ndim), keepdim=keepdims)),
                OpInfo(f"min-{tag}", sj.min, np.min, shapes, kwargs=kw, make_inputs=_distinct,
                       torch_ref=lambda x, axis, keepdims: x.amin(
                           dim=_dims(axis, x.ndim), keepdim=keepdims)),
                OpInfo(f"logsumexp-{tag}", sj.logsumexp, _logsumexp_ref, shapes, kwargs=kw,
                       torch_ref=lambda x, axis, keepdims: x.logsumexp(
                           dim=_dims(axis, x.ndim), keepdim=keepdims)),
            ]
            for correction in (0, 1):
                multi = [s for s in shapes if s != ((),)]  # one element: nothing to vary
                rows.append(
                    OpInfo(f"var-c{correction}-{tag}", sj.var, _var_ref, multi,
                           kwargs={**kw, "correction": correction},
                           torch_ref=lambda x, axis, keepdims, correction: x.var(
                               dim=_dims(axis, x.ndim), keepdim=keepdims,
                               correction=correction)))
    return rows


ROWS = _rows()
