"""``DataLoader``: iterate over a dataset in (optionally shuffled) mini-batches."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from typing import Any

import numpy as np

from shenjing import backend
from shenjing.creation import from_numpy
from shenjing.data.collate import default_collate, default_convert
from shenjing.data.dataset import IterableDataset, Subset, TensorDataset
from shenjing.data.sampler import BatchSampler, RandomSampler, SequentialSampler
from shenjing.data.worker import WorkerPool
from shenjing.tensor import Tensor

__all__ = ["DataLoader"]


class DataLoader:
    """Mini-batches of a dataset, with PyTorch's arguments and semantics.

    Each pass over the loader is one epoch. With ``shuffle=True`` every epoch draws a
    fresh permutation from ``generator`` (an ``sj.Generator``) or from the generator
    seeded by ``sj.manual_seed``, so a seed fixes the whole sequence of epochs. The last
    batch is smaller when ``batch_size`` does not divide ``len(dataset)``, unless
    ``drop_last=True`` drops it.

    A batch has the structure of a sample (``default_collate``): a sample ``(x, y)``
    gives ``[X, Y]``, a dict gives a dict of batched values, a single tensor gives one
    batched Tensor. ``TensorDataset`` (and a ``Subset`` of one) builds each batch with
    one fancy-index per array instead of sample by sample, which is what keeps the
    common case fast.

    Args:
        dataset: a map-style dataset (``__len__`` and ``__getitem__``) or an
            ``IterableDataset``.
        batch_size: samples per batch; None yields the samples one by one, unbatched.
        shuffle: reshuffle the samples at the start of every epoch.
        sampler: an iterable of dataset indices (e.g. ``DistributedSampler``), read
            afresh each epoch; excludes ``shuffle``.
        batch_sampler: an iterable of lists of indices, one list a batch; excludes
            ``batch_size``, ``shuffle``, ``sampler`` and ``drop_last``.
        num_workers: worker processes that fetch batches ahead (0: in this process).
        collate_fn: makes a batch of a list of samples (``default_collate``).
        pin_memory: accepted for PyTorch programs; host memory here is not pinned.
        drop_last: drop the last batch when it would be smaller than ``batch_size``.
        timeout: seconds to wait for a worker's batch (0: wait as long as it takes).
        worker_init_fn: called in each worker with its id, after seeding.
        multiprocessing_context: a start method name ("fork", "spawn") or context.
        generator: an ``sj.Generator`` for shuffling and the workers' base seed.
        prefetch_factor: batches each worker fetches ahead (default 2 with workers).
        persistent_workers: keep the workers alive from one epoch to the next.
        device: where the batches' tensors go (``"cuda"``, a ``sj.device``), copied over
            in one transfer per field. None keeps the host.

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
        batch_size: int | None = 1,
        shuffle: bool | None = None,
        sampler: Iterable[int] | None = None,
        batch_sampler: Iterable[list[int]] | None = None,
        num_workers: int = 0,
        collate_fn: Callable[[list[Any]], Any] | None = None,
        pin_memory: bool = False,
        drop_last: bool = False,
        timeout: float = 0,
        worker_init_fn: Callable[[int], None] | None = None,
        multiprocessing_context: Any = None,
        generator: backend.Generator | None = None,
        *,
        prefetch_factor: int | None = None,
        persistent_workers: bool = False,
        pin_memory_device: str = "",
        in_order: bool = True,
        device: Any = None,
    ) -> None:
        _check_arguments(dataset, batch_size, shuffle, sampler, batch_sampler, drop_last,
                         num_workers, prefetch_factor, persistent_workers, timeout)
        self.dataset = dataset
        self.batch_size = None if batch_size is None else int(batch_size)
        self.drop_last = bool(drop_last)
        self.shuffle = bool(shuffle)
        self.generator = generator
        self._iterable = isinstance(dataset, IterableDataset)
        if batch_sampler is not None:
            self.batch_size, self.drop_last = None, False
        elif not self._iterable:
            if sampler is None:
                sampler = (RandomSampler(dataset, generator=generator) if shuffle
                           else SequentialSampler(dataset))
            if self.batch_size is not None:
                batch_sampler = BatchSampler(sampler, self.batch_size, self.drop_last)
        self.sampler = sampler
        self.batch_sampler = batch_sampler
        self.num_workers = num_workers
        self.collate_fn = collate_fn
        self.pin_memory = pin_memory
        self.pin_memory_device = pin_memory_device
        self.timeout = timeout
        self.worker_init_fn = worker_init_fn
        self.multiprocessing_context = multiprocessing_context
        self.prefetch_factor = 2 if prefetch_factor is None and num_workers else prefetch_factor
        self.persistent_workers = persistent_workers
        self.in_order = in_order
        self.device = None if device is None else backend.Device(device)
        self._pool: WorkerPool | None = None

    @property
    def _auto_collation(self) -> bool:
        return self.batch_sampler is not None or (self._iterable and self.batch_size is not None)

    def __len__(self) -> int:
        """The number of batches in one epoch (samples, when ``batch_size`` is None)."""
        if self._iterable:
            n = len(self.dataset)
            if self.batch_size is None:
                return n
            return n // self.batch_size if self.drop_last else -(-n // self.batch_size)
        if self.batch_sampler is not None:
            return len(self.batch_sampler)
        return len(self.sampler)

    def __iter__(self) -> Iterator[Any]:
        fetch = _Fetcher(self.dataset, self.collate_fn, self._auto_collation,
                         self.batch_size, self.drop_last, self._iterable)
        if self.num_workers == 0:
            batches = self._batches_here(fetch)
        else:
            batches = self._batches_from_workers(fetch)
        for batch in batches:
            yield batch if self.device is None else _to_device(batch, self.device)

    def _tasks(self) -> Iterator[Any]:
        """What one epoch fetches, task by task: index lists, or single indices."""
        return iter(self.batch_sampler if self._auto_collation else self.sampler)

    def _batches_here(self, fetch: _Fetcher) -> Iterator[Any]:
        if self._iterable:
            while True:
                try:
                    yield fetch(None)
                except StopIteration:
                    return
        for task in self._tasks():
            yield fetch(task)

    def _batches_from_workers(self, fetch: _Fetcher) -> Iterator[Any]:
        base_seed = int(backend.host_generator(self.generator).integers(2**62))
        pool = self._pool
        if pool is None:
            pool = WorkerPool(self.dataset, fetch, self.num_workers, base_seed,
                              self.worker_init_fn, self.multiprocessing_context, self.timeout)
        try:
            tasks = iter(()) if self._iterable else self._tasks()
            yield from pool.run(tasks, self.prefetch_factor, self._iterable)
        finally:
            if self.persistent_workers and not self._iterable:
                self._pool = pool
            else:
                pool.close()

    def __del__(self) -> None:
        if getattr(self, "_pool", None) is not None:
            self._pool.close()

    def __repr__(self) -> str:
        size = "" if self._iterable else f" of {len(self.dataset)}"
        return (
            f"DataLoader({type(self.dataset).__name__}{size}, "
            f"batch_size={self.batch_size}, shuffle={self.shuffle}, "
            f"drop_last={self.drop_last}"
            + (f", num_workers={self.num_workers}" if self.num_workers else "")
            + ("" if self.device is None else f", device='{self.device}'") + ")"
        )


class _Fetcher:
    """Turns one task into one batch; runs in the loader's process or in a worker (a
    class, not a closure, so that it pickles for the "spawn" start method)."""

    def __init__(self, dataset: Any, collate_fn: Callable | None, auto_collation: bool,
                 batch_size: int | None, drop_last: bool, iterable: bool) -> None:
        self.dataset = dataset
        self.collate_fn = collate_fn
        self.auto_collation = auto_collation
        self.batch_size = batch_size
        self.drop_last = drop_last
        self.iterable = iterable
        self.iterator: Iterator[Any] | None = None

    def __call__(self, task: Any) -> Any:
        if self.iterable:
            return self._next_from_stream()
        if not self.auto_collation:
            return (self.collate_fn or default_convert)(self.dataset[task])
        if self.collate_fn is None and _array_backed(self.dataset):
            return [from_numpy(a) for a in self.dataset.get_batch(np.asarray(task))]
        return (self.collate_fn or default_collate)([self.dataset[i] for i in task])

    def _next_from_stream(self) -> Any:
        if self.iterator is None:
            self.iterator = iter(self.dataset)
        if not self.auto_collation:
            return (self.collate_fn or default_convert)(next(self.iterator))
        samples = []
        for sample in self.iterator:
            samples.append(sample)
            if len(samples) == self.batch_size:
                break
        if not samples or (self.drop_last and len(samples) < self.batch_size):
            raise StopIteration
        return (self.collate_fn or default_collate)(samples)


def _array_backed(dataset: Any) -> bool:
    """True for datasets whose ``get_batch`` takes a whole batch with fancy indexing."""
    if isinstance(dataset, Subset):
        return _array_backed(dataset.dataset)
    return isinstance(dataset, TensorDataset)


def _to_device(batch: Any, device: backend.Device) -> Any:
    """The batch with every Tensor in it copied to ``device``."""
    if isinstance(batch, Tensor):
        return from_numpy(backend.to_device(batch.array, device))
    if isinstance(batch, dict):
        return {key: _to_device(value, device) for key, value in batch.items()}
    if isinstance(batch, tuple) and hasattr(batch, "_fields"):
        return type(batch)(*(_to_device(v, device) for v in batch))
    if isinstance(batch, (list, tuple)):
        return type(batch)(_to_device(v, device) for v in batch)
    return batch


def _check_arguments(dataset: Any, batch_size: Any, shuffle: Any, sampler: Any,
                     batch_sampler: Any, drop_last: bool, num_workers: Any,
                     prefetch_factor: Any, persistent_workers: bool, timeout: Any) -> None:
    """PyTorch's argument checks, with its messages where it has them."""
    if batch_size is not None and (
        not isinstance(batch_size, (int, np.integer)) or isinstance(batch_size, bool)
        or batch_size < 1
    ):
        raise ValueError(
            f"DataLoader: batch_size must be a positive integer. Received: {batch_size!r}"
        )
    if not isinstance(num_workers, int) or isinstance(num_workers, bool) or num_workers < 0:
        raise ValueError("DataLoader: num_workers option should be non-negative; use "
                         f"num_workers=0 to disable multiprocessing. Received: {num_workers!r}")
    if timeout < 0:
        raise ValueError(f"DataLoader: timeout option should be non-negative. "
                         f"Received: {timeout!r}")
    if num_workers == 0 and prefetch_factor is not None:
        raise ValueError("DataLoader: prefetch_factor option could only be specified in "
                         "multiprocessing. Let num_workers > 0 to enable multiprocessing, "
                         "otherwise set prefetch_factor to None.")
    if prefetch_factor is not None and prefetch_factor < 1:
        raise ValueError(f"DataLoader: prefetch_factor option should be positive. "
                         f"Received: {prefetch_factor!r}")
    if persistent_workers and num_workers == 0:
        raise ValueError("DataLoader: persistent_workers option needs num_workers > 0")
    if isinstance(dataset, IterableDataset):
        if shuffle:
            raise ValueError("DataLoader with IterableDataset: expected unspecified shuffle "
                             f"option, but got shuffle={shuffle}")
        if sampler is not None or batch_sampler is not None:
            raise ValueError("DataLoader with IterableDataset: expected unspecified sampler "
                             "and batch_sampler options")
    if sampler is not None and shuffle:
        raise ValueError("DataLoader: sampler option is mutually exclusive with shuffle")
    if batch_sampler is not None and (batch_size != 1 or shuffle or sampler is not None
                                      or drop_last):
        raise ValueError("DataLoader: batch_sampler option is mutually exclusive with "
                         "batch_size, shuffle, sampler, and drop_last")
