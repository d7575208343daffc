"""Op-table rows for the names published PyTorch programs reach for (issue 20): norm in
its p / dim / keepdim forms, repeat_interleave, and scatter with reduce=."""

from __future__ import annotations

import importlib.util
import math

import numpy as np

import shenjing as sj
from tests.ops.opinfo import OpInfo


def _away_from_kinks(shapes, rng):
    """Distinct magnitudes in [0.2, 2.2) with random signs: no zero (|x| has a kink
    there) and no tie (the max of |x| must be unique under the gradcheck step)."""
    (shape,) = shapes
    n = int(np.prod(shape))
    magnitudes = 0.2 + rng.permutation(n) * (2.0 / max(n, 1)) + rng.uniform(0, 0.01, n)
    return [(magnitudes * rng.choice([-1.0, 1.0], n)).reshape(shape)]


def _norm_ref(x, p, dim, keepdim):
    axes = tuple(range(x.ndim)) if dim is None else dim
    a = np.abs(x)
    if p == "fro":
        p = 2
    if p == math.inf:
        return a.max(axis=axes, keepdims=keepdim)
    if p == -math.inf:
        return a.min(axis=axes, keepdims=keepdim)
    if p == 0:
        return (x != 0).sum(axis=axes, keepdims=keepdim).astype(x.dtype)
    return (a ** p).sum(axis=axes, keepdims=keepdim) ** (1 / p)


def _torch_norm(x, p, dim, keepdim):
    import torch

    return torch.norm(x, p=p, dim=dim, keepdim=keepdim)


def _norm_rows():
    rows = []
    shapes = [((2, 3, 4),)]
    for p in ("fro", 2, 1, 3, 0.5, math.inf, -math.inf, 0):
        for dim, keepdim in ((None, False), (1, False), (-1, True), ((0, 1), False)):
            rows.append(OpInfo(
                f"norm-p{p}-dim{dim}-keep{keepdim}".replace(" ", ""), sj.norm, _norm_ref,
                shapes, kwargs={"p": p, "dim": dim, "keepdim": keepdim},
                make_inputs=_away_from_kinks, atol=1e-4,
                # PyTorch gives p=0 no gradient at all (ours is 0, as the count is flat)
                torch_ref=_torch_norm if p != 0 else None))
    return rows


def _with_counts(counts):
    def make(shapes, rng):
        return [rng.uniform(-2, 2, size=shapes[0]), np.array(counts, dtype=np.int64)]
    return make


def _repeat_ref(x, repeats, dim=None):
    return np.repeat(x if dim is not None else x.ravel(), repeats, axis=dim or 0)


def _torch_repeat(x, repeats, dim=None):
    import torch

    return torch.repeat_interleave(x, repeats, dim=dim)


def _scatter_inputs(shapes, rng):
    x = rng.uniform(0.5, 2, size=(3, 4))
    return [x, np.array([[0, 2, 1, 0], [2, 2, 0, 1]]), rng.uniform(0.5, 2, size=(2, 4))]


def _scatter_ref(reduce):
    def ref(x, index, src):
        out = x.copy()
        cols = np.broadcast_to(np.arange(index.shape[1]), index.shape)
        (np.add if reduce == "add" else np.multiply).at(out, (index, cols), src)
        return out
    return ref


ROWS = [
    *_norm_rows(),
    OpInfo("repeat_interleave-int-flat", sj.repeat_interleave, _repeat_ref,
           [((3, 4),), ((5,),)], kwargs={"repeats": 3}, torch_ref=_torch_repeat),
    OpInfo("repeat_interleave-int-dim1", sj.repeat_interleave, _repeat_ref,
           [((3, 4),), ((2, 4, 3),)], kwargs={"repeats": 2, "dim": 1},
           torch_ref=_torch_repeat),
    OpInfo("repeat_interleave-counts-dim0", sj.repeat_interleave, _repeat_ref,
           [((4, 3),)], kwargs={"dim": 0}, make_inputs=_with_counts([2, 0, 1, 3]),
           torch_ref=_torch_repeat),
    OpInfo("repeat_interleave-counts-dim-1", sj.repeat_interleave, _repeat_ref,
           [((2, 3),)], kwargs={"dim": -1}, make_inputs=_with_counts([0, 4, 1]),
           torch_ref=_torch_repeat),
    # torch.scatter(reduce=) has no derivative; ours has scatter_reduce's ('sum'/'prod'),
    # checked here by central differences, and its forward against PyTorch in
    # test_programs_tensor.py.
    *[OpInfo(f"scatter-reduce-{reduce}",
             lambda x, index, src, reduce=reduce: sj.scatter(x, 0, index, src, reduce=reduce),
             _scatter_ref(reduce), [((3, 4), (2, 4), (2, 4))], make_inputs=_scatter_inputs)
      for reduce in ("add", "multiply")],
]


# ---------------------------------------------------------------- F.pad crops, normalize
# with any p, grouped-query attention

def _np_pad(x, widths, mode):
    """NumPy's pad after cropping the negative widths, as PyTorch's F.pad does."""
    index = [slice(None)] * x.ndim
    pads = [(0, 0)] * x.ndim
    for k in range(len(widths) // 2):
        axis = x.ndim - 1 - k
        before, after = widths[2 * k], widths[2 * k + 1]
        index[axis] = slice(max(-before, 0), x.shape[axis] - max(-after, 0))
        pads[axis] = (max(before, 0), max(after, 0))
    numpy_mode = {"constant": "constant", "reflect": "reflect", "replicate": "edge",
                  "circular": "wrap"}[mode]
    return np.pad(x[tuple(index)], pads, mode=numpy_mode)


def _pad_row(mode, widths):
    import shenjing.nn.functional as F

    def torch_ref(x):
        import torch

        return torch.nn.functional.pad(x, widths, mode=mode)

    return OpInfo(f"pad-crop-{mode}-{widths}".replace(" ", ""),
                  lambda x: F.pad(x, widths, mode=mode), lambda x: _np_pad(x, widths, mode),
                  [((2, 4, 6),)], torch_ref=torch_ref)


def _normalize_row(p):
    import shenjing.nn.functional as F

    def ref(x):
        return x / np.maximum(_norm_ref(x, p, (1,), True), 1e-12)

    def torch_ref(x):
        import torch

        return torch.nn.functional.normalize(x, p=p, dim=1)

    return OpInfo(f"normalize-p{p}", lambda x: F.normalize(x, p=p, dim=1), ref,
                  [((3, 4),), ((2, 3, 4),)], make_inputs=_away_from_kinks,
                  torch_ref=torch_ref if p != 0 else None)


def _gqa_ref(q, k, v):
    groups = q.shape[-3] // k.shape[-3]
    k, v = np.repeat(k, groups, axis=-3), np.repeat(v, groups, axis=-3)
    scores = q @ np.swapaxes(k, -1, -2) / np.sqrt(q.shape[-1])
    weights = np.exp(scores - scores.max(-1, keepdims=True))
    return (weights / weights.sum(-1, keepdims=True)) @ v


def _torch_gqa(q, k, v):
    import torch

    return torch.nn.functional.scaled_dot_product_attention(q, k, v, enable_gqa=True)


ROWS += [
    *[_pad_row(mode, widths) for mode, widths in [
        ("constant", (-1, 2)), ("constant", (-2, -1, 1, -1)), ("reflect", (-1, 2)),
        ("replicate", (2, -3)), ("circular", (-1, 2, -1, 1))]],
    *[_normalize_row(p) for p in (0, -1, -2.5, math.inf, -math.inf)],
    OpInfo("sdpa-enable_gqa",
           lambda q, k, v: sj.scaled_dot_product_attention(q, k, v, enable_gqa=True),
           _gqa_ref, [((2, 4, 3, 5), (2, 2, 6, 5), (2, 2, 6, 7)), ((6, 2, 5), (1, 4, 5),
                                                                  (1, 4, 3))],
           torch_ref=_torch_gqa),
]


# ---------------------------------------------------------------- interpolate modes

def _interp_row(mode, shape, **kwargs):
    import shenjing.nn.functional as F

    def torch_ref(x):
        import torch

        return torch.nn.functional.interpolate(x, mode=mode, **kwargs)

    def ref(x):  # PyTorch, in float64, is the reference for the resampling rules
        import torch

        return torch.nn.functional.interpolate(torch.tensor(x), mode=mode, **kwargs).numpy()

    tag = "-".join(f"{k}{v}" for k, v in kwargs.items()).replace(" ", "")
    return OpInfo(f"interpolate-{mode}-{len(shape)}d-{tag}",
                  lambda x: F.interpolate(x, mode=mode, **kwargs), ref, [(shape,)],
                  torch_ref=torch_ref)


# These rows take PyTorch as their reference (and the unpool rows take their inputs from
# its max pools), so they exist only where it is installed; rows_resize.py and
# rows_conv3d.py check the same ops against NumPy everywhere.
_HAVE_TORCH = importlib.util.find_spec("torch") is not None

ROWS += [] if not _HAVE_TORCH else [
    _interp_row("nearest-exact", (2, 3, 5), scale_factor=1.7),
    _interp_row("nearest-exact", (1, 2, 5, 4), size=(3, 7)),
    _interp_row("nearest", (1, 2, 3, 4, 5), size=(5, 3, 6)),
    _interp_row("nearest-exact", (1, 2, 3, 4, 5), scale_factor=2),
    _interp_row("trilinear", (1, 2, 3, 4, 5), size=(5, 3, 6)),
    _interp_row("trilinear", (1, 2, 3, 4, 5), size=(4, 7, 2), align_corners=True),
    _interp_row("linear", (2, 3, 5), size=8),
]


# ---------------------------------------------------------------- max_unpool

def _unpool_inputs(spatial):
    """Pooled values and the indices a stride-2, kernel-2 max pool gives (distinct
    positions), from a random (2, 3, 6, 4) or (2, 3, 8) input."""
    def make(shapes, rng):
        import torch

        source = torch.tensor(rng.uniform(-2, 2, size=(2, 3, 6, 4)[: 2 + spatial]
                                          if spatial == 2 else (2, 3, 8)))
        pool = torch.nn.functional.max_pool2d if spatial == 2 else \
            torch.nn.functional.max_pool1d
        values, indices = pool(source, 2, return_indices=True)
        return [values.numpy(), indices.numpy()]
    return make


def _unpool_ref(out_shape):
    def ref(x, index):
        n, c = x.shape[:2]
        y = np.zeros((n, c, int(np.prod(out_shape))))
        for i in range(n):
            for j in range(c):
                y[i, j, index[i, j].ravel()] = x[i, j].ravel()
        return y.reshape(n, c, *out_shape)
    return ref


def _torch_unpool(spatial):
    def ref(x, index):
        import torch

        unpool = torch.nn.functional.max_unpool2d if spatial == 2 else \
            torch.nn.functional.max_unpool1d
        return unpool(x, index, 2)
    return ref


ROWS += [] if not _HAVE_TORCH else [
    OpInfo("max_unpool2d", lambda x, i: sj.nn.functional.max_unpool2d(x, i, 2),
           _unpool_ref((6, 4)), [((2, 3, 3, 2), (2, 3, 3, 2))], make_inputs=_unpool_inputs(2),
           torch_ref=_torch_unpool(2)),
    OpInfo("max_unpool1d", lambda x, i: sj.nn.functional.max_unpool1d(x, i, 2),
           _unpool_ref((8,)), [((2, 3, 4), (2, 3, 4))], make_inputs=_unpool_inputs(1),
           torch_ref=_torch_unpool(1)),
]


# ---------------------------------------------------------------- 3-D convolution, pooling

def _windows_ref(x, kernel, stride, dilation):
    """Every window of x (N, C, D, H, W) as (N, C, Do, Ho, Wo, kD, kH, kW), by loops over
    the output positions: the plain definition."""
    n, c = x.shape[:2]
    out = [(s - dl * (k - 1) - 1) // st + 1 for s, k, st, dl in
           zip(x.shape[2:], kernel, stride, dilation, strict=True)]
    win = np.empty((n, c, *out, *kernel))
    for d in range(out[0]):
        for h in range(out[1]):
            for w in range(out[2]):
                win[:, :, d, h, w] = x[:, :, d * stride[0]:d * stride[0] + dilation[0] * (
                    kernel[0] - 1) + 1:dilation[0], h * stride[1]:h * stride[1] + dilation[1] * (
                    kernel[1] - 1) + 1:dilation[1], w * stride[2]:w * stride[2] + dilation[2] * (
                    kernel[2] - 1) + 1:dilation[2]]
    return win


def _conv3d_ref(x, w, b=None, stride=1, padding=0, dilation=1, groups=1):
    st, pd, dl = ((v,) * 3 if isinstance(v, int) else v for v in (stride, padding, dilation))
    x = np.pad(x, ((0, 0), (0, 0), *((p, p) for p in pd)))
    win = _windows_ref(x, w.shape[2:], st, dl)
    n, c = x.shape[:2]
    win = win.reshape(n, groups, c // groups, *win.shape[2:])
    wg = w.reshape(groups, w.shape[0] // groups, *w.shape[1:])
    y = np.einsum("ngcdhwijk,gocijk->ngodhw", win, wg).reshape(n, w.shape[0], *win.shape[3:6])
    return y if b is None else y + b.reshape(1, -1, 1, 1, 1)


def _conv_t3d_ref(x, w, b=None, stride=1, padding=0, output_padding=0, groups=1):
    """The transposed convolution as its definition: each input voxel adds W times its
    value into the output at stride-spaced offsets, then the padding is cropped."""
    st, pd, op = ((v,) * 3 if isinstance(v, int) else v for v in (stride, padding,
                                                              output_padding))
    n, cin = x.shape[:2]
    k = w.shape[2:]
    cout = w.shape[1] * groups
    full = [(s - 1) * t + kk + o for s, t, kk, o in zip(x.shape[2:], st, k, op, strict=True)]
    y = np.zeros((n, cout, *full))
    per = cin // groups
    for g in range(groups):
        xs, ws = x[:, g * per:(g + 1) * per], w[g * per:(g + 1) * per]
        for d in range(x.shape[2]):
            for h in range(x.shape[3]):
                for v in range(x.shape[4]):
                    y[:, g * w.shape[1]:(g + 1) * w.shape[1], d * st[0]:d * st[0] + k[0],
                      h * st[1]:h * st[1] + k[1], v * st[2]:v * st[2] + k[2]] += np.einsum(
                        "nc,coijk->noijk", xs[:, :, d, h, v], ws)
    y = y[(slice(None), slice(None),
           *(slice(p, f - p) for p, f in zip(pd, full, strict=True)))]
    return y if b is None else y + b.reshape(1, -1, 1, 1, 1)


def _pool3d_ref(kind, kernel, stride, padding):
    def ref(x):
        fill = -np.inf if kind == "max" else 0.0
        xp = np.pad(x, ((0, 0), (0, 0), *((padding, padding),) * 3), constant_values=fill)
        win = _windows_ref(xp, (kernel,) * 3, (stride,) * 3, (1, 1, 1))
        return win.max(axis=(-3, -2, -1)) if kind == "max" else win.mean(axis=(-3, -2, -1))
    return ref


def _torch_fn(name, **kwargs):
    def ref(*xs):
        import torch

        return getattr(torch.nn.functional, name)(*xs, **kwargs)
    return ref


def _distinct3d(shapes, rng):
    (shape,) = shapes
    n = int(np.prod(shape))
    return [((rng.permutation(n) - n / 2) * 0.05).reshape(shape)]


_F = sj.nn.functional
ROWS += [
    OpInfo("conv3d", lambda x, w, b: _F.conv3d(x, w, b), _conv3d_ref,
           [((2, 2, 4, 5, 3), (3, 2, 2, 3, 2), (3,))], torch_ref=_torch_fn("conv3d"),
           atol=1e-4),
    OpInfo("conv3d-stride-pad-dil-groups",
           lambda x, w: _F.conv3d(x, w, None, (1, 2, 1), (1, 0, 1), (2, 1, 1), 2),
           lambda x, w: _conv3d_ref(x, w, None, (1, 2, 1), (1, 0, 1), (2, 1, 1), 2),
           [((1, 4, 5, 5, 4), (2, 2, 2, 2, 3))],
           torch_ref=_torch_fn("conv3d", stride=(1, 2, 1), padding=(1, 0, 1),
                               dilation=(2, 1, 1), groups=2), atol=1e-4),
    OpInfo("conv_transpose3d", lambda x, w, b: _F.conv_transpose3d(x, w, b), _conv_t3d_ref,
           [((2, 2, 3, 2, 3), (2, 3, 2, 3, 2), (3,))],
           torch_ref=_torch_fn("conv_transpose3d"), atol=1e-4),
    OpInfo("conv_transpose3d-stride-pad-groups",
           lambda x, w: _F.conv_transpose3d(x, w, None, 2, 1, 1, 2),
           lambda x, w: _conv_t3d_ref(x, w, None, 2, 1, 1, 2),
           [((1, 4, 3, 2, 3), (4, 1, 3, 3, 3))],
           torch_ref=_torch_fn("conv_transpose3d", stride=2, padding=1, output_padding=1,
                               groups=2), atol=1e-4),
    OpInfo("max_pool3d", lambda x: _F.max_pool3d(x, 2, 2, 1), _pool3d_ref("max", 2, 2, 1),
           [((2, 2, 4, 5, 3),)], make_inputs=_distinct3d,
           torch_ref=_torch_fn("max_pool3d", kernel_size=2, stride=2, padding=1)),
    OpInfo("avg_pool3d", lambda x: _F.avg_pool3d(x, 3, 2, 1), _pool3d_ref("avg", 3, 2, 1),
           [((2, 2, 5, 4, 5),)],
           torch_ref=_torch_fn("avg_pool3d", kernel_size=3, stride=2, padding=1)),
]
