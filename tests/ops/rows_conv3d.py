"""Op-table rows for the 3-D convolutions and pooling and for max unpooling, against
NumPy references written from the definitions (one kernel offset at a time), and
PyTorch's functions."""

from __future__ import annotations

import itertools

import numpy as np

import shenjing.nn.functional as F
from tests.ops.opinfo import OpInfo


def _tf(name: str):
    def call(*args, **kwargs):
        import warnings

        import torch.nn.functional as tf

        with warnings.catch_warnings():  # torch's note on 'same' with even kernels
            warnings.simplefilter("ignore", UserWarning)
            return getattr(tf, name)(*args, **kwargs)

    return call


def _triple(v):
    return (v, v, v) if isinstance(v, int) else tuple(v)


def _conv3d(x, w, b=None, stride=1, padding=0, dilation=1, groups=1):
    s, d = _triple(stride), _triple(dilation)
    k = w.shape[2:]
    if padding == "same":
        pads = [((di * (ki - 1)) // 2, di * (ki - 1) - (di * (ki - 1)) // 2)
                for di, ki in zip(d, k, strict=True)]
    else:
        pads = [(p, p) for p in _triple(padding)]
    xp = np.pad(x, [(0, 0), (0, 0), *pads])
    out = [(n - di * (ki - 1) - 1) // si + 1 for n, di, ki, si in zip(xp.shape[2:], d, k, s, strict=True)]
    c_g, o_g = w.shape[1], w.shape[0] // groups
    y = np.zeros((x.shape[0], w.shape[0], *out))
    for g in range(groups):
        xg, wg = xp[:, g * c_g:(g + 1) * c_g], w[g * o_g:(g + 1) * o_g]
        for off in itertools.product(*map(range, k)):
            window = xg[(slice(None), slice(None), *(
                slice(o * di, o * di + si * (m - 1) + 1, si) for o, di, si, m in
                zip(off, d, s, out, strict=True)))]
            y[:, g * o_g:(g + 1) * o_g] += np.einsum("ncdhw,kc->nkdhw", window,
                                                     wg[(slice(None), slice(None), *off)])
    return y if b is None else y + b[None, :, None, None, None]


def _conv_transpose3d(x, w, b=None, stride=1, padding=0, output_padding=0, groups=1,
                      dilation=1):
    s, p, o, d = map(_triple, (stride, padding, output_padding, dilation))
    k, n_in = w.shape[2:], x.shape[2:]
    canvas = [(n - 1) * si + di * (ki - 1) + 1 + oi for n, si, di, ki, oi in
              zip(n_in, s, d, k, o, strict=True)]
    c_in, c_g = x.shape[1] // groups, w.shape[1]
    y = np.zeros((x.shape[0], c_g * groups, *canvas))
    for g in range(groups):
        xg, wg = x[:, g * c_in:(g + 1) * c_in], w[g * c_in:(g + 1) * c_in]
        for off in itertools.product(*map(range, k)):
            index = (slice(None), slice(g * c_g, (g + 1) * c_g), *(
                slice(a * di, a * di + si * (m - 1) + 1, si) for a, di, si, m in
                zip(off, d, s, n_in, strict=True)))
            y[index] += np.einsum("ncdhw,ck->nkdhw", xg, wg[(slice(None), slice(None), *off)])
    y = y[(slice(None), slice(None), *(slice(pi, c - pi) for pi, c in zip(p, canvas, strict=True)))]
    return y if b is None else y + b[None, :, None, None, None]


def _pool3d(x, mode, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False,
            count_include_pad=True, divisor_override=None):
    k = _triple(kernel_size)
    s = k if stride is None else _triple(stride)
    p, d = _triple(padding), _triple(dilation)
    out = []
    for n, ki, si, pi, di in zip(x.shape[2:], k, s, p, d, strict=True):
        span = n + 2 * pi - di * (ki - 1) - 1
        o = (-(-span // si) if ceil_mode else span // si) + 1
        if ceil_mode and (o - 1) * si >= n + pi:
            o -= 1
        out.append(o)
    far = [max(0, (o - 1) * si + di * (ki - 1) + 1 - n - pi) for o, si, di, ki, n, pi in
           zip(out, s, d, k, x.shape[2:], p, strict=True)]
    spec = [(0, 0), (0, 0), *zip(p, far, strict=True)]
    fill = -np.inf if mode == "max" else 0.0
    xp = np.pad(x, spec, constant_values=fill)
    views = []
    for off in itertools.product(*map(range, k)):
        views.append(xp[(slice(None), slice(None), *(
            slice(a * di, a * di + si * (m - 1) + 1, si) for a, di, si, m in
            zip(off, d, s, out, strict=True)))])
    if mode == "max":
        return np.max(views, axis=0)
    total = np.sum(views, axis=0)
    if divisor_override is not None:
        return total / divisor_override
    # PyTorch's divisor per axis: the window clipped to the padded input (or the input).
    divisor = np.ones(out)
    for axis, (n, ki, si, pi, o) in enumerate(zip(x.shape[2:], k, s, p, out, strict=True)):
        start = np.arange(o) * si - pi
        end = np.minimum(start + ki, n + pi)
        if not count_include_pad:
            start, end = np.maximum(start, 0), np.minimum(end, n)
        shape = [1, 1, 1]
        shape[axis] = o
        divisor = divisor * (end - start).reshape(shape)
    return total / divisor


def _max_pool3d(x, **kw):
    return _pool3d(x, "max", **kw)


def _avg_pool3d(x, **kw):
    return _pool3d(x, "avg", **kw)


def _unpool_inputs(dims, in_shape):
    """A max_pool*d output and its indices, from a random input with no ties."""

    def make(shapes, rng):
        import shenjing as sj

        x = sj.tensor(rng.permutation(np.prod(in_shape)).reshape(in_shape) * 0.01)
        pool = getattr(F, f"max_pool{dims}d")
        y, i = pool(x, 2, return_indices=True)
        return [rng.uniform(-2, 2, size=y.shape), i.numpy()]

    return make


def _max_unpool(x, indices, kernel_size, output_size=None):
    n, c = x.shape[:2]
    out = output_size or [m * kernel_size for m in x.shape[2:]]
    y = np.zeros((n, c, int(np.prod(out))))
    for a in range(n):
        for b in range(c):
            y[a, b, indices[a, b].ravel()] = x[a, b].ravel()
    return y.reshape(n, c, *out)


X = (1, 4, 4, 5, 4)
ROWS = [
    OpInfo(f"conv3d_{name}", F.conv3d, _conv3d, shapes, kwargs=kwargs, torch_ref=_tf("conv3d"))
    for name, shapes, kwargs in [
        ("plain", [((2, 2, 3, 4, 3), (2, 2, 2, 3, 2), (2,))], {}),
        ("stride_pad_dilation", [(X, (2, 4, 2, 2, 3), (2,))],
         {"stride": (2, 1, 2), "padding": (1, 0, 1), "dilation": (1, 2, 1)}),
        ("groups_same", [(X, (2, 2, 3, 2, 3))], {"padding": "same", "groups": 2}),
    ]
] + [
    OpInfo(f"conv_transpose3d_{name}", F.conv_transpose3d, _conv_transpose3d, shapes,
           kwargs=kwargs, torch_ref=_tf("conv_transpose3d"))
    for name, shapes, kwargs in [
        ("plain", [((1, 2, 3, 4, 3), (2, 2, 2, 3, 2), (2,))], {}),
        ("stride_outpad_groups", [((1, 2, 3, 3, 2), (2, 1, 3, 2, 3), (2,))],
         {"stride": 2, "padding": (1, 0, 1), "output_padding": (1, 0, 0), "groups": 2,
          "dilation": (1, 2, 1)}),
    ]
] + [
    OpInfo(f"max_pool3d_{name}", F.max_pool3d, _max_pool3d, [(X,)], kwargs=kwargs,
           torch_ref=_tf("max_pool3d"),
           make_inputs=lambda shapes, rng: [rng.permutation(np.prod(shapes[0])).reshape(
               shapes[0]) * 0.01])  # distinct values: no ties, no kinks for gradcheck
    for name, kwargs in [
        ("tiled", {"kernel_size": 2}),
        ("overlap_ceil", {"kernel_size": 3, "stride": 2, "padding": 1, "ceil_mode": True}),
        ("dilation", {"kernel_size": (2, 2, 1), "stride": 1, "dilation": (2, 1, 1)}),
    ]
] + [
    OpInfo(f"avg_pool3d_{name}", F.avg_pool3d, _avg_pool3d, [(X,)], kwargs=kwargs,
           torch_ref=_tf("avg_pool3d"))
    for name, kwargs in [
        ("tiled", {"kernel_size": 2}),
        ("pad_ceil", {"kernel_size": 3, "stride": 2, "padding": 1, "ceil_mode": True}),
        ("exclude_pad", {"kernel_size": 3, "stride": 2, "padding": 1,
                         "count_include_pad": False}),
        ("divisor", {"kernel_size": (1, 2, 3), "stride": (1, 2, 1), "divisor_override": 5}),
    ]
] + [
    OpInfo(f"max_unpool{d}d", getattr(F, f"max_unpool{d}d"), _max_unpool, [(shape, shape)],
           kwargs={"kernel_size": 2}, make_inputs=_unpool_inputs(d, shape),
           torch_ref=_tf(f"max_unpool{d}d"))
    for d, shape in [(1, (2, 3, 8)), (2, (2, 3, 4, 6)), (3, (1, 2, 4, 4, 4))]
] + [
    OpInfo("max_unpool2d_output_size", F.max_unpool2d, _max_unpool, [((2, 3, 4, 6),) * 2],
           kwargs={"kernel_size": 2, "output_size": [5, 7]},
           make_inputs=_unpool_inputs(2, (2, 3, 4, 6)), torch_ref=_tf("max_unpool2d")),
]
