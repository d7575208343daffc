"""Op-table rows for indexing by index tensors and for rearranging: gather, the
scatters, index_select, take, masked_fill/select, flip, roll, unfold, diagonal, diag,
tril/triu, movedim, narrow, chunk, tensor_split, cat, stack(dim=), meshgrid, einsum."""

from __future__ import annotations

import numpy as np

import shenjing as sj
from tests.ops.opinfo import OpInfo

MATRIX = [((3, 4),), ((2, 3, 4),)]


def _with_index(index_shape, high, extra=()):
    """x uniform, an int64 index in [-high, high) (negatives count from the end), and
    further float inputs of shapes ``extra``."""
    def make(shapes, rng):
        x = rng.uniform(-2, 2, size=shapes[0])
        index = rng.integers(-high, high, size=index_shape)
        return [x, index, *(rng.uniform(-2, 2, size=s) for s in extra)]
    return make


def _distinct_targets(shapes, rng):
    """x and src with distinct values and an index with repeats, so amax/amin have no
    ties under the gradcheck step."""
    n = 12 + 8
    values = (rng.permutation(n) - n / 2) * 0.1 + rng.uniform(0, 0.01, n)
    x, src = values[:12].reshape(3, 4), values[12:].reshape(2, 4)
    return [x, np.array([[0, 2, 1, 0], [2, 2, 0, 1]]), src]


def _along_ref(reduce, include_self=True):
    def ref(x, index, src):
        out = x.copy()
        cols = np.broadcast_to(np.arange(index.shape[1]), index.shape)
        if not include_self:
            out[index, cols] = {"sum": 0, "prod": 1, "amax": -np.inf, "amin": np.inf,
                                "mean": 0}[reduce]
        count = np.ones_like(x) if include_self else np.where(
            np.isin(np.arange(3)[:, None] * 4 + np.arange(4), index * 4 + cols), 0.0, 1.0)
        ufunc = {"sum": np.add, "mean": np.add, "prod": np.multiply, "amax": np.maximum,
                 "amin": np.minimum}[reduce]
        ufunc.at(out, (index, cols), src[:, : index.shape[1]])
        if reduce == "mean":
            np.add.at(count, (index, cols), 1)
            out = out / count
        return out
    return ref


def _gather_ref(x, index, dim):
    return np.take_along_axis(x, index % x.shape[dim], axis=dim)


def _scatter_ref(x, index, src):
    out = x.copy()
    cols = np.broadcast_to(np.arange(index.shape[1]), index.shape)
    out[index, cols] = src[: index.shape[0], : index.shape[1]]
    return out


def _unique_rows(shapes, rng):
    """x, an index with no repeated target per column, and src (maybe larger)."""
    index = np.stack([rng.permutation(3)[:2] for _ in range(4)], axis=1)
    return [rng.uniform(-2, 2, shapes[0]), index, rng.uniform(-2, 2, shapes[2])]


def _mask_inputs(shapes, rng):
    return [rng.uniform(-2, 2, size=shapes[0]), rng.uniform(size=shapes[1]) > 0.5]


def _unfold_ref(x, dim, size, step):
    dim %= x.ndim
    windows = np.lib.stride_tricks.sliding_window_view(x, size, axis=dim)
    return np.take(windows, np.arange(0, x.shape[dim] - size + 1, step), axis=dim)


def _meshgrid_sum(a, b, indexing):
    ga, gb = sj.meshgrid(a, b, indexing=indexing)
    return ga * 2 + gb


def _meshgrid_sum_ref(a, b, indexing):
    ga, gb = np.meshgrid(a, b, indexing=indexing)
    return ga * 2 + gb


ROWS = [
    OpInfo("gather", lambda x, i: sj.gather(x, 1, i), lambda x, i: _gather_ref(x, i, 1),
           [((3, 4), (3, 6))], make_inputs=_with_index((3, 6), 4),
           torch_ref=lambda x, i: x.gather(1, i % 4)),
    OpInfo("gather_smaller_index", lambda x, i: sj.gather(x, 0, i),
           lambda x, i: np.take_along_axis(x[:, :2], i % 3, 0),
           [((3, 4), (5, 2))], make_inputs=_with_index((5, 2), 3),
           torch_ref=lambda x, i: x.gather(0, i % 3)),
    OpInfo("scatter", lambda x, i, s: sj.scatter(x, 0, i, s), _scatter_ref,
           [((3, 4), (2, 4), (2, 4))], make_inputs=_unique_rows,
           torch_ref=lambda x, i, s: x.scatter(0, i, s)),
    # PyTorch's own backward rejects a src larger than index, so no torch_ref here.
    OpInfo("scatter_larger_src", lambda x, i, s: sj.scatter(x, 0, i, s), _scatter_ref,
           [((3, 4), (2, 4), (2, 5))], make_inputs=_unique_rows),
    OpInfo("scatter_add", lambda x, i, s: sj.scatter_add(x, 0, i, s), _along_ref("sum"),
           [((3, 4), (2, 4), (2, 4))], make_inputs=_distinct_targets,
           torch_ref=lambda x, i, s: x.scatter_add(0, i, s)),
    *[
        OpInfo(f"scatter_reduce_{reduce}_{'self' if include_self else 'noself'}",
               lambda x, i, s, r=reduce, inc=include_self: sj.scatter_reduce(
                   x, 0, i, s, r, include_self=inc),
               _along_ref(reduce, include_self), [((3, 4), (2, 4), (2, 4))],
               make_inputs=_distinct_targets,
               torch_ref=lambda x, i, s, r=reduce, inc=include_self: x.scatter_reduce(
                   0, i, s, r, include_self=inc))
        for reduce in ("sum", "prod", "mean", "amax", "amin")
        for include_self in (True, False)
    ],
    OpInfo("index_select", lambda x, i: sj.index_select(x, -1, i),
           lambda x, i: np.take(x, i % 4, axis=-1), [((3, 4), (6,)), ((2, 3, 4), (2,))],
           make_inputs=lambda s, rng: [rng.uniform(-2, 2, s[0]), rng.integers(-4, 4, s[1])],
           torch_ref=lambda x, i: x.index_select(-1, i % 4)),
    OpInfo("take", sj.take, lambda x, i: np.take(x, i), [((3, 4), (2, 5))],
           make_inputs=_with_index((2, 5), 12), torch_ref=lambda x, i: x.take(i)),
    OpInfo("masked_fill", lambda x, m: sj.masked_fill(x, m, -1.5),
           lambda x, m: np.where(m, -1.5, x), [((3, 4), (3, 4)), ((2, 3, 4), (3, 1))],
           make_inputs=_mask_inputs, torch_ref=lambda x, m: x.masked_fill(m, -1.5)),
    OpInfo("masked_select", sj.masked_select,
           lambda x, m: np.broadcast_to(x, np.broadcast_shapes(x.shape, m.shape))[
               np.broadcast_to(m, np.broadcast_shapes(x.shape, m.shape))],
           [((3, 4), (3, 4)), ((4,), (3, 4))], make_inputs=_mask_inputs,
           torch_ref=lambda x, m: x.masked_select(m)),
    OpInfo("flip", lambda x: sj.flip(x, (0, -1)), lambda x: np.flip(x, (0, -1)), MATRIX,
           torch_ref=lambda x: x.flip((0, -1))),
    OpInfo("roll", lambda x: sj.roll(x, (1, -2), (0, -1)),
           lambda x: np.roll(x, (1, -2), (0, -1)), MATRIX,
           torch_ref=lambda x: x.roll((1, -2), (0, -1))),
    OpInfo("roll_flat", lambda x: sj.roll(x, 5), lambda x: np.roll(x, 5), MATRIX,
           torch_ref=lambda x: x.roll(5)),
    OpInfo("unfold", lambda x: x.unfold(-1, 2, 1), lambda x: _unfold_ref(x, -1, 2, 1),
           MATRIX, torch_ref=lambda x: x.unfold(-1, 2, 1)),
    OpInfo("unfold_strided", lambda x: x.unfold(0, 2, 2), lambda x: _unfold_ref(x, 0, 2, 2),
           [((5, 3),), ((4, 2, 3),)], torch_ref=lambda x: x.unfold(0, 2, 2)),
    OpInfo("diagonal", lambda x: sj.diagonal(x, 1, -1, 0),
           lambda x: np.diagonal(x, 1, -1, 0), MATRIX,
           torch_ref=lambda x: x.diagonal(1, -1, 0)),
    OpInfo("diag_matrix", lambda x: sj.diag(x, -1), lambda x: np.diag(x, -1), [((4, 3),)],
           torch_ref=lambda x: x.diag(-1)),
    OpInfo("diag_vector", lambda x: sj.diag(x, 2), lambda x: np.diag(x, 2), [((3,),)],
           torch_ref=lambda x: x.diag(2)),
    OpInfo("tril", lambda x: sj.tril(x, -1), lambda x: np.tril(x, -1), MATRIX,
           torch_ref=lambda x: x.tril(-1)),
    OpInfo("triu", lambda x: sj.triu(x, 1), lambda x: np.triu(x, 1), MATRIX,
           torch_ref=lambda x: x.triu(1)),
    OpInfo("movedim", lambda x: sj.movedim(x, 0, -1), lambda x: np.moveaxis(x, 0, -1),
           MATRIX, torch_ref=lambda x: x.movedim(0, -1)),
    OpInfo("narrow", lambda x: sj.narrow(x, 1, -2, 2), lambda x: x[:, -2:], MATRIX,
           torch_ref=lambda x: x.narrow(1, -2, 2)),
    OpInfo("chunk", lambda x: sj.chunk(x, 3, -1)[1] * 2, lambda x: x[..., 2:4] * 2, MATRIX,
           torch_ref=lambda x: x.chunk(3, -1)[1] * 2),
    OpInfo("tensor_split", lambda x: sj.tensor_split(x, [1, 3], 0)[1],
           lambda x: x[1:3], [((3, 4),), ((4, 2, 3),)],
           torch_ref=lambda x: x.tensor_split([1, 3], 0)[1]),
    OpInfo("cat", lambda a, b: sj.cat([a, b], dim=-1), lambda a, b: np.concatenate([a, b], -1),
           [((3, 4), (3, 2)), ((2, 3, 1), (2, 3, 4))],
           torch_ref=lambda a, b: __import__("torch").cat([a, b], dim=-1)),
    OpInfo("stack_dim", lambda a, b: sj.stack([a, b], dim=1), lambda a, b: np.stack([a, b], 1),
           [((3, 4), (3, 4))], torch_ref=lambda a, b: __import__("torch").stack([a, b], dim=1)),
    OpInfo("meshgrid_ij", lambda a, b: _meshgrid_sum(a, b, "ij"),
           lambda a, b: _meshgrid_sum_ref(a, b, "ij"), [((3,), (4,))]),
    OpInfo("meshgrid_xy", lambda a, b: _meshgrid_sum(a, b, "xy"),
           lambda a, b: _meshgrid_sum_ref(a, b, "xy"), [((3,), (4,))]),
    OpInfo("einsum_matmul", lambda a, b: sj.einsum("ij,jk->ik", a, b),
           lambda a, b: np.einsum("ij,jk->ik", a, b), [((3, 4), (4, 2))],
           torch_ref=lambda a, b: __import__("torch").einsum("ij,jk->ik", a, b)),
    OpInfo("einsum_batched_ellipsis", lambda a, b: sj.einsum("...ij,...jk", a, b),
           lambda a, b: np.einsum("...ij,...jk", a, b), [((2, 3, 4), (1, 4, 2))],
           torch_ref=lambda a, b: __import__("torch").einsum("...ij,...jk", a, b)),
    OpInfo("einsum_trace", lambda a: sj.einsum("ii", a), lambda a: np.einsum("ii", a),
           [((4, 4),)], torch_ref=lambda a: __import__("torch").einsum("ii", a)),
    OpInfo("einsum_outer_sum", lambda a, b: sj.einsum("ij,k->ik", a, b),
           lambda a, b: np.einsum("ij,k->ik", a, b), [((3, 4), (2,))],
           torch_ref=lambda a, b: __import__("torch").einsum("ij,k->ik", a, b)),
    OpInfo("einsum_three", lambda a, b, c: sj.einsum("ij,jk,k->i", a, b, c),
           lambda a, b, c: np.einsum("ij,jk,k->i", a, b, c), [((3, 4), (4, 2), (2,))],
           torch_ref=lambda a, b, c: __import__("torch").einsum("ij,jk,k->i", a, b, c)),
]
