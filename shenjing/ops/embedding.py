"""Embedding lookup: rows of a weight table picked by integer indices."""

from __future__ import annotations

from typing import Any

import numpy as np

from shenjing import _bfloat16
from shenjing.autograd.function import Function
from shenjing.backend import get_array_module, on_host
from shenjing.tensor import Tensor, as_tensor

__all__ = ["embedding", "one_hot"]


class Embedding(Function):
    """y[p] = W[indices[p]] for every position p;
    gW[k] = Σ_{p : indices[p] = k} gy[p] (a repeated index collects every gradient sent
    to it), and gW[padding_idx] = 0.
    """

    def forward(self, weight: Any, indices: Any, padding_idx: int | None) -> Any:
        self.indices, self.weight_shape, self.padding_idx = indices, weight.shape, padding_idx
        return get_array_module(weight).take(weight, indices, axis=0)

    def backward(self, gy: Any) -> Any:
        xp = get_array_module(gy)
        rows, dim = self.weight_shape
        # The scatter-add as one bincount: element j of row k of gW is bin k·dim + j.
        # This measured faster than np.add.at and than a sort + add.reduceat on
        # (64, 28) indices into a (1000, 64) table.
        bins = (self.indices.reshape(-1, 1) * dim + xp.arange(dim)).reshape(-1)
        gw = xp.bincount(bins, weights=gy.reshape(-1), minlength=rows * dim)
        gw = gw.reshape(rows, dim).astype(gy.dtype, copy=False)
        if self.padding_idx is not None:
            gw[self.padding_idx] = 0
        return gw


def embedding(indices: Any, weight: Tensor, padding_idx: int | None = None) -> Tensor:
    """Look up ``weight``'s rows: an output of shape ``indices.shape + (dim,)``.

    Args:
        indices: integers in [0, num_embeddings), any shape (a Tensor, array or list).
        weight: the table, (num_embeddings, embedding_dim).
        padding_idx: a row that gets no gradient (its lookups still return it);
            negative values count from the end, as in PyTorch.

    Example:
        >>> import shenjing as sj
        >>> w = sj.randn(10, 3, requires_grad=True)
        >>> sj.embedding([[1, 2], [1, 9]], w).shape
        (2, 2, 3)
    """
    indices = as_tensor(indices).array
    if _bfloat16.kind(indices.dtype) not in "iu":
        raise TypeError(
            f"embedding: indices must be integers. Received: dtype={indices.dtype}"
        )
    if weight.ndim != 2:
        raise ValueError(
            f"embedding: weight must be 2-D (num_embeddings, embedding_dim). "
            f"Received: shape={weight.shape}"
        )
    rows = weight.shape[0]
    # Checked on the host only: on a GPU it would read back every batch (PyTorch's CUDA
    # kernel asserts instead, and takes down the process).
    if on_host(indices) and indices.size and (indices.min() < 0 or indices.max() >= rows):
        bad = indices.min() if indices.min() < 0 else indices.max()
        raise IndexError(f"embedding: index {int(bad)} is out of range for {rows} embeddings")
    if padding_idx is not None:
        if not -rows <= padding_idx < rows:
            raise ValueError(
                f"embedding: padding_idx must be within [-{rows}, {rows}). "
                f"Received: {padding_idx}"
            )
        padding_idx %= rows
    return Embedding.apply(weight, indices=indices, padding_idx=padding_idx)


def one_hot(tensor: Tensor, num_classes: int = -1) -> Tensor:
    """One-hot encoding: an int64 tensor of shape ``tensor.shape + (num_classes,)`` with
    1 at each label's class and 0 elsewhere; ``num_classes=-1`` takes max label + 1.

    Not differentiable (labels are integers), as in PyTorch.

    Example:
        >>> import shenjing as sj
        >>> sj.one_hot(sj.tensor([0, 2]), 3).tolist()
        [[1, 0, 0], [0, 0, 1]]
    """
    labels = as_tensor(tensor).array
    if _bfloat16.kind(labels.dtype) not in "iu":
        raise TypeError(f"one_hot: tensor must hold integer labels. Received: dtype={labels.dtype}")
    if labels.size and int(labels.min()) < 0:
        raise ValueError(f"one_hot: labels must be non-negative. Received: {int(labels.min())}")
    if num_classes == -1:
        if not labels.size:
            raise ValueError("one_hot: cannot infer num_classes from an empty tensor")
        num_classes = int(labels.max()) + 1
    elif not isinstance(num_classes, int) or num_classes < 1:
        raise ValueError(f"one_hot: num_classes must be positive or -1. Received: {num_classes!r}")
    elif labels.size and int(labels.max()) >= num_classes:
        raise ValueError(
            f"one_hot: label {int(labels.max())} is out of range for {num_classes} classes"
        )
    xp = get_array_module(labels)
    out = (labels[..., None] == xp.arange(num_classes)).astype(np.int64)
    return Tensor._make(out, None)
