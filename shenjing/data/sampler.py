"""Samplers: the order in which a ``DataLoader`` visits a dataset, as in PyTorch.

A sampler is an iterable of dataset indices with a length; a batch sampler is an
iterable of lists of indices. ``DataLoader(shuffle=True)`` is a ``RandomSampler`` inside
a ``BatchSampler``.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from typing import Any

import numpy as np

from shenjing import backend

__all__ = [
    "BatchSampler",
    "RandomSampler",
    "Sampler",
    "SequentialSampler",
    "SubsetRandomSampler",
    "WeightedRandomSampler",
]


class Sampler:
    """Base class of samplers: subclasses define ``__iter__`` (and usually ``__len__``)."""

    def __iter__(self) -> Iterator[int]:
        raise NotImplementedError(f"{type(self).__name__} must define __iter__")


class SequentialSampler(Sampler):
    """The indices ``0, 1, ..., len(data_source) - 1`` in order.

    Example:
        >>> list(SequentialSampler(range(3)))
        [0, 1, 2]
    """

    def __init__(self, data_source: Any) -> None:
        self.data_source = data_source

    def __iter__(self) -> Iterator[int]:
        return iter(range(len(self.data_source)))

    def epoch_order(self) -> np.ndarray:
        """This pass's indices as one array (what ``BatchSampler`` slices)."""
        return np.arange(len(self.data_source))

    def __len__(self) -> int:
        return len(self.data_source)


class RandomSampler(Sampler):
    """A random order of the indices: a fresh permutation every pass, or, with
    ``replacement=True``, ``num_samples`` independent uniform draws.

    The draws come from ``generator`` (an ``sj.Generator``) or from the generator that
    ``sj.manual_seed`` seeds.

    Example:
        >>> import shenjing as sj
        >>> sorted(RandomSampler(range(4), generator=sj.Generator().manual_seed(0)))
        [0, 1, 2, 3]
    """

    def __init__(
        self,
        data_source: Any,
        replacement: bool = False,
        num_samples: int | None = None,
        generator: backend.Generator | None = None,
    ) -> None:
        if not isinstance(replacement, bool):
            raise TypeError(f"RandomSampler: replacement should be a boolean value. "
                            f"Received: {replacement!r}")
        if num_samples is not None and (not isinstance(num_samples, int) or num_samples <= 0):
            raise ValueError(f"RandomSampler: num_samples should be a positive integer. "
                             f"Received: {num_samples!r}")
        self.data_source = data_source
        self.replacement = replacement
        self._num_samples = num_samples
        self.generator = generator

    @property
    def num_samples(self) -> int:
        """How many indices one pass yields (the dataset's length unless given)."""
        return len(self.data_source) if self._num_samples is None else self._num_samples

    def __iter__(self) -> Iterator[int]:
        return iter(self.epoch_order().tolist())

    def epoch_order(self) -> np.ndarray:
        """This pass's indices as one array, drawn afresh (what ``BatchSampler`` slices)."""
        n = len(self.data_source)
        rng = backend.host_generator(self.generator)
        if n == 0:
            return np.zeros(0, dtype=np.int64)
        if self.replacement:
            return rng.integers(n, size=self.num_samples)
        # More samples than the dataset holds: whole permutations, then part of one.
        parts = [rng.permutation(n) for _ in range(self.num_samples // n)]
        if self.num_samples % n:
            parts.append(rng.permutation(n)[: self.num_samples % n])
        return np.concatenate(parts) if parts else np.zeros(0, dtype=np.int64)

    def __len__(self) -> int:
        return self.num_samples


class SubsetRandomSampler(Sampler):
    """The given ``indices`` in a fresh random order every pass.

    Example:
        >>> sorted(SubsetRandomSampler([5, 7, 9]))
        [5, 7, 9]
    """

    def __init__(
        self, indices: Sequence[int], generator: backend.Generator | None = None
    ) -> None:
        self.indices = indices
        self.generator = generator

    def __iter__(self) -> Iterator[int]:
        order = backend.host_generator(self.generator).permutation(len(self.indices))
        return (self.indices[int(k)] for k in order)

    def __len__(self) -> int:
        return len(self.indices)


class WeightedRandomSampler(Sampler):
    """``num_samples`` indices drawn with probability proportional to ``weights``.

    Example:
        >>> set(WeightedRandomSampler([0.0, 1.0, 0.0], 5))
        {1}
    """

    def __init__(
        self,
        weights: Sequence[float],
        num_samples: int,
        replacement: bool = True,
        generator: backend.Generator | None = None,
    ) -> None:
        if not isinstance(num_samples, int) or isinstance(num_samples, bool) or num_samples <= 0:
            raise ValueError(f"WeightedRandomSampler: num_samples should be a positive integer. "
                             f"Received: {num_samples!r}")
        weights = np.asarray(weights.array if hasattr(weights, "array") else weights,
                             dtype=np.float64)
        if weights.ndim != 1 or (weights < 0).any() or not np.isfinite(weights).all():
            raise ValueError(f"WeightedRandomSampler: weights must be a 1-d sequence of "
                             f"finite non-negative numbers. Received: {weights!r:.80}")
        if not replacement and num_samples > np.count_nonzero(weights):
            raise ValueError(f"WeightedRandomSampler: cannot draw {num_samples} samples "
                             f"without replacement from {np.count_nonzero(weights)} "
                             "non-zero weights")
        self.weights = weights
        self.num_samples = num_samples
        self.replacement = replacement
        self.generator = generator

    def __iter__(self) -> Iterator[int]:
        rng = backend.host_generator(self.generator)
        p = self.weights / self.weights.sum()
        drawn = rng.choice(len(p), size=self.num_samples, replace=self.replacement, p=p)
        return iter(drawn.tolist())

    def __len__(self) -> int:
        return self.num_samples


class BatchSampler(Sampler):
    """Group a sampler's indices into lists of ``batch_size``; the last list is shorter
    unless ``drop_last`` drops it.

    Example:
        >>> list(BatchSampler(SequentialSampler(range(5)), batch_size=2, drop_last=False))
        [[0, 1], [2, 3], [4]]
    """

    def __init__(self, sampler: Iterable[int], batch_size: int, drop_last: bool) -> None:
        if (not isinstance(batch_size, (int, np.integer)) or isinstance(batch_size, bool)
                or batch_size < 1):
            raise ValueError(f"BatchSampler: batch_size should be a positive integer. "
                             f"Received: {batch_size!r}")
        if not isinstance(drop_last, bool):
            raise ValueError(f"BatchSampler: drop_last should be a boolean value. "
                             f"Received: {drop_last!r}")
        self.sampler = sampler
        self.batch_size = int(batch_size)
        self.drop_last = drop_last

    def __iter__(self) -> Iterator[list[int]]:
        if hasattr(self.sampler, "epoch_order"):  # the whole order at once: slice it
            order = self.sampler.epoch_order()
            stop = len(self) * self.batch_size
            for start in range(0, stop, self.batch_size):
                yield order[start : min(start + self.batch_size, len(order))].tolist()
            return
        batch: list[int] = []
        for index in self.sampler:
            batch.append(int(index))
            if len(batch) == self.batch_size:
                yield batch
                batch = []
        if batch and not self.drop_last:
            yield batch

    def __len__(self) -> int:
        n = len(self.sampler)  # type: ignore[arg-type]
        return n // self.batch_size if self.drop_last else -(-n // self.batch_size)
