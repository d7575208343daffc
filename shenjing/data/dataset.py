"""Datasets: indexable collections of samples, and ways to split them.

A ``Dataset`` answers ``len(ds)`` and ``ds[i]``. It also answers ``ds.get_batch(indices)``
with one NumPy array per field: the base class stacks samples one by one, while
array-backed datasets (``TensorDataset``, and ``Subset`` of one) take a whole batch with
one fancy-index per array, which is what keeps ``DataLoader`` fast.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

import numpy as np

from shenjing import backend
from shenjing.tensor import Tensor, default_dtype

__all__ = [
    "ChainDataset",
    "ConcatDataset",
    "Dataset",
    "IterableDataset",
    "Subset",
    "TensorDataset",
    "random_split",
]


def _as_array(value: Any) -> np.ndarray:
    """A sample field as a NumPy array in shenjing's default dtype; Tensors keep theirs."""
    if isinstance(value, Tensor):
        return value.detach().cpu().numpy()
    array = np.asarray(value)
    return array.astype(default_dtype(array.dtype), copy=False)


class Dataset:
    """A collection of samples: subclasses define ``__len__`` and ``__getitem__``.

    ``__getitem__(i)`` returns one sample, usually a tuple of fields such as
    ``(image, label)``; fields may be Tensors, arrays or Python numbers.

    Example:
        >>> class Squares(Dataset):
        ...     def __len__(self): return 4
        ...     def __getitem__(self, i): return (float(i), i * i)
        >>> [a.tolist() for a in Squares().get_batch([1, 3])]
        [[1.0, 3.0], [1, 9]]
    """

    def __len__(self) -> int:
        raise NotImplementedError(f"{type(self).__name__} must define __len__")

    def __getitem__(self, index: int) -> Any:
        raise NotImplementedError(f"{type(self).__name__} must define __getitem__")

    def __add__(self, other: Dataset) -> ConcatDataset:
        return ConcatDataset([self, other])

    def get_batch(self, indices: Sequence[int] | np.ndarray) -> tuple[np.ndarray, ...]:
        """The samples at ``indices``, one stacked array per field.

        This generic version fetches each sample and stacks each field with ``np.stack``;
        a sample that is not a tuple or list counts as a single field.
        """
        samples = [self[int(i)] for i in indices]
        return collate(samples)


def collate(samples: Sequence[Any]) -> tuple[np.ndarray, ...]:
    """Stack a list of samples field by field: ``[(x0, y0), (x1, y1)] -> (X, Y)``."""
    if not samples:
        raise ValueError("collate: needs at least one sample. Received: an empty list")
    rows = [s if isinstance(s, (tuple, list)) else (s,) for s in samples]
    width = len(rows[0])
    if any(len(r) != width for r in rows):
        raise ValueError(
            f"collate: every sample needs the same number of fields. Received: "
            f"{sorted({len(r) for r in rows})}"
        )
    return tuple(np.stack([_as_array(r[k]) for r in rows]) for k in range(width))


class TensorDataset(Dataset):
    """Samples that are rows of equally long arrays: sample ``i`` is
    ``(a[i] for a in arrays)``.

    Arrays (or nested lists) follow ``sj.tensor``'s rule, floats float32 and integers
    int64; Tensors keep their dtype. The data is kept as given and converted batch by
    batch, so a ``uint8`` image set stays one byte per pixel in memory.

    Args:
        *arrays: Tensors, NumPy arrays or nested lists, all with the same first dimension.

    Raises:
        ValueError: no arrays, a 0-d array, or first dimensions that differ.

    Example:
        >>> import numpy as np
        >>> ds = TensorDataset(np.zeros((5, 3)), np.arange(5))
        >>> len(ds), [a.shape for a in ds.get_batch(np.array([0, 2]))]
        (5, [(2, 3), (2,)])
    """

    def __init__(self, *arrays: Any) -> None:
        if not arrays:
            raise ValueError("TensorDataset needs at least one array. Received: none")
        self.arrays: tuple[np.ndarray, ...] = ()
        self.dtypes: tuple[np.dtype, ...] = ()
        for value in arrays:
            if isinstance(value, Tensor):
                array = value.numpy()
                dtype = array.dtype
            else:
                array = np.asarray(value)
                dtype = default_dtype(array.dtype)
            if array.ndim == 0:
                raise ValueError(
                    f"TensorDataset needs arrays with a first dimension. Received: a 0-d "
                    f"array ({array!r})"
                )
            self.arrays += (array,)
            self.dtypes += (dtype,)
        lengths = [len(a) for a in self.arrays]
        if len(set(lengths)) > 1:
            raise ValueError(
                f"TensorDataset needs arrays of equal length (first dimension). "
                f"Received: lengths={lengths}"
            )

    def __len__(self) -> int:
        return len(self.arrays[0])

    def __getitem__(self, index: int) -> tuple[Tensor, ...]:
        """Sample ``index`` as a tuple of Tensors."""
        return tuple(
            Tensor(a[index], dtype=dtype) for a, dtype in zip(self.arrays, self.dtypes, strict=True)
        )

    def get_batch(self, indices: Sequence[int] | np.ndarray) -> tuple[np.ndarray, ...]:
        """The rows at ``indices``: one fancy-index per array, converted to its dtype."""
        indices = np.asarray(indices, dtype=np.intp)
        return tuple(
            a[indices].astype(dtype, copy=False)
            for a, dtype in zip(self.arrays, self.dtypes, strict=True)
        )


class IterableDataset(Dataset):
    """A stream of samples: subclasses define ``__iter__`` instead of ``__getitem__``.

    A ``DataLoader`` batches the stream in order. With ``num_workers > 0`` every worker
    runs its own copy of the iterator, as in PyTorch: shard inside ``__iter__`` with
    ``sj.data.get_worker_info()`` to avoid reading each sample once per worker.

    Example:
        >>> class Count(IterableDataset):
        ...     def __iter__(self): return iter(range(3))
        >>> list(Count())
        [0, 1, 2]
    """

    def __iter__(self) -> Iterator[Any]:
        raise NotImplementedError(f"{type(self).__name__} must define __iter__")

    def __len__(self) -> int:
        raise TypeError(f"{type(self).__name__} is an iterable dataset: it has no length "
                        "unless it defines __len__")

    def __add__(self, other: IterableDataset) -> ChainDataset:
        return ChainDataset([self, other])


class ChainDataset(IterableDataset):
    """Iterable datasets one after another.

    Example:
        >>> class Count(IterableDataset):
        ...     def __init__(self, n): self.n = n
        ...     def __iter__(self): return iter(range(self.n))
        >>> list(ChainDataset([Count(2), Count(3)]))
        [0, 1, 0, 1, 2]
    """

    def __init__(self, datasets: Iterable[IterableDataset]) -> None:
        self.datasets = list(datasets)

    def __iter__(self) -> Iterator[Any]:
        for dataset in self.datasets:
            yield from dataset

    def __len__(self) -> int:
        return sum(len(d) for d in self.datasets)


class ConcatDataset(Dataset):
    """Map-style datasets one after another: index ``i`` runs through the first, then
    the second, ...; ``cumulative_sizes`` holds where each one ends.

    Example:
        >>> import numpy as np
        >>> both = ConcatDataset([TensorDataset(np.arange(2)), TensorDataset(np.arange(3))])
        >>> len(both), both[3][0].item()
        (5, 1)
    """

    def __init__(self, datasets: Iterable[Any]) -> None:
        self.datasets = list(datasets)
        if not self.datasets:
            raise ValueError("ConcatDataset: datasets should not be an empty iterable")
        for d in self.datasets:
            if isinstance(d, IterableDataset):
                raise TypeError("ConcatDataset does not support IterableDataset (use "
                                "ChainDataset)")
        self.cumulative_sizes = np.cumsum([len(d) for d in self.datasets]).tolist()

    def __len__(self) -> int:
        return self.cumulative_sizes[-1]

    def __getitem__(self, index: int) -> Any:
        if index < 0:
            if -index > len(self):
                raise ValueError("ConcatDataset: absolute value of index should not exceed "
                                 f"dataset length. Received: {index}")
            index += len(self)
        which = int(np.searchsorted(self.cumulative_sizes, index, side="right"))
        if which == len(self.datasets):
            raise IndexError(f"ConcatDataset: index {index} is out of range for "
                             f"{len(self)} samples")
        start = 0 if which == 0 else self.cumulative_sizes[which - 1]
        return self.datasets[which][index - start]


class Subset(Dataset):
    """The samples of ``dataset`` at ``indices``, in that order.

    Example:
        >>> import numpy as np
        >>> sub = Subset(TensorDataset(np.arange(10)), [7, 2])
        >>> len(sub), sub.get_batch([0, 1])[0].tolist()
        (2, [7, 2])
    """

    def __init__(self, dataset: Dataset, indices: Sequence[int] | np.ndarray) -> None:
        self.dataset = dataset
        self.indices = np.asarray(indices, dtype=np.intp)
        if self.indices.ndim != 1:
            raise ValueError(
                f"Subset needs a 1-d list of indices. Received: shape={self.indices.shape}"
            )

    def __len__(self) -> int:
        return len(self.indices)

    def __getitem__(self, index: int) -> Any:
        return self.dataset[int(self.indices[index])]

    def get_batch(self, indices: Sequence[int] | np.ndarray) -> tuple[np.ndarray, ...]:
        """Map ``indices`` into the parent dataset and let it fetch the batch."""
        parent_indices = self.indices[np.asarray(indices, dtype=np.intp)]
        if isinstance(self.dataset, Dataset):
            return self.dataset.get_batch(parent_indices)
        return collate([self.dataset[int(i)] for i in parent_indices])


def _split_lengths(lengths: Sequence[float], total: int) -> list[int]:
    """Resolve ``lengths`` (counts, or fractions summing to 1) into counts summing to total."""
    if not lengths:
        raise ValueError("random_split needs at least one length. Received: []")
    if any(n < 0 for n in lengths):
        raise ValueError(f"random_split: lengths must be non-negative. Received: {lengths}")
    if all(isinstance(n, (int, np.integer)) for n in lengths):
        counts = [int(n) for n in lengths]
    elif math.isclose(sum(lengths), 1.0) and all(n <= 1 for n in lengths):
        # Like PyTorch: floor each share, then hand the leftover items out one at a
        # time from the first split on.
        counts = [math.floor(total * frac) for frac in lengths]
        for k in range(total - sum(counts)):
            counts[k % len(counts)] += 1
    else:
        raise ValueError(
            f"random_split: lengths must be integer counts or fractions summing to 1. "
            f"Received: {lengths}"
        )
    if sum(counts) != total:
        raise ValueError(
            f"random_split: the lengths sum to {sum(counts)}, but the dataset has "
            f"{total} samples. Received: lengths={list(lengths)}"
        )
    return counts


def random_split(
    dataset: Dataset, lengths: Sequence[float], generator: backend.Generator | None = None
) -> list[Subset]:
    """Split ``dataset`` at random into non-overlapping ``Subset``s of the given lengths.

    ``lengths`` are counts summing to ``len(dataset)``, or fractions summing to 1 (each
    split gets ``floor(frac * n)`` samples, and the remainder goes one by one to the
    splits in order, as in PyTorch). The permutation comes from ``generator`` (an
    ``sj.Generator``) or from the generator seeded by ``sj.manual_seed``.

    Example:
        >>> import numpy as np, shenjing as sj
        >>> sj.manual_seed(0)
        >>> train, val = random_split(TensorDataset(np.arange(10)), [0.8, 0.2])
        >>> len(train), len(val)
        (8, 2)
    """
    counts = _split_lengths(lengths, len(dataset))
    order = backend.host_generator(generator).permutation(len(dataset))
    bounds = np.cumsum([0, *counts])
    return [Subset(dataset, order[lo:hi]) for lo, hi in itertools.pairwise(bounds)]
