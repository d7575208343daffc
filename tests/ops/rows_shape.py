"""Op-table rows for shape ops: reshaping, permuting, indexing, joining, splitting, padding."""

from __future__ import annotations

import numpy as np

import shenjing as sj
from tests.ops.opinfo import OpInfo

REPEATED = np.array([2, 0, 2, 2])
MASK = np.array([[True, False, True, True], [False, False, True, False], [True] * 4])

# (name, index): each is checked as x[index] against NumPy on a (3, 4) or (2, 3, 4) input.
INDEXES_2D = [
    ("int", 1),
    ("neg-int", -1),
    ("slice", slice(1, None)),
    ("neg-step", (slice(None, None, -1), slice(3, 0, -2))),
    ("int-slice", (2, slice(None, 3))),
    ("none", (None, slice(None), None, 1)),
    ("int-array-repeated", REPEATED[:3]),
    ("list-repeated", [1, 1, 0]),
    ("arrays-pair", (np.array([0, 2, 0]), np.array([3, 1, 3]))),
    ("slice-array", (slice(None), REPEATED)),
    ("bool-mask", MASK),
    ("bool-rows", np.array([True, False, True])),
]
INDEXES_3D = [
    ("ellipsis", (Ellipsis, 1)),
    ("ellipsis-none", (0, Ellipsis, None)),
    ("ellipsis-array", (Ellipsis, REPEATED)),
    ("array-middle", (slice(None), [2, 2, 0], slice(1, 3))),
]


def _getitem_rows():
    rows = [
        OpInfo(f"getitem-{name}", lambda x, index=index: x[index],
               lambda x, index=index: x[index], [((3, 4),)],
               torch_ref=_torch_getitem(index))
        for name, index in INDEXES_2D
    ]
    rows += [
        OpInfo(f"getitem-{name}", lambda x, index=index: x[index],
               lambda x, index=index: x[index], [((2, 3, 4),)])
        for name, index in INDEXES_3D
    ]
    return rows


def _torch_getitem(index):
    """``x[index]`` on a torch tensor, with arrays as torch tensors; None when PyTorch
    cannot index that way (it has no negative steps)."""
    parts = index if isinstance(index, tuple) else (index,)
    if any(isinstance(part, slice) and (part.step or 1) < 0 for part in parts):
        return None

    def take(x):
        import torch

        return x[tuple(torch.as_tensor(p) if isinstance(p, (np.ndarray, list)) else p
                       for p in parts)]

    return take


def _torch_cat(*xs, axis=0):
    import torch

    return torch.cat(xs, dim=axis)


def _torch_stack(*xs, axis=0):
    import torch

    return torch.stack(xs, dim=axis)


def _torch_index(values):
    import torch

    return torch.tensor(values)


def _split_ref(x, sections, axis):
    return np.concatenate(np.split(x, np.cumsum(sections)[:-1], axis=axis)[::-1], axis=axis)


TRANSPOSES = [((3, 4), None), ((2, 3, 4), None), ((2, 3, 4), (1, 2, 0)), ((2, 3, 4), (-1, 0, 1))]

ROWS = [
    OpInfo("reshape", lambda x: sj.reshape(x, (4, 3)), lambda x: x.reshape(4, 3), [((3, 4),)],
           torch_ref=lambda x: x.reshape(4, 3)),
    OpInfo("reshape-infer", lambda x: x.reshape(2, -1), lambda x: x.reshape(2, -1),
           [((3, 4),), ((2, 3, 4),)], torch_ref=lambda x: x.reshape(2, -1)),
    OpInfo("reshape-scalar", lambda x: x.reshape(1, 1), lambda x: x.reshape(1, 1), [((),)]),
    *[
        OpInfo(f"permute-{axes}".replace(" ", ""), lambda x, axes=axes: sj.permute(x, axes),
               lambda x, axes=axes: np.transpose(x, axes), [(shape,)],
               torch_ref=lambda x, axes=axes: x.permute(*axes))
        for shape, axes in TRANSPOSES if axes is not None
    ],
    *[
        OpInfo(f"transpose-{d0}-{d1}", lambda x, d0=d0, d1=d1: x.transpose(d0, d1),
               lambda x, d0=d0, d1=d1: np.swapaxes(x, d0, d1), [((2, 3, 4),)],
               torch_ref=lambda x, d0=d0, d1=d1: x.transpose(d0, d1))
        for d0, d1 in [(0, 2), (-1, 1), (1, 1)]
    ],
    OpInfo("transpose-0d", lambda x: sj.transpose(x, 0, -1), lambda x: x, [((),)],
           torch_ref=lambda x: x.transpose(0, -1)),
    OpInfo("mT", lambda x: x.mT, lambda x: np.swapaxes(x, -1, -2), [((2, 3, 4),), ((3, 4),)],
           torch_ref=lambda x: x.mT),
    OpInfo("expand", lambda x: x.expand(2, -1, 4), lambda x: np.broadcast_to(x, (2, 3, 4)),
           [((3, 1),), ((1, 3, 1),)], torch_ref=lambda x: x.expand(2, -1, 4)),
    OpInfo("expand-tuple", lambda x: sj.expand(x, (3, 4)), lambda x: np.broadcast_to(x, (3, 4)),
           [((4,),)], torch_ref=lambda x: x.expand((3, 4))),
    *[
        OpInfo(f"repeat-{reps}".replace(" ", ""), lambda x, reps=reps: x.repeat(*reps),
               lambda x, reps=reps: np.tile(x, reps), shapes,
               torch_ref=lambda x, reps=reps: x.repeat(*reps))
        for reps, shapes in [((2, 3), [((2, 3),), ((4,),)]), ((2, 1, 3), [((2, 3),)]),
                             ((0, 2), [((3,),)])]
    ],
    OpInfo("view", lambda x: x.view(4, -1), lambda x: x.reshape(4, -1), [((2, 3, 4),)],
           torch_ref=lambda x: x.view(4, -1)),
    OpInfo("clone", lambda x: x.clone(), lambda x: x.copy(), [((2, 3),), ((),)],
           torch_ref=lambda x: x.clone()),
    OpInfo("flatten-dims", lambda x: x.flatten(start_dim=1, end_dim=-2),
           lambda x: x.reshape(2, 12, 5), [((2, 3, 4, 5),)],
           torch_ref=lambda x: x.flatten(start_dim=1, end_dim=-2)),
    OpInfo("squeeze-0d", lambda x: x.squeeze(-1), lambda x: x, [((),)],
           torch_ref=lambda x: x.squeeze(-1)),
    OpInfo("unsqueeze-0d", lambda x: x.unsqueeze(-1), lambda x: x.reshape(1), [((),)],
           torch_ref=lambda x: x.unsqueeze(-1)),
    OpInfo("sum-0d-dim", lambda x: x.sum(0), lambda x: x, [((),)],
           torch_ref=lambda x: x.sum(0)),
    OpInfo("index-int-slice-tensor",
           lambda x: x[0, :, sj.tensor([2, 0, 2])], lambda x: x[0][:, [2, 0, 2]],
           [((2, 3, 4),)], torch_ref=lambda x: x[0, :, _torch_index([2, 0, 2])]),
    OpInfo("index-tensor-int-tensor",
           lambda x: x[sj.tensor([1, 0]), 1, sj.tensor([3, 3])],
           lambda x: x[:, 1][[1, 0], [3, 3]], [((2, 3, 4),)],
           torch_ref=lambda x: x[_torch_index([1, 0]), 1, _torch_index([3, 3])]),
    OpInfo("index-none-ellipsis-int-tensor",
           lambda x: x[None, ..., 1, sj.tensor([0, 2])], lambda x: x[None, ..., 1, :][..., [0, 2]],
           [((2, 3, 4),)],
           torch_ref=lambda x: x[None, ..., 1, _torch_index([0, 2])]),
    OpInfo("index-mask", lambda x: x[sj.tensor([True, False, True])], lambda x: x[[0, 2]],
           [((3, 4),)], torch_ref=lambda x: x[_torch_index([True, False, True])]),
    OpInfo("index-negative", lambda x: x[-1, sj.tensor([-1, 0])], lambda x: x[-1, [-1, 0]],
           [((3, 4),)], torch_ref=lambda x: x[-1, _torch_index([-1, 0])]),
    OpInfo("T", lambda x: x.T, lambda x: x.T, [((3, 4),)], torch_ref=lambda x: x.T),
    OpInfo("flatten", sj.flatten, lambda x: x.reshape(-1), [((2, 3, 4),), ((5,),)],
           torch_ref=lambda x: x.flatten()),
    OpInfo("flatten-middle", lambda x: x.flatten(1, 2), lambda x: x.reshape(2, 12, 1),
           [((2, 3, 4, 1),)], torch_ref=lambda x: x.flatten(1, 2)),
    OpInfo("squeeze", sj.squeeze, np.squeeze, [((1, 3, 1, 4),), ((3, 4),)],
           torch_ref=lambda x: x.squeeze()),
    OpInfo("squeeze-axis", lambda x: x.squeeze(-2), lambda x: np.squeeze(x, -2),
           [((1, 3, 1, 4),)], torch_ref=lambda x: x.squeeze(-2)),
    OpInfo("unsqueeze", lambda x: x.unsqueeze(1), lambda x: np.expand_dims(x, 1),
           [((3, 4),), ((5,),)], torch_ref=lambda x: x.unsqueeze(1)),
    OpInfo("unsqueeze-last", lambda x: x.unsqueeze(-1), lambda x: np.expand_dims(x, -1),
           [((3, 4),), ((),)]),
    OpInfo("broadcast_to", lambda x: sj.broadcast_to(x, (2, 3, 4)),
           lambda x: np.broadcast_to(x, (2, 3, 4)), [((3, 4),), ((3, 1),), ((1, 1, 4),), ((),)],
           torch_ref=lambda x: x.broadcast_to((2, 3, 4))),
    *_getitem_rows(),
    OpInfo("concat", lambda a, b, c: sj.concat([a, b, c], axis=1),
           lambda a, b, c: np.concatenate([a, b, c], axis=1),
           [((3, 2), (3, 1), (3, 4)), ((2, 1, 4), (2, 3, 4), (2, 2, 4))],
           torch_ref=lambda a, b, c: _torch_cat(a, b, c, axis=1)),
    OpInfo("concat-last", lambda a, b: sj.concat([a, b], axis=-1),
           lambda a, b: np.concatenate([a, b], axis=-1), [((5,), (2,)), ((2, 3), (2, 1))]),
    OpInfo("stack", lambda a, b, c: sj.stack([a, b, c]), lambda a, b, c: np.stack([a, b, c]),
           [((3, 4),) * 3, ((),) * 3],
           torch_ref=_torch_stack),
    OpInfo("stack-last", lambda a, b: sj.stack([a, b], axis=-1),
           lambda a, b: np.stack([a, b], axis=-1), [((3, 4),) * 2, ((5,),) * 2]),
    OpInfo("split-size", lambda x: sj.concat(sj.split(x, 2, axis=1)[::-1], axis=1),
           lambda x: _split_ref(x, [2, 2, 1], axis=1), [((3, 5),)]),
    OpInfo("split-sections", lambda x: sj.concat(sj.split(x, [1, 3], axis=0)[::-1]),
           lambda x: _split_ref(x, [1, 3], axis=0), [((4, 2),), ((4,),)]),
    OpInfo("pad", lambda x: sj.pad(x, 1), lambda x: np.pad(x, 1), [((3, 4),), ((2, 3, 4),)]),
    OpInfo("pad-pairs", lambda x: sj.pad(x, ((0, 0), (2, 1)), value=-1.5),
           lambda x: np.pad(x, ((0, 0), (2, 1)), constant_values=-1.5), [((3, 4),)]),
    OpInfo("pad-one-pair", lambda x: sj.pad(x, (1, 0)), lambda x: np.pad(x, (1, 0)),
           [((3, 4),), ((2, 3, 4),)]),
]
