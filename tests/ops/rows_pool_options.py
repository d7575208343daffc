"""Op-table rows for PyTorch's pooling options (dilation, ceil_mode, count_include_pad,
divisor_override), against a NumPy reference that loops over output positions."""

from __future__ import annotations

import numpy as np

import shenjing.nn.functional as F
from tests.ops.opinfo import OpInfo


def _tf(name: str):
    def call(*args, **kwargs):
        import torch.nn.functional as tf

        return getattr(tf, name)(*args, **kwargs)

    return call


def _pair(v):
    return (v, v) if isinstance(v, int) else tuple(v)


def _length(n, k, s, p, d, ceil_mode):
    out = (n + 2 * p - d * (k - 1) - 1 + (s - 1 if ceil_mode else 0)) // s + 1
    return out - 1 if ceil_mode and (out - 1) * s >= n + p else out


def _pool2d(x, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False,
            count_include_pad=True, divisor_override=None, mode="max"):
    k, p, d = _pair(kernel_size), _pair(padding), _pair(dilation)
    s = k if stride is None else _pair(stride)
    h, w = x.shape[2:]
    out = [_length(n, *a, ceil_mode) for n, a in zip((h, w), zip(k, s, p, d, strict=True), strict=True)]
    y = np.zeros(x.shape[:2] + tuple(out))
    for i in range(out[0]):
        for j in range(out[1]):
            rows = [i * s[0] - p[0] + a * d[0] for a in range(k[0])]
            cols = [j * s[1] - p[1] + b * d[1] for b in range(k[1])]
            inside = [(r, c) for r in rows for c in cols if 0 <= r < h and 0 <= c < w]
            values = np.stack([x[:, :, r, c] for r, c in inside], axis=-1)
            if mode == "max":
                y[:, :, i, j] = values.max(axis=-1)
                continue
            if divisor_override:
                divisor = divisor_override
            elif count_include_pad:  # the window clipped to the padded input
                divisor = ((min(i * s[0] - p[0] + k[0], h + p[0]) - (i * s[0] - p[0]))
                           * (min(j * s[1] - p[1] + k[1], w + p[1]) - (j * s[1] - p[1])))
            else:
                divisor = len(inside)
            y[:, :, i, j] = values.sum(axis=-1) / divisor
    return y


def _pool1d(mode):
    def pool(x, kernel_size, stride=None, padding=0, **kwargs):
        y = _pool2d(x[:, :, None], (1, kernel_size), None if stride is None else (1, stride),
                    (0, padding), mode=mode,
                    **{k: (1, v) if k == "dilation" else v for k, v in kwargs.items()})
        return y[:, :, 0]

    return pool


def _distinct(shapes, rng):
    (shape,) = shapes
    size = int(np.prod(shape))
    return [(rng.permutation(size).reshape(shape) - size / 2) * (4.0 / size)]


def _max(x, **kwargs):
    return _pool2d(x, mode="max", **kwargs)


def _avg(x, **kwargs):
    return _pool2d(x, mode="avg", **kwargs)


IMAGES = [((2, 2, 7, 8),), ((1, 3, 6, 5),)]

ROWS = [
    *[
        OpInfo(f"max_pool2d_{name}", F.max_pool2d, _max, IMAGES, kwargs=kwargs,
               make_inputs=_distinct, torch_ref=_tf("max_pool2d"))
        for name, kwargs in [
            ("dilation2", {"kernel_size": 2, "stride": 1, "dilation": 2}),
            ("dilation_pad", {"kernel_size": 3, "stride": 2, "padding": 1, "dilation": (2, 1)}),
            ("ceil", {"kernel_size": 2, "ceil_mode": True}),
            ("ceil_s2_pad1", {"kernel_size": 3, "stride": 2, "padding": 1, "ceil_mode": True}),
        ]
    ],
    *[
        OpInfo(f"avg_pool2d_{name}", F.avg_pool2d, _avg, IMAGES, kwargs=kwargs,
               torch_ref=_tf("avg_pool2d"))
        for name, kwargs in [
            ("exclude_pad", {"kernel_size": 3, "stride": 2, "padding": 1,
                             "count_include_pad": False}),
            ("ceil", {"kernel_size": 2, "ceil_mode": True}),
            ("ceil_pad_exclude", {"kernel_size": 3, "stride": 2, "padding": 1,
                                  "ceil_mode": True, "count_include_pad": False}),
            ("ceil_pad_include", {"kernel_size": 3, "stride": 2, "padding": 1,
                                  "ceil_mode": True}),
            ("divisor_override", {"kernel_size": 2, "divisor_override": 3}),
        ]
    ],
    OpInfo("max_pool1d_dilation_ceil", F.max_pool1d, _pool1d("max"), [((2, 3, 9),)],
           kwargs={"kernel_size": 2, "stride": 2, "dilation": 2, "ceil_mode": True},
           make_inputs=_distinct, torch_ref=_tf("max_pool1d")),
    OpInfo("avg_pool1d_ceil_exclude", F.avg_pool1d, _pool1d("avg"), [((2, 3, 9),)],
           kwargs={"kernel_size": 3, "stride": 2, "padding": 1, "ceil_mode": True,
                   "count_include_pad": False}, torch_ref=_tf("avg_pool1d")),
]
