"""Op-table rows for reductions: every op over several axes, with and without keepdims.

The rows pass NumPy's spellings (axis=, keepdims=), which stay aliases of PyTorch's
dim=/keepdim=; the PyTorch-form rows at the end pass dim/keepdim positionally."""

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
                OpInfo(f"amax-{tag}", sj.amax, np.max, shapes, kwargs=kw,
                       make_inputs=_distinct,
                       torch_ref=lambda x, axis, keepdims: x.amax(
                           dim=_dims(axis, x.ndim), keepdim=keepdims)),
                OpInfo(f"amin-{tag}", sj.amin, np.min, shapes, kwargs=kw,
                       make_inputs=_distinct,
                       torch_ref=lambda x, axis, keepdims: x.amin(
                           dim=_dims(axis, x.ndim), keepdim=keepdims)),
                OpInfo(f"logsumexp-{tag}", sj.logsumexp, _logsumexp_ref, shapes, kwargs=kw,
                       torch_ref=lambda x, axis, keepdims: x.logsumexp(
                           dim=_dims(axis, x.ndim), keepdim=keepdims)),
            ]
            multi = [s for s in shapes if s != ((),)]  # one element: nothing to vary
            for correction in (0, 1):
                rows += [
                    OpInfo(f"var-c{correction}-{tag}", sj.var, _var_ref, multi,
                           kwargs={**kw, "correction": correction},
                           torch_ref=lambda x, axis, keepdims, correction: x.var(
                               dim=_dims(axis, x.ndim), keepdim=keepdims,
                               correction=correction)),
                    OpInfo(f"std-c{correction}-{tag}", sj.std, _std_ref, multi,
                           kwargs={**kw, "correction": correction},
                           torch_ref=lambda x, axis, keepdims, correction: x.std(
                               dim=_dims(axis, x.ndim), keepdim=keepdims,
                               correction=correction)),
                ]
    return rows + _torch_form_rows()


def _std_ref(x, axis, keepdims, correction):
    return np.std(x, axis=axis, keepdims=keepdims, ddof=correction)


def _torch_form_rows():
    """max/min over one dim (the values of the (values, indices) pair), and var/std/
    var_mean with their unbiased default, called as PyTorch code calls them."""
    rows = []
    for dim, shapes in [(0, [((3, 4),), ((5,),)]), (-1, [((2, 3, 4),)]), (1, [((2, 3, 4),)])]:
        for keepdim in (False, True):
            tag = f"dim{dim}{'-keep' if keepdim else ''}"
            rows += [
                OpInfo(f"max-values-{tag}", lambda x, dim, keepdim: sj.max(x, dim, keepdim).values,
                       lambda x, dim, keepdim: np.max(x, axis=dim, keepdims=keepdim), shapes,
                       kwargs={"dim": dim, "keepdim": keepdim}, make_inputs=_distinct,
                       torch_ref=lambda x, dim, keepdim: x.max(dim, keepdim).values),
                OpInfo(f"min-values-{tag}", lambda x, dim, keepdim: x.min(dim, keepdim)[0],
                       lambda x, dim, keepdim: np.min(x, axis=dim, keepdims=keepdim), shapes,
                       kwargs={"dim": dim, "keepdim": keepdim}, make_inputs=_distinct,
                       torch_ref=lambda x, dim, keepdim: x.min(dim, keepdim)[0]),
                OpInfo(f"var-default-{tag}", lambda x, dim, keepdim: x.var(dim, keepdim=keepdim),
                       lambda x, dim, keepdim: np.var(x, axis=dim, keepdims=keepdim, ddof=1),
                       shapes, kwargs={"dim": dim, "keepdim": keepdim},
                       torch_ref=lambda x, dim, keepdim: x.var(dim, keepdim=keepdim)),
                OpInfo(f"std-unbiased-false-{tag}",
                       lambda x, dim, keepdim: sj.std(x, dim, False, keepdim),
                       lambda x, dim, keepdim: np.std(x, axis=dim, keepdims=keepdim),
                       shapes, kwargs={"dim": dim, "keepdim": keepdim},
                       torch_ref=lambda x, dim, keepdim: torch_std(x, dim, False, keepdim)),
                OpInfo(f"var_mean-sum-{tag}",
                       lambda x, dim, keepdim: _pair_sum(sj.var_mean(x, dim, keepdim=keepdim)),
                       lambda x, dim, keepdim: np.var(x, axis=dim, keepdims=keepdim, ddof=1)
                       + np.mean(x, axis=dim, keepdims=keepdim),
                       shapes, kwargs={"dim": dim, "keepdim": keepdim},
                       torch_ref=lambda x, dim, keepdim: _pair_sum(
                           _torch().var_mean(x, dim, keepdim=keepdim))),
                OpInfo(f"std_mean-sum-{tag}",
                       lambda x, dim, keepdim: _pair_sum(sj.std_mean(x, dim, keepdim=keepdim)),
                       lambda x, dim, keepdim: np.std(x, axis=dim, keepdims=keepdim, ddof=1)
                       + np.mean(x, axis=dim, keepdims=keepdim),
                       shapes, kwargs={"dim": dim, "keepdim": keepdim},
                       torch_ref=lambda x, dim, keepdim: _pair_sum(
                           _torch().std_mean(x, dim, keepdim=keepdim))),
            ]
    return rows


def _pair_sum(pair):
    first, second = pair
    return first + second


def _torch():
    import torch

    return torch


def torch_std(x, dim, unbiased, keepdim):
    return _torch().std(x, dim, unbiased, keepdim)


ROWS = _rows()
