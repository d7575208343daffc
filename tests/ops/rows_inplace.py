"""Op-table rows for the in-place methods and ``t[index] = v``, recorded for autograd.

Each row is a small program on a non-leaf (``x * 1.0``) that PyTorch runs as written: the
same function is the shenjing op and the PyTorch reference."""

from __future__ import annotations

import numpy as np

from tests.ops.opinfo import OpInfo


def _positive_second(shapes, rng):
    return [rng.uniform(-2, 2, size=shapes[0]), rng.uniform(0.5, 2.0, size=shapes[1])]


def _with_mask(shapes, rng):
    return [rng.uniform(-2, 2, size=shapes[0]), rng.uniform(size=shapes[0]) < 0.4]


def _add(x, w):
    y = x * 1.0
    return y.add_(w, alpha=0.5)


def _sub(x, w):
    y = x * 1.0
    y.sub_(w)
    return y


def _mul_then_add(x, w):
    y = x * 1.0
    y.mul_(w).add_(1.5)
    return y


def _div(x, w):
    y = x * 1.0
    y.div_(w)
    return y


def _clamp(x):
    y = x * 1.0
    y.clamp_(-0.5, 0.7)
    return y


def _clamp_min_max(x):
    y = x * 2.0
    y.clamp_min_(-0.6).clamp_max_(0.9)
    return y


def _masked_fill(x, mask):
    y = x * 1.0
    y.masked_fill_(mask, -1.5)
    return y


def _copy(x, w):
    y = x * 1.0
    y.copy_(w * 2.0)
    return y * x


def _fill(x, s):
    y = x * 1.0
    y.fill_(s * 3.0)
    return y + x


def _zero(x):
    y = x * 1.0
    y.zero_()
    return y + x * x


def _setitem_slice(x, v):
    y = x * 1.0
    y[1:3] = v * 2.0
    return y


def _setitem_indices(x, v):
    y = x * 1.0
    y[[0, 3]] = v
    return y * x


def _setitem_mask(x, mask):
    y = x * 1.0
    y[mask] = 0.25
    return y


def _setitem_into_buffer(x, v):
    buffer = (x * 0.0).detach()  # a leaf that needs no gradient, as a zeros buffer
    buffer[:, 1] = v
    return buffer * x


def _earlier_consumer_keeps_old_value(x, w):
    y = x * 2.0
    z = y * 3.0  # recorded before the write: its gradient goes to y's old history
    y.add_(w)
    return z + y


def _np_setitem(x, index, v):
    y = x.copy()
    y[index] = v
    return y


ROWS = [
    OpInfo("add_", _add, lambda x, w: x + 0.5 * w, [((3, 4), (4,)), ((3, 4), (3, 4))],
           torch_ref=_add),
    OpInfo("sub_", _sub, lambda x, w: x - w, [((3, 4), (3, 1))], torch_ref=_sub),
    OpInfo("mul_", _mul_then_add, lambda x, w: x * w + 1.5, [((3, 4), (1, 4))],
           torch_ref=_mul_then_add),
    OpInfo("div_", _div, lambda x, w: x / w, [((3, 4), (3, 4))],
           make_inputs=_positive_second, torch_ref=_div),
    OpInfo("clamp_", _clamp, lambda x: np.clip(x, -0.5, 0.7), [((3, 4),)], torch_ref=_clamp),
    OpInfo("clamp_min_max_", _clamp_min_max, lambda x: np.clip(2 * x, -0.6, 0.9),
           [((3, 4),)], torch_ref=_clamp_min_max),
    OpInfo("masked_fill_", _masked_fill, lambda x, m: np.where(m, -1.5, x), [((3, 4),)],
           make_inputs=_with_mask, torch_ref=_masked_fill),
    OpInfo("copy_", _copy, lambda x, w: np.broadcast_to(2 * w, x.shape) * x,
           [((3, 4), (4,))], torch_ref=_copy),
    OpInfo("fill_", _fill, lambda x, s: np.full(x.shape, 3 * s) + x, [((3, 4), ())],
           torch_ref=_fill),
    OpInfo("zero_", _zero, lambda x: x * x, [((3, 4),)], torch_ref=_zero),
    OpInfo("setitem-slice", _setitem_slice,
           lambda x, v: _np_setitem(x, slice(1, 3), 2 * v), [((4, 3), (3,)), ((4, 3), (2, 3))],
           torch_ref=_setitem_slice),
    OpInfo("setitem-indices", _setitem_indices,
           lambda x, v: _np_setitem(x, [0, 3], v) * x, [((4, 3), (2, 3))],
           torch_ref=_setitem_indices),
    OpInfo("setitem-mask", _setitem_mask, lambda x, m: np.where(m, 0.25, x), [((3, 4),)],
           make_inputs=_with_mask, torch_ref=_setitem_mask),
    OpInfo("setitem-buffer", _setitem_into_buffer,
           lambda x, v: _np_setitem(np.zeros_like(x), (slice(None), 1), v) * x,
           [((3, 4), (3,))], torch_ref=_setitem_into_buffer),
    OpInfo("inplace-earlier-consumer", _earlier_consumer_keeps_old_value,
           lambda x, w: 6 * x + 2 * x + w, [((3, 4), (3, 4))],
           torch_ref=_earlier_consumer_keeps_old_value),
]
