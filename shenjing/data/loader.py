"""``DataLoader``: iterate over a dataset in (optionally shuffled) mini-batches."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np

from shenjing import backend
from shenjing.creation import from_numpy
from shenjing.data.dataset import Dataset, collate
from shenjing.tensor import Tensor

__all__ = ["DataLoader"]


class DataLoader:
    """Mini-batches of a dataset, as tuples of Tensors, with PyTorch's semantics.

    Each pass over the loader is one epoch. With ``shuffle=True`` every epoch draws a
    fresh permutation from the generator seeded by ``sj.manual_seed``, so a seed fixes
    the whole sequence of epochs. The last batch is smaller when ``batch_size`` does not
    divide ``len(dataset)``, unless ``drop_last=True`` drops it.

    A batch is always a tuple, one Tensor per field of a sample (a dataset whose samples
    are single values gives 1-tuples). Array-backed datasets (``TensorDataset`` and
    ``Subset``s of one) build each batch with one fancy-index per array; any other
    dataset is read sample by sample and stacked.

    Args:
        dataset: a ``Dataset``, or any object with ``__len__`` and ``__getitem__``.
        batch_size: samples per batch, a positive integer.
        shuffle: reshuffle the samples at the start of every epoch.
        drop_last: drop the last batch when it would be smaller than ``batch_size``.
        device: where the batches go (``"cuda"``, a ``sj.device``); each batch is built
            on the host and copied over in one transfer per field. None keeps the host.
        sampler: an iterable of dataset indices with a length (e.g. a
            ``DistributedSampler``), read afresh each epoch; excludes ``shuffle``.

    Example:
        >>> import numpy as np
        >>> from shenjing.data import TensorDataset
        >>> loader = DataLoader(TensorDataset(np.zeros((10, 3)), np.arange(10)), batch_size=4)
        >>> len(loader), [x.shape for x, y in loader]
        (3, [(4, 3), (4, 3), (2, 3)])
    """

    def __init__(
        self,
        dataset: Any,
        batch_size: int = 1,
        shuffle: bool = False,
        sampler: Any = None,
        drop_last: bool = False,
        device: Any = None,
    ) -> None:
        if (
            not isinstance(batch_size, (int, np.integer))
            or isinstance(batch_size, bool)
            or batch_size < 1
        ):
            raise ValueError(
                f"DataLoader: batch_size must be a positive integer. Received: {batch_size!r}"
            )
        if sampler is not None and shuffle:
            raise ValueError("DataLoader: sampler option is mutually exclusive with shuffle")
        self.dataset = dataset
        self.sampler = sampler
        self.batch_size = int(batch_size)
        self.shuffle = bool(shuffle)
        self.drop_last = bool(drop_last)
        self.device = None if device is None else backend.Device(device)

    def __len__(self) -> int:
        """The number of batches in one epoch."""
        n = len(self.dataset) if self.sampler is None else len(self.sampler)
        if self.drop_last:
            return n // self.batch_size
        return -(-n // self.batch_size)

    def __iter__(self) -> Iterator[tuple[Tensor, ...]]:
        if self.sampler is not None:
            order = np.fromiter(self.sampler, dtype=np.int64)
        elif self.shuffle:
            order = backend.generator().permutation(len(self.dataset))
        else:
            order = np.arange(len(self.dataset))
        for k in range(len(self)):
            indices = order[k * self.batch_size : (k + 1) * self.batch_size]
            batch = self._fetch(indices)
            if self.device is not None:
                batch = [backend.to_device(a, self.device) for a in batch]
            yield tuple(from_numpy(a) for a in batch)

    def _fetch(self, indices: np.ndarray) -> tuple[np.ndarray, ...]:
        if isinstance(self.dataset, Dataset):
            return self.dataset.get_batch(indices)
        return collate([self.dataset[int(i)] for i in indices])

    def __repr__(self) -> str:
        return (
            f"DataLoader({type(self.dataset).__name__} of {len(self.dataset)}, "
            f"batch_size={self.batch_size}, shuffle={self.shuffle}, "
            f"drop_last={self.drop_last}"
            + ("" if self.device is None else f", device='{self.device}'") + ")"
        )
